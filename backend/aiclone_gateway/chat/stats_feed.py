"""The gateway's live numbers for the owner's overview page, sent to the agent over its relay link
(``relay.reception``).

The agent keeps the history (its admin page charts the last hour); the gateway only says what it
sees now: users with the public chat open, requests in flight, questions queued for the agent,
relayed requests that failed since start, and how many gateway processes serve the clone.
With replicas, the numbers are summed over every live replica (each publishes its own in Redis),
except users online: each replica publishes who chats there, and a person with the chat open on
two replicas counts once.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Protocol

from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ConversationStore
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_wire import GatewayStats


class ReplicaNumbers(Protocol):
    """Every live replica's numbers (``cluster.node.ClusterNode``)."""

    async def replica_stats(self, mine: dict[str, int]) -> list[dict[str, int]]: ...

    async def distinct_users(self, mine: Collection[str]) -> int: ...


class GatewayStatsFeed:
    def __init__(
        self,
        sockets: ChatSockets,
        conversations: ConversationStore,
        metrics: GatewayMetrics,
        interval_s: float,
        replicas: ReplicaNumbers | None = None,
    ) -> None:
        """``replicas``: with several replicas, where each one's ``local`` numbers are published;
        None when this process is alone."""
        self.sockets = sockets
        self.conversations = conversations
        self.metrics = metrics
        self.interval_s = interval_s
        self.replicas = replicas
        self._started = time.monotonic()

    def local(self, requests_in_flight: int) -> dict[str, int]:
        """This process's own numbers."""
        return {
            "users_online": self.sockets.users,
            "chat_sockets": self.sockets.connections,
            "requests_in_flight": requests_in_flight,
            "errors": self.metrics.relay_errors_total,
        }

    async def snapshot(self, requests_in_flight: int) -> GatewayStats:
        mine = self.local(requests_in_flight)
        each = await self.replicas.replica_stats(mine) if self.replicas is not None else [mine]
        total = {name: sum(numbers.get(name, 0) for numbers in each) for name in self.local(0)}
        if self.replicas is not None:
            total["users_online"] = await self.replicas.distinct_users(self.sockets.user_ids())
        return GatewayStats(
            users_online=total["users_online"],
            chat_sockets=total["chat_sockets"],
            requests_in_flight=total["requests_in_flight"],
            queued_questions=await self.conversations.queue_length(),
            errors=total["errors"],
            replicas=max(1, len(each)),
            uptime_s=round(time.monotonic() - self._started, 1),
            interval_s=self.interval_s,
        )
