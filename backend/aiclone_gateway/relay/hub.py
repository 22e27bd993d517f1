"""The relay hub: the agent's links (relay and direct paths), and opening request streams over them.

Each agent has up to two paths: the relay link it dials (``/agent/ws``) and the direct path the
gateway dials (``relay.direct``) when the agent advertises one; ``relay.reception`` takes them in
and holds each here while it lives (``holding``). A ``PathBoard`` per agent says
which paths are trusted (probes answered recently) and which one the next request takes (lower
RTT, with hysteresis); ``RoutedStream`` retries a request on the other path when its path fails
before the first chunk. A watch loop logs mode transitions with their reason and keeps the metrics.
New requests avoid a path as soon as it misses its probes; the link itself is dropped at the
heartbeat timeout, failing its requests over (no chunk yet) or ending them with an error.

With several replicas (``replicas``), ``online`` also counts an agent linked to another live
replica, and ``stream`` relays a request there over Redis Streams when this one has no link;
``linked_here`` says whether this process holds the link (then it drains the queue).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.relay.link import AgentLink
from aiclone_gateway.relay.replicas import Replicas
from aiclone_gateway.relay.routing import RoutedStream
from aiclone_gateway.relay.streams import AgentOfflineError, Channel, ReplyStream, Streamed
from aiclone_wire import Error, Hello, MemoryRequest, MemoryResult, TelegramMessage
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
        self._agent: str | None = None
        self._watch: asyncio.Task | None = None
        # The newest agent's hello, kept while it is away (clone name, models).
        self._hello: Hello | None = None
        # The agent may be linked to another replica, which then serves this replica's requests
        # for it (relayed over Redis Streams).
        self.replicas = replicas
        self._was_online = False

    @property
    def linked_here(self) -> bool:
        """The agent is linked to this process (it may hold the queue drain and the bots)."""
        return any(self._paths[name] for name in PATH_NAMES)

    @property
    def online(self) -> bool:
        """The agent can answer through this process: linked here, or to another live replica."""
        return self.linked_here or (self.replicas is not None and self.replicas.remote is not None)

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
        """The network state of ``agent_id``'s paths to this process (recorded for the other replicas)."""
        now = time.monotonic()
        board = self.board(agent_id)
        return {"network_mode": board.current_mode(now), "paths": board.describe(now)}

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
            if agent_id in self._paths[name]:
                return name, self._paths[name][agent_id]
        return None

    def failover(self, agent_id: str, failed: PathName) -> tuple[PathName, AgentLink] | None:
        return self._route(agent_id, avoid=failed)

    @asynccontextmanager
    async def stream(
        self, work: Streamed, channel: Channel = "api", local_only: bool = False, person: str | None = None
    ) -> AsyncIterator[ReplyStream]:
        """Relay one request (``channel``: ``web`` for the public chat, ``api`` for API clients, which
        the agent's scheduler weighs) over the best trusted path; leaving the block early cancels
        it at the agent. ``person``: the authenticated asker's memory key (``user:<id>``), never
        taken from the body.

        Raises ``AgentOfflineError`` without a link and ``FrameTooLargeError`` for a request
        over the link's frame limit (it is never sent, so it cannot drop the link). With replicas,
        a request for an agent linked to another replica is relayed there (``replicas.relay``)
        unless ``local_only`` (a request another replica relayed here)."""
        agent_id = self._agent
        route: tuple[PathName, AgentLink] | None = None
        if agent_id is not None and isinstance(work, TelegramMessage):
            # the agent's Telegram bots are handed over on its relay link only: never direct
            link = self._paths["relay"].get(agent_id)
            route = ("relay", link) if link is not None else None
        elif agent_id is not None:
            route = self._route(agent_id)
        if (
            route is None
            and not local_only
            and self.replicas is not None
            and self.replicas.remote is not None
        ):
            async with self.replicas.relay(work, channel, person) as remote:
                yield remote
            self.metrics.relayed_requests.labels("finished" if remote.finished else "cancelled").inc()
            return
        if route is None or agent_id is None:
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
        )
        try:
            yield stream
        finally:
            if not stream.finished:
                stream.cancel()
            self.metrics.relayed_requests.labels("finished" if stream.finished else "cancelled").inc()

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
        if self._agent is None:
            return
        board = self.board(self._agent)
        now = time.monotonic()
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
