"""The gateway's live numbers for the owner's overview page, sent to the agent over its relay link.

The agent keeps the history (its admin page charts the last hour); the gateway only says what it
sees now: users with the public chat open, requests in flight, questions queued for the agent,
relayed requests that failed since start, and how many gateway processes serve the clone.
With replicas, the numbers are summed over every live replica (each publishes its own in Redis;
a user with chats open on two replicas counts twice).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ConversationStore
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_wire import GatewayStats

# The agent asks for the frames in its hello (older agents would log each one as unknown).
STATS_CAPABILITY = "gateway_stats"


class GatewayStatsFeed:
    def __init__(
        self,
        sockets: ChatSockets,
        conversations: ConversationStore,
        metrics: GatewayMetrics,
        interval_s: float,
    ) -> None:
        self.sockets = sockets
        self.conversations = conversations
        self.metrics = metrics
        self.interval_s = interval_s
        self._started = time.monotonic()
        # With replicas: every live replica's ``local`` numbers (set by the runtime).
        self.replicas: Callable[[], Awaitable[list[dict[str, int]]]] | None = None

    def local(self, requests_in_flight: int) -> dict[str, int]:
        """This process's own numbers."""
        return {
            "users_online": self.sockets.users,
            "chat_sockets": self.sockets.connections,
            "requests_in_flight": requests_in_flight,
            "errors": self.metrics.relay_errors_total,
        }

    async def snapshot(self, requests_in_flight: int) -> GatewayStats:
        each = await self.replicas() if self.replicas is not None else [self.local(requests_in_flight)]
        total = {name: sum(numbers.get(name, 0) for numbers in each) for name in self.local(0)}
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
