"""What this replica does for the cluster while it runs: the heartbeat, the requests other
replicas relay here, and the user events they publish.

Every ``BEAT_S`` the replica refreshes its liveness key and live numbers, renews the owner record
of each agent it holds (with the agent's current network state) and reads who holds the current
agent. A renewal refused by a newer epoch means the agent relinked elsewhere: the stale link here
is dropped (fencing). Built after the hub and the chat (it serves their links and tells them the
news), while the ``ClusterNode`` they ask is built before them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Collection
from typing import Any, Protocol

from prometheus_client import Gauge

from aiclone_gateway.cluster.forwarding import RequestServer, RequestServing
from aiclone_gateway.cluster.node import ClusterNode
from aiclone_gateway.cluster.streams import follow

log = logging.getLogger(__name__)
BEAT_S = 0.5


class LocalLinks(RequestServing, Protocol):
    """What the cluster needs from the links this replica holds (the relay hub)."""

    def local_network(self, agent_id: str) -> dict[str, Any]: ...

    def disconnect(self, agent_id: str, reason: str = ...) -> None: ...

    def remote_changed(self) -> None:
        """The agent held by another replica appeared, vanished or changed mode."""


class ReplicaDuties:
    def __init__(
        self,
        node: ClusterNode,
        links: LocalLinks,
        idle_timeout_s: float,
        local_stats: Callable[[], dict[str, int]],
        on_user_event: Callable[[dict[str, Any]], None],
        local_users: Callable[[], Collection[str]],
        waiting_for_reader: Gauge,
    ) -> None:
        """``local_stats``: this replica's live numbers and ``local_users`` the users chatting
        here, published with each beat; ``on_user_event``: applies an event another replica
        published; ``waiting_for_reader``: relayed answers held back by a slow reader now."""
        self.node = node
        self.links = links
        self.local_stats = local_stats
        self.local_users = local_users
        self.on_user_event = on_user_event
        self._server = RequestServer(
            node.redis, node.keys, node.replica, links, idle_timeout_s, waiting_for_reader
        )
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        node = self.node
        await node.redis.ping()
        await node.beat_alive(self.local_stats(), self.local_users())
        self._tasks = [
            asyncio.create_task(self._beat(), name="cluster-beat"),
            asyncio.create_task(self._server.run(), name="cluster-requests"),
            asyncio.create_task(self._events(), name="cluster-events"),
        ]
        log.info("cluster: replica %s joined (Redis prefix %s)", node.replica, node.keys.prefix)

    async def _events(self) -> None:
        await follow(self.node.redis, self.node.keys.user_events, self._user_event, "user events")

    def _user_event(self, fields: dict[str, str]) -> None:
        if fields.get("from") != self.node.replica:
            self.on_user_event(json.loads(fields["event"]))

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        renewed_at = loop.time()
        while True:
            await asyncio.sleep(BEAT_S)
            try:
                await self.node.beat_alive(self.local_stats(), self.local_users())
                if loop.time() - renewed_at >= self.node.renew_every_s:
                    renewed_at = loop.time()
                    for agent_id in await self.node.renew(self.links.local_network):
                        self.links.disconnect(agent_id, reason="linked to another replica")
                if await self.node.look():
                    self.links.remote_changed()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster: heartbeat failed; retrying")

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.close()
