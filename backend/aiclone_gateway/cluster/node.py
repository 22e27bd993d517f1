"""This replica's place in a gateway cluster: liveness, the agent it holds, the agent others
hold, relayed requests both ways, and user events for sockets on other replicas.

Every ``BEAT_S`` the replica refreshes its liveness key, renews the owner record of each agent
it holds (with the agent's current network state) and reads who holds the current agent. A
renewal refused by a newer epoch means the agent relinked elsewhere: the stale link here is
dropped (fencing). The hub asks ``remote`` whether another replica can serve the agent now.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from aiclone_gateway.cluster.forwarding import RemoteStream, RequestServer
from aiclone_gateway.cluster.keys import RedisKeys
from aiclone_gateway.cluster.ownership import AgentOwnership, OwnerRecord
from aiclone_gateway.cluster.streams import follow
from aiclone_gateway.relay.streams import AgentOfflineError
from aiclone_wire import TelegramMessage

if TYPE_CHECKING:
    from aiclone_gateway.relay.hub import RelayHub

log = logging.getLogger(__name__)
BEAT_S = 0.5
ALIVE_TTL_S = 3.0  # a replica silent this long is dead: its relayed requests fail explicitly
EVENTS_MAXLEN = 10_000


class ClusterNode:
    def __init__(self, redis: Redis, keys: RedisKeys, replica: str, owner_ttl_s: float) -> None:
        self.redis = redis
        self.keys = keys
        self.replica = replica
        self.ownership = AgentOwnership(redis, keys, replica, owner_ttl_s)
        self.renew_every_s = owner_ttl_s / 3
        self.remote: OwnerRecord | None = None  # the current agent, held by another live replica
        self.held: dict[str, OwnerRecord] = {}
        # ``handler(event)`` for user events other replicas publish (set by the runtime).
        self.on_user_event: Callable[[dict[str, Any]], None] | None = None
        # This replica's live numbers, published with each beat (set by the runtime).
        self.local_stats: Callable[[], dict[str, int]] | None = None
        self._hub: RelayHub | None = None
        self._server: RequestServer | None = None
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()

    @classmethod
    def connect(cls, url: str, prefix: str, replica: str, owner_ttl_s: float) -> ClusterNode:
        return cls(Redis.from_url(url, decode_responses=True), RedisKeys(prefix), replica, owner_ttl_s)

    async def start(self, hub: RelayHub, idle_timeout_s: float) -> None:
        self._hub = hub
        await self.redis.ping()
        await self._beat_alive()
        self._server = RequestServer(self.redis, self.keys, self.replica, hub, idle_timeout_s)
        self._tasks = [
            asyncio.create_task(self._beat(), name="cluster-beat"),
            asyncio.create_task(self._server.run(), name="cluster-requests"),
            asyncio.create_task(self._events(), name="cluster-events"),
        ]
        log.info("cluster: replica %s joined (Redis prefix %s)", self.replica, self.keys.prefix)

    async def alive_replicas(self) -> set[str]:
        pattern = self.keys.alive("*")
        head, tail = pattern.split("*")
        return {key[len(head) : -len(tail)] async for key in self.redis.scan_iter(match=pattern)}

    async def is_alive(self, replica: str) -> bool:
        return bool(await self.redis.exists(self.keys.alive(replica)))

    # -- the agent this replica holds -------------------------------------------------------

    async def claim(self, agent_id: str, hello: dict[str, Any], network: dict[str, Any]) -> None:
        record = await self.ownership.claim(agent_id, hello, network)
        self.held[agent_id] = record
        log.info("cluster: replica %s holds agent %s (epoch %d)", self.replica, agent_id, record.epoch)
        await self._look()

    async def release(self, agent_id: str) -> None:
        record = self.held.pop(agent_id, None)
        if record is not None:
            await self.ownership.release(record)
            await self._look()

    # -- requests for the agent another replica holds ---------------------------------------

    @asynccontextmanager
    async def relay(
        self, work: dict[str, Any] | TelegramMessage, channel: str
    ) -> AsyncIterator[RemoteStream]:
        remote = self.remote
        if remote is None:
            raise AgentOfflineError
        owner = remote.replica
        stream = RemoteStream(self.redis, self.keys, owner, lambda: self.is_alive(owner))
        await stream.open(work, channel)
        try:
            yield stream
        finally:
            if not stream.finished:
                stream.cancel()

    # -- user events (frames for sockets that may be on any replica) ------------------------

    def publish(self, event: dict[str, Any]) -> None:
        """Tell the other replicas (in the background; local delivery is the caller's)."""
        task = asyncio.create_task(self._append_event(event))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _append_event(self, event: dict[str, Any]) -> None:
        fields: dict[Any, Any] = {"from": self.replica, "event": json.dumps(event)}
        await self.redis.xadd(self.keys.user_events, fields, maxlen=EVENTS_MAXLEN, approximate=True)

    async def _events(self) -> None:
        await follow(self.redis, self.keys.user_events, self._user_event, "user events")

    def _user_event(self, fields: dict[str, str]) -> None:
        if fields.get("from") != self.replica and self.on_user_event is not None:
            self.on_user_event(json.loads(fields["event"]))

    # -- the heartbeat ----------------------------------------------------------------------

    async def _beat_alive(self) -> None:
        ttl_ms = int(ALIVE_TTL_S * 1000)
        await self.redis.set(self.keys.alive(self.replica), "1", px=ttl_ms)
        if self.local_stats is not None:
            await self.redis.set(self.keys.stats(self.replica), json.dumps(self.local_stats()), px=ttl_ms)

    async def replica_stats(self) -> list[dict[str, int]]:
        """The live numbers of every replica alive now (this one's fresh)."""
        found = []
        for replica in sorted(await self.alive_replicas()):
            if replica == self.replica and self.local_stats is not None:
                found.append(self.local_stats())
                continue
            text = await self.redis.get(self.keys.stats(replica))
            found.append(json.loads(text) if text else {})
        return found

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        renewed_at = loop.time()
        while True:
            await asyncio.sleep(BEAT_S)
            try:
                await self._beat_alive()
                if loop.time() - renewed_at >= self.renew_every_s:
                    renewed_at = loop.time()
                    await self._renew()
                await self._look()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster: heartbeat failed; retrying")

    async def _renew(self) -> None:
        assert self._hub is not None
        for agent_id, record in list(self.held.items()):
            fresh = OwnerRecord(
                agent_id, self.replica, record.epoch, record.hello, self._hub.local_network(agent_id)
            )
            if await self.ownership.renew(fresh):
                self.held[agent_id] = fresh
                continue
            log.warning(
                "cluster: agent %s is held by a newer link elsewhere; dropping the stale one here", agent_id
            )
            self.held.pop(agent_id, None)
            self._hub.disconnect(agent_id, reason="linked to another replica", forget_direct=False)

    async def _look(self) -> None:
        record = await self.ownership.current()
        if record is not None and (record.replica == self.replica or not await self.is_alive(record.replica)):
            record = None
        before, self.remote = self.remote, record
        changed = (before is None) != (record is not None) or (
            before is not None
            and record is not None
            and (before.network.get("network_mode"), before.epoch)
            != (record.network.get("network_mode"), record.epoch)
        )
        if changed and self._hub is not None:
            self._hub.remote_changed()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.close()
        for agent_id in list(self.held):
            with contextlib.suppress(Exception):
                await self.release(agent_id)
        with contextlib.suppress(Exception):
            await self.redis.delete(self.keys.alive(self.replica))
        await self.redis.aclose()
