"""The gateway's live numbers for the owner's overview page, sent to the agent over its relay link.

The agent keeps the history (its admin page charts the last hour); the gateway only says what it
sees now: users with the public chat open, requests in flight, questions queued for the agent,
relayed requests that failed since start, and how many gateway processes serve the clone.
"""

from __future__ import annotations

import time

from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ConversationStore
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_wire import GatewayStats

# The agent asks for the frames in its hello (older agents would log each one as unknown).
STATS_CAPABILITY = "gateway_stats"
# One process today: scale-out over Redis is not built yet.
REPLICAS = 1


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

    async def snapshot(self, requests_in_flight: int) -> GatewayStats:
        return GatewayStats(
            users_online=self.sockets.users,
            chat_sockets=self.sockets.connections,
            requests_in_flight=requests_in_flight,
            queued_questions=await self.conversations.queue_length(),
            errors=self.metrics.relay_errors_total,
            replicas=REPLICAS,
            uptime_s=round(time.monotonic() - self._started, 1),
            interval_s=self.interval_s,
        )
