"""The relay hub: the agent's links (relay and direct paths), and opening request streams over them.

Each agent has up to two paths: the relay link it dials (``/agent/ws``) and the direct path the
gateway dials (``relay.direct``) when the agent advertises one; ``relay.reception`` takes them in
and holds each here while it lives (``holding``). A ``PathBoard`` per agent says
which paths are trusted (probes answered recently) and which one the next request takes (lower
RTT, with hysteresis); ``RoutedStream`` retries a request on the other path when its path fails
before the first chunk. A watch loop logs mode transitions with their reason and keeps the metrics.
New requests avoid a path as soon as it misses its probes; the link itself is dropped at the
heartbeat timeout, failing its requests over (no chunk yet) or ending them with an error.

Several agents (PCs) may serve one clone, each with its own agent token and paths: ``stream``
sends a new conversation to the one with the most free capacity and keeps a conversation on its
agent while that agent is healthy (``relay.balancer``); a request whose agent fails before the
first chunk is retried on the agent's other path, then on another agent, under the same request
id. ``online``, ``linked_here`` and the network mode mean "any agent"; the status shows the
newest one's mode.

With several replicas (``replicas``), ``online`` also counts agents linked to other live
replicas, and ``stream`` relays a request over Redis Streams to the replica holding the agent
the balancer chose; ``linked_here`` says whether this process holds a link (then it drains the
queue).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.relay.balancer import Balancer, Candidate, conversation_of
from aiclone_gateway.relay.failover import FailoverStream
from aiclone_gateway.relay.link import AgentLink
from aiclone_gateway.relay.replicas import Replicas
from aiclone_gateway.relay.routing import RoutedStream
from aiclone_gateway.relay.streams import AgentOfflineError, Channel, ReplyStream, Streamed
from aiclone_wire import AgentLoad, Error, Hello, MemoryRequest, MemoryResult, TelegramMessage
from aiclone_wire.paths import PATH_NAMES, NetworkMode, PathBoard, PathName, ProbePolicy

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 0.25


class RelayHub:
    def __init__(self, settings: Settings, metrics: GatewayMetrics, replicas: Replicas | None = None) -> None:
        """``replicas``: the other gateway replicas (the cluster), None when this one is alone."""
        self.settings = settings
        self.metrics = metrics
        self.probe = ProbePolicy(
            active_interval_s=min(settings.path_probe_active_s, settings.heartbeat_interval_s),
            idle_interval_s=settings.heartbeat_interval_s,
        )
        self._paths: dict[PathName, dict[str, AgentLink]] = {name: {} for name in PATH_NAMES}
        self._boards: dict[str, PathBoard] = {}
        self._listeners: list[Callable[[bool], None]] = []
        self._mode_listeners: list[Callable[[NetworkMode], None]] = []
        # the newest linked agent: the status shows its network mode, memory requests go to it
        self._agent: str | None = None
        self.balancer = Balancer()
        # this replica's requests open to agents other replicas hold, by agent (live sets: their
        # sizes are the agents' in-flight counts here, never negative)
        self._remote_streams: dict[str, set[str]] = {}
        self._watch: asyncio.Task | None = None
        # The newest agent's hello, kept while it is away (clone name, models).
        self._hello: Hello | None = None
        # The agent may be linked to another replica, which then serves this replica's requests
        # for it (relayed over Redis Streams).
        self.replicas = replicas
        self._was_online = False

    @property
    def linked_here(self) -> bool:
        """An agent is linked to this process (it may hold the queue drain and the bots)."""
        return any(self._paths[name] for name in PATH_NAMES)

    @property
    def online(self) -> bool:
        """An agent can answer through this process: linked here, or to another live replica."""
        return self.linked_here or (self.replicas is not None and self.replicas.remote is not None)

    def agents_here(self) -> list[str]:
        """The agents linked to this process, oldest link first."""
        found: dict[str, None] = {}
        for name in PATH_NAMES:
            found.update(dict.fromkeys(self._paths[name]))
        return list(found)

    def load(self, agent_id: str) -> AgentLoad | None:
        """``agent_id``'s last load report on its relay link here (None: none yet)."""
        link = self._paths["relay"].get(agent_id)
        return link.load if link is not None else None

    def in_flight(self, agent_id: str) -> int:
        """This process's requests open to ``agent_id`` now, over its links or relayed to the
        replica holding it."""
        here = sum(
            len(self._paths[name][agent_id].streams) for name in PATH_NAMES if agent_id in self._paths[name]
        )
        return here + len(self._remote_streams.get(agent_id, ()))

    def agents(self) -> dict[str, dict[str, Any]]:
        """Every agent linked to this process or another live replica, as the owner's page shows
        it: network mode, load, tokens per second, round trip and fingerprint."""
        now = time.monotonic()
        found: dict[str, dict[str, Any]] = {}
        remotes = self.replicas.remotes if self.replicas is not None else {}
        for agent_id, remote in remotes.items():
            load = remote.network.get("load")
            found[agent_id] = _agent_view(
                remote.network.get("network_mode", "relay"),
                AgentLoad.model_validate(load) if load else None,
                self.in_flight(agent_id),
                remote.network.get("rtt_ms"),
                remote.replica,
            )
        for agent_id in self.agents_here():
            route = self._route(agent_id)
            rtt = route[1].health.rtt_s if route is not None else None
            found[agent_id] = _agent_view(
                self.board(agent_id).current_mode(now),
                self.load(agent_id),
                self.in_flight(agent_id),
                None if rtt is None else round(rtt * 1000, 3),
                None,
            )
        return found

    @property
    def last_hello(self) -> Hello | None:
        if not self.linked_here and self.replicas is not None and self.replicas.remote is not None:
            return Hello.model_validate(self.replicas.remote.hello)
        return self._hello

    @property
    def linked_agent_id(self) -> str | None:
        """The agent requests go to now (linked here or, with replicas, elsewhere)."""
        if self.linked_here:
            return self._agent
        remote = self.replicas.remote if self.replicas is not None else None
        return remote.agent_id if remote is not None else None

    def local_network(self, agent_id: str) -> dict[str, Any]:
        """The network state of ``agent_id``'s paths to this process and its load (recorded for
        the other replicas, which route on it)."""
        now = time.monotonic()
        board = self.board(agent_id)
        load = self.load(agent_id)
        route = self._route(agent_id)
        rtt = route[1].health.rtt_s if route is not None else None
        return {
            "network_mode": board.current_mode(now),
            "paths": board.describe(now),
            "load": load.model_dump(mode="json") if load is not None else None,
            "rtt_ms": None if rtt is None else round(rtt * 1000, 3),
        }

    def remote_changed(self) -> None:
        """The cluster saw the agent appear, vanish or change mode on another replica."""
        if self.linked_here:
            return
        self._notify()
        remote = self.replicas.remote if self.replicas is not None else None
        mode: NetworkMode = remote.network.get("network_mode", "relay") if remote is not None else "offline"
        for listener in self._mode_listeners:
            listener(mode)

    @property
    def link(self) -> AgentLink | None:
        """The link the next request of the current agent would take (None: offline)."""
        route = self._route(self._agent) if self._agent else None
        return route[1] if route else None

    @property
    def requests_in_flight(self) -> int:
        return sum(len(link.streams) for links in self._paths.values() for link in links.values())

    def board(self, agent_id: str) -> PathBoard:
        return self._boards.setdefault(agent_id, PathBoard(policy=self.probe))

    def network(self) -> dict[str, Any]:
        """The current agent's network mode and paths (for /api/status)."""
        if not self.linked_here and self.replicas is not None and self.replicas.remote is not None:
            return dict(self.replicas.remote.network)
        if self._agent is None:
            return {
                "network_mode": "offline",
                "paths": PathBoard(policy=self.probe).describe(time.monotonic()),
            }
        board = self.board(self._agent)
        now = time.monotonic()
        return {"network_mode": board.current_mode(now), "paths": board.describe(now)}

    def network_mode(self) -> NetworkMode:
        mode: NetworkMode = self.network()["network_mode"]
        return mode

    def on_mode(self, listener: Callable[[NetworkMode], None]) -> None:
        """``listener(mode)`` runs whenever the current agent's network mode changes."""
        self._mode_listeners.append(listener)

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """``listener(online)`` runs (synchronously) whenever the hub goes online or offline."""
        self._listeners.append(listener)

    def _notify(self, force: bool = False) -> None:
        """Tell the listeners when ``online`` changed (``force``: also when it did not, e.g. the
        agent moved here from another replica, so this one's queue drain starts)."""
        self.metrics.linked_agents.set(len(set().union(*(self._paths[name] for name in PATH_NAMES))))
        online = self.online
        if online == self._was_online and not force:
            return
        self._was_online = online
        for listener in self._listeners:
            listener(online)

    @asynccontextmanager
    async def holding(self, path: PathName, link: AgentLink) -> AsyncIterator[None]:
        """Route the agent's requests over ``link`` while the block runs (the link's life); it
        replaces that agent's older link on the same path."""
        agent_id, hello = link.agent_id, link.hello
        if path == "relay":
            self._hello = hello
        board = self.board(agent_id)
        links = self._paths[path]
        was_here = self.linked_here
        previous = links.pop(agent_id, None)
        if previous is not None:
            log.info("agent %s %s path linked again: replacing the previous one", agent_id, path)
            previous.stop("replaced")
        links[agent_id] = link
        board.paths[path] = link.health
        self._agent = agent_id
        self._start_watch()
        log.info(
            "agent %s linked over %s (%s, protocol %d)",
            agent_id,
            path,
            hello.clone_name,
            hello.protocol_version,
        )
        if self.replicas is not None and path == "relay":
            record = hello.model_dump(mode="json")
            if await self.replicas.claim(agent_id, record, self.local_network(agent_id)):
                self.remote_changed()
        if not was_here:
            self._notify(force=True)
        try:
            yield
        finally:
            if links.get(agent_id) is link:
                del links[agent_id]
                log.info("agent %s %s path unlinked: %s", agent_id, path, link.close_reason)
                self._evaluate()
                if not any(agent_id in self._paths[name] for name in PATH_NAMES):
                    self._agent = self._newest_agent() or agent_id
                    if self.replicas is not None and await self.replicas.release(agent_id):
                        self.remote_changed()
                if not self.linked_here:
                    self.metrics.link_rtt.set(0)
                    self._notify()

    def _newest_agent(self) -> str | None:
        """The most recently linked agent that still has a path (requests go to it)."""
        for name in PATH_NAMES:
            if self._paths[name]:
                return next(reversed(self._paths[name]))
        return None

    def broadcast(self, frame: Any) -> None:
        """Send ``frame`` on every linked agent's relay link (news, not a request: the direct path
        carries requests and answers only)."""
        for link in self._paths["relay"].values():
            link.send(frame)

    def disconnect(self, agent_id: str, reason: str = "agent token revoked") -> None:
        """Drop ``agent_id``'s links held here (its requests fail over or end with an error)."""
        for name in PATH_NAMES:
            link = self._paths[name].get(agent_id)
            if link is not None:
                link.stop(reason)

    def _route(self, agent_id: str, avoid: PathName | None = None) -> tuple[PathName, AgentLink] | None:
        """The path (and its link) a request of ``agent_id`` takes; ``avoid``: a retry's other path."""
        board = self.board(agent_id)
        now = time.monotonic()
        if avoid is not None:
            other: PathName = "direct" if avoid == "relay" else "relay"
            link = self._paths[other].get(agent_id)
            return (other, link) if link is not None and link.health.connected else None
        choice = board.choose(now)
        if choice is not None and agent_id in self._paths[choice]:
            return choice, self._paths[choice][agent_id]
        # no path trusted yet (e.g. just linked): any live link beats answering "offline"
        for name in PATH_NAMES:
            link = self._paths[name].get(agent_id)
            if link is not None and not link.closed:
                return name, link
        return None

    def failover(
        self,
        agent_id: str,
        failed: PathName,
        tried: set[str],
        telegram: bool,
        conversation: str | None = None,
    ) -> tuple[str, PathName, AgentLink] | None:
        """Where a request goes after ``agent_id``'s ``failed`` path lost it before its first
        chunk: that agent's other path, else another agent linked here (``tried``: the agents
        that already failed it). None: nowhere left."""
        if not telegram:
            route = self._route(agent_id, avoid=failed)
            if route is not None:
                return (agent_id, *route)
        tried.add(agent_id)
        chosen = self.balancer.choose(self._local_candidates(telegram), conversation, exclude=tried)
        if chosen is None:
            return None
        route = self._route_for(chosen.agent_id, telegram)
        return (chosen.agent_id, *route) if route is not None else None

    def _route_for(self, agent_id: str, telegram: bool) -> tuple[PathName, AgentLink] | None:
        if telegram:  # the agent's Telegram bots are handed over on its relay link only: never direct
            link = self._paths["relay"].get(agent_id)
            return ("relay", link) if link is not None and not link.closed else None
        return self._route(agent_id)

    def _local_candidates(self, telegram: bool) -> list[Candidate]:
        found = []
        for agent_id in self.agents_here():
            route = self._route_for(agent_id, telegram)
            if route is None:
                continue
            load = self.load(agent_id)
            found.append(
                Candidate(
                    agent_id,
                    in_flight=self.in_flight(agent_id),
                    running=load.running if load else 0,
                    waiting=load.waiting if load else 0,
                    parallel=load.parallel if load else 1,
                    rtt_s=route[1].health.rtt_s,
                )
            )
        return found

    def _remote_candidates(self) -> list[Candidate]:
        if self.replicas is None:
            return []
        here = set(self.agents_here())
        found = []
        for agent_id, remote in self.replicas.remotes.items():
            if agent_id in here:
                continue
            load = remote.network.get("load") or {}
            rtt_ms = remote.network.get("rtt_ms")
            found.append(
                Candidate(
                    agent_id,
                    in_flight=self.in_flight(agent_id),
                    running=int(load.get("running", 0)),
                    waiting=int(load.get("waiting", 0)),
                    parallel=int(load.get("parallel", 1)),
                    rtt_s=None if rtt_ms is None else rtt_ms / 1000,
                )
            )
        return found

    @asynccontextmanager
    async def stream(
        self,
        work: Streamed,
        channel: Channel = "api",
        local_only: bool = False,
        person: str | None = None,
        conversation: str | None = None,
        agent: str | None = None,
    ) -> AsyncIterator[ReplyStream]:
        """Relay one request (``channel``: ``web`` for the public chat, ``api`` for API clients, which
        the agent's scheduler weighs) to one agent over its best trusted path; leaving the block
        early cancels it at the agent. ``person``: the authenticated asker's memory key
        (``user:<id>``), never taken from the body. ``conversation``: what the request continues
        (a chat conversation, a Telegram chat, an API conversation's opening), which sticks to
        its agent; ``agent``: the agent another replica chose (when it is still linked here).

        Raises ``AgentOfflineError`` without a link and ``FrameTooLargeError`` for a request
        over the link's frame limit (it is never sent, so it cannot drop the link). With replicas,
        a request for an agent linked to another replica is relayed there (``replicas.relay``)
        unless ``local_only`` (a request another replica relayed here)."""
        telegram = isinstance(work, TelegramMessage)
        conversation = conversation or conversation_of(work, person)
        candidates = self._local_candidates(telegram)
        chosen = next((c for c in candidates if c.agent_id == agent), None) if agent is not None else None
        if chosen is None:
            if not local_only:
                candidates += self._remote_candidates()
            chosen = self.balancer.choose(candidates, conversation)
        if chosen is None:
            raise AgentOfflineError
        if self.replicas is not None and not local_only and not telegram:
            # other agents may be linked to other replicas: a request its agent fails before the
            # first chunk moves to one of them (relay.failover)
            async with AsyncExitStack() as stack:
                failover = FailoverStream(
                    stack,
                    lambda agent_id: self._served_by(agent_id, work, channel, person, conversation),
                    lambda tried: self._next_agent(conversation, tried),
                )
                await failover.start(chosen.agent_id)
                try:
                    yield failover
                finally:
                    self.metrics.relayed_requests.labels(
                        "finished" if failover.finished else "cancelled"
                    ).inc()
            return
        async with self._served_by(chosen.agent_id, work, channel, person, conversation, telegram) as stream:
            try:
                yield stream
            finally:
                self.metrics.relayed_requests.labels("finished" if stream.finished else "cancelled").inc()

    def _next_agent(self, conversation: str | None, tried: set[str]) -> str | None:
        """The agent a request goes to after ``tried`` failed it, linked here or elsewhere."""
        candidates = self._local_candidates(False) + self._remote_candidates()
        chosen = self.balancer.choose(candidates, conversation, exclude=tried)
        return chosen.agent_id if chosen is not None else None

    @asynccontextmanager
    async def _served_by(
        self,
        agent_id: str,
        work: Streamed,
        channel: Channel,
        person: str | None,
        conversation: str | None,
        telegram: bool = False,
    ) -> AsyncIterator[ReplyStream]:
        """The request served by ``agent_id``: over its link here, else through the replica that
        holds it. Raises ``AgentOfflineError`` when neither has it."""
        route = self._route_for(agent_id, telegram)
        if route is None and self.replicas is not None:
            async with self._relayed(work, channel, person, agent_id) as remote:
                yield remote
            return
        if route is None:
            raise AgentOfflineError
        path, link = route
        stream = RoutedStream(
            self,
            agent_id,
            work,
            self.settings.max_relay_frame_bytes,
            path,
            link,
            channel=channel,
            person=person,
            conversation=conversation,
        )
        try:
            yield stream
        finally:
            if not stream.finished:
                stream.cancel()

    @asynccontextmanager
    async def _relayed(
        self, work: Streamed, channel: Channel, person: str | None, agent_id: str
    ) -> AsyncIterator[ReplyStream]:
        """One request relayed to the replica holding ``agent_id``, counted in its in-flight here
        from the moment it is chosen: opening waits for the other replica, and requests chosen
        meanwhile must see this one (counted only once opened, a burst all went to the agent
        whose opening was slowest)."""
        assert self.replicas is not None
        mark = uuid.uuid4().hex
        live = self._remote_streams.setdefault(agent_id, set())
        live.add(mark)
        try:
            async with self.replicas.relay(work, channel, person, agent_id) as remote:
                yield remote
        finally:
            live.discard(mark)
            if not live and self._remote_streams.get(agent_id) is live:
                del self._remote_streams[agent_id]

    async def ask(self, request: MemoryRequest, local_only: bool = False) -> MemoryResult | Error:
        """One memory request, answered by the agent's ``memory_result`` or ``error``; on the
        relay link (like the agent's other news, never the direct path). With replicas, an agent
        linked to another replica is asked there (unless ``local_only``). Raises
        ``AgentOfflineError`` without a link."""
        link = self._paths["relay"].get(self._agent) if self._agent else None
        if link is None and not local_only and self.replicas is not None and self.replicas.remote is not None:
            return await self.replicas.ask(request, self.settings.relay_idle_timeout_s)
        if link is None:
            raise AgentOfflineError
        return await link.ask(request, self.settings.relay_idle_timeout_s)

    def _start_watch(self) -> None:
        if self._watch is None or self._watch.done():
            self._watch = asyncio.create_task(self._watch_paths(), name="relay-paths")

    async def _watch_paths(self) -> None:
        while self.online:
            self._evaluate()
            await asyncio.sleep(WATCH_INTERVAL_S)
        self._evaluate()

    def _evaluate(self) -> None:
        now = time.monotonic()
        for agent_id in self.agents_here():
            if agent_id != self._agent:
                self.board(agent_id).evaluate(now)  # its routing; the status shows the newest agent's
        if self._agent is None:
            return
        board = self.board(self._agent)
        change = board.evaluate(now)
        for name in PATH_NAMES:
            self.metrics.path_up.labels(name).set(1 if board.paths[name].trusted(now, self.probe) else 0)
        if change is not None:
            self.metrics.network_mode.labels(change.before).set(0)
            self.metrics.network_mode.labels(change.after).set(1)
            log.info(
                "agent %s network mode %s -> %s: %s", self._agent, change.before, change.after, change.reason
            )
            for listener in self._mode_listeners:
                listener(change.after)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)


def _agent_view(
    mode: str, load: AgentLoad | None, in_flight: int, rtt_ms: float | None, replica: str | None
) -> dict[str, Any]:
    return {
        "mode": mode,
        "running": load.running if load else 0,
        "waiting": load.waiting if load else 0,
        "parallel": load.parallel if load else None,
        "in_flight": in_flight,
        "tokens_per_s": load.tokens_per_s if load else None,
        "rtt_ms": rtt_ms,
        "fingerprint": load.fingerprint.model_dump() if load else None,
        "replica": replica,
    }
