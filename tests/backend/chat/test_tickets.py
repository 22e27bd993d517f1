"""Chat tickets open one WebSocket, once, briefly."""

from __future__ import annotations

import time

from aiclone_gateway.chat.tickets import TicketBook


def test_tickets_are_single_use():
    book = TicketBook(ttl_s=30)
    ticket = book.issue("user-1")
    assert len(ticket) >= 40
    assert book.redeem(ticket) == "user-1"
    assert book.redeem(ticket) is None
    assert book.redeem("made-up") is None


def test_tickets_expire():
    book = TicketBook(ttl_s=0.05)
    ticket = book.issue("user-1")
    time.sleep(0.06)
    assert book.redeem(ticket) is None
