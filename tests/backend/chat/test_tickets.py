"""Chat tickets open one WebSocket, once, briefly (one process; the shared Redis book is in
tests/backend/cluster/test_shared_limits.py)."""

from __future__ import annotations

import asyncio

from aiclone_gateway.chat.tickets import TicketBook


async def test_tickets_are_single_use():
    book = TicketBook(ttl_s=30)
    ticket = await book.issue("user-1")
    assert len(ticket) >= 40
    assert await book.redeem(ticket) == "user-1"
    assert await book.redeem(ticket) is None
    assert await book.redeem("made-up") is None


async def test_tickets_expire():
    book = TicketBook(ttl_s=0.05)
    ticket = await book.issue("user-1")
    await asyncio.sleep(0.06)
    assert await book.redeem(ticket) is None
