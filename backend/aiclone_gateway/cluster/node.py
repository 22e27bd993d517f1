"""This replica's place in a gateway cluster: liveness, the agent it holds, the agent others
hold, requests relayed to the replica that holds the link, and user events for sockets on other
replicas.

The node is what the rest of the gateway asks (the hub: who holds the agent, relay there; the
chat sockets and the LAN revocations: tell the others); what runs in the background while this
replica is up (the heartbeat, the requests others relay here, the events others publish) is
``cluster.duties``, built once the hub exists. ``claim``, ``release`` and ``look`` say whether
the agent held elsewhere changed, so the hub reacts without the node knowing the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Collection
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis

from aiclone_gateway.cluster.forwarding import RemoteStream
from aiclone_gateway.cluster.keys import RedisKeys
from aiclone_gateway.cluster.ownership import AgentOwnership, OwnerRecord
from aiclone_gateway.relay.streams import AgentOfflineError, Channel, Work
from aiclone_wire import Error, MemoryRequest, MemoryResult

log = logging.getLogger(__name__)
ALIVE_TTL_S = 3.0  # a replica silent this long is dead: its relayed requests fail explicitly
EVENTS_MAXLEN = 10_000


class ClusterNode:
    def __init__(self, redis: Redis, keys: RedisKeys, replica: str, owner_ttl_s: float) -> None:
        self.redis = redis
        self.keys = keys
        self.replica = replica
        self.ownership = AgentOwnership(redis, keys, replica, owner_ttl_s)
        self.renew_every_s = owner_ttl_s / 3
        self.remote: OwnerRecord | None = None  # the newest agent, held by another live replica
        self.remotes: dict[str, OwnerRecord] = {}  # every agent another live replica holds
        self.held: dict[str, OwnerRecord] = {}
        self._background: set[asyncio.Task] = set()

    @classmethod
    def connect(cls, url: str, prefix: str, replica: str, owner_ttl_s: float) -> ClusterNode:
        return cls(Redis.from_url(url, decode_responses=True), RedisKeys(prefix), replica, owner_ttl_s)

    async def alive_replicas(self) -> set[str]:
        pattern = self.keys.alive("*")
        head, tail = pattern.split("*")
        return {key[len(head) : -len(tail)] async for key in self.redis.scan_iter(match=pattern)}

    async def is_alive(self, replica: str) -> bool:
        return bool(await self.redis.exists(self.keys.alive(replica)))

    async def beat_alive(self, stats: dict[str, int], users: Collection[str] = ()) -> None:
        """This replica is alive, with its live numbers and the users chatting here now (all
        expire unless beaten again)."""
        ttl_ms = int(ALIVE_TTL_S * 1000)
        online = self.keys.online(self.replica)
        async with self.redis.pipeline(transaction=True) as beat:
            beat.set(self.keys.alive(self.replica), "1", px=ttl_ms)
            beat.set(self.keys.stats(self.replica), json.dumps(stats), px=ttl_ms)
            beat.delete(online)
            if users:
                beat.sadd(online, *users)
                beat.pexpire(online, ttl_ms)
            await beat.execute()

    async def distinct_users(self, mine: Collection[str]) -> int:
        """Users with a chat open on any live replica, each counted once (``mine``: this
        replica's, fresh): a person with the chat open on two replicas is one user online."""
        everyone = set(mine)
        for replica in await self.alive_replicas():
            if replica != self.replica:
                members = await self.redis.smembers(self.keys.online(replica))
                everyone.update(str(member) for member in members)  # decode_responses: already str
        return len(everyone)

    async def replica_stats(self, mine: dict[str, int]) -> list[dict[str, int]]:
        """The live numbers of every replica alive now (``mine``: this one's, fresh)."""
        found = []
        for replica in sorted(await self.alive_replicas()):
            if replica == self.replica:
                found.append(mine)
                continue
            text = await self.redis.get(self.keys.stats(replica))
            found.append(json.loads(text) if text else {})
        return found

    # -- the agent this replica holds -------------------------------------------------------

    async def claim(self, agent_id: str, hello: dict[str, Any], network: dict[str, Any]) -> bool:
        """Hold ``agent_id`` here; True when that changed the agent held elsewhere."""
        record = await self.ownership.claim(agent_id, hello, network)
        self.held[agent_id] = record
        log.info("cluster: replica %s holds agent %s (epoch %d)", self.replica, agent_id, record.epoch)
        return await self.look()

    async def release(self, agent_id: str) -> bool:
        """Stop holding ``agent_id``; True when that changed the agent held elsewhere."""
        record = self.held.pop(agent_id, None)
        if record is None:
            return False
        await self.ownership.release(record)
        return await self.look()

    async def renew(self, network: Callable[[str], dict[str, Any]]) -> list[str]:
        """Renew each held agent's record with its network state now; the agents a newer link on
        another replica took (fenced off) are dropped and returned: their links here are stale."""
        fenced = []
        for agent_id, record in list(self.held.items()):
            fresh = OwnerRecord(agent_id, self.replica, record.epoch, record.hello, network(agent_id))
            if await self.ownership.renew(fresh):
                self.held[agent_id] = fresh
                continue
            log.warning(
                "cluster: agent %s is held by a newer link elsewhere; dropping the stale one here", agent_id
            )
            self.held.pop(agent_id, None)
            fenced.append(agent_id)
        return fenced

    async def look(self) -> bool:
        """Read which agents other live replicas hold; True when one appeared, vanished or
        changed mode (or the newest one changed)."""
        alive: dict[str, bool] = {}
        remotes: dict[str, OwnerRecord] = {}
        for record in await self.ownership.holders():
            if record.replica == self.replica or record.agent_id in self.held:
                continue
            if record.replica not in alive:
                alive[record.replica] = await self.is_alive(record.replica)
            if alive[record.replica]:
                remotes[record.agent_id] = record
        current = await self.ownership.current()
        newest = remotes.get(current.agent_id) if current is not None else None
        if newest is None and remotes:
            newest = max(remotes.values(), key=lambda record: record.epoch)
        before, self.remote = self.remote, newest
        before_all, self.remotes = self.remotes, remotes
        return (
            _shape(before_all) != _shape(remotes)
            or (before is None) != (newest is None)
            or (before is not None and newest is not None and before.agent_id != newest.agent_id)
        )

    # -- requests for the agent another replica holds ---------------------------------------

    @asynccontextmanager
    async def relay(
        self, work: Work, channel: Channel, person: str | None = None, agent_id: str | None = None
    ) -> AsyncIterator[RemoteStream]:
        """Serve ``work`` through the replica holding ``agent_id`` (None: the newest remote agent)."""
        remote = self.remote if agent_id is None else self.remotes.get(agent_id)
        if remote is None:
            raise AgentOfflineError
        owner = remote.replica
        stream = RemoteStream(self.redis, self.keys, owner, lambda: self.is_alive(owner))
        await stream.open(work, channel, person, agent_id)
        try:
            yield stream
        finally:
            if not stream.finished:
                stream.cancel()

    async def ask(self, request: MemoryRequest, idle_timeout_s: float) -> MemoryResult | Error:
        """A memory request for the agent another replica holds: its one answer."""
        async with self.relay(request, "api") as remote:
            return await remote.answer(idle_timeout_s)

    # -- user events (frames for sockets that may be on any replica) ------------------------

    def publish(self, event: dict[str, Any]) -> None:
        """Tell the other replicas (in the background; local delivery is the caller's)."""
        task = asyncio.create_task(self._append_event(event))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _append_event(self, event: dict[str, Any]) -> None:
        fields: dict[Any, Any] = {"from": self.replica, "event": json.dumps(event)}
        await self.redis.xadd(self.keys.user_events, fields, maxlen=EVENTS_MAXLEN, approximate=True)

    async def close(self) -> None:
        """Leave the cluster: the agents held here are released and this replica is dead at once."""
        for agent_id in list(self.held):
            with contextlib.suppress(Exception):
                await self.release(agent_id)
        with contextlib.suppress(Exception):
            await self.redis.delete(self.keys.alive(self.replica))
        await self.redis.aclose()


def _shape(remotes: dict[str, OwnerRecord]) -> dict[str, tuple[str, int, Any]]:
    """What a change of the remote agents is judged by: who holds each, its epoch and mode."""
    return {
        agent_id: (record.replica, record.epoch, record.network.get("network_mode"))
        for agent_id, record in remotes.items()
    }
