"""Short-lived single-use tickets that open ``/ws/chat`` (so no JWT ever sits in a URL).

This book lives in one process; with several replicas ``cluster.shared_limits.RedisTicketBook``
takes its place (same methods)."""

from __future__ import annotations

import secrets
import time


class TicketBook:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._tickets: dict[str, tuple[str, float]] = {}

    async def issue(self, user_id: str) -> str:
        now = time.monotonic()
        self._tickets = {t: v for t, v in self._tickets.items() if v[1] > now}
        ticket = secrets.token_urlsafe(32)
        self._tickets[ticket] = (user_id, now + self.ttl_s)
        return ticket

    async def redeem(self, ticket: str) -> str | None:
        """The ticket's user id, once; ``None`` for unknown, used or expired tickets."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry[1] <= time.monotonic():
            return None
        return entry[0]
