"""The lean WebSocket protocol's two primitives behave as the asyncio ones uvicorn was written
for: the inbox hands items over in order and wakes its reader; the writable flag holds every
sender while the transport is paused and lets them all go when it resumes."""

from __future__ import annotations

import asyncio

from aiclone_gateway.core.lean_websocket import _Inbox, _Writable


async def test_the_inbox_hands_items_over_in_order_and_wakes_a_waiting_reader():
    inbox = _Inbox()
    assert inbox.empty()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)  # the reader is waiting on an empty inbox
    assert not reader.done()
    inbox.put_nowait({"type": "websocket.connect"})
    inbox.put_nowait({"type": "websocket.receive", "text": "hi"})
    assert await reader == {"type": "websocket.connect"}
    assert not inbox.empty()
    assert await inbox.get() == {"type": "websocket.receive", "text": "hi"}
    assert inbox.empty() and inbox._items is None  # nothing kept once drained


async def test_a_cancelled_read_leaves_the_inbox_usable():
    inbox = _Inbox()
    reader = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)
    inbox.put_nowait("next")
    assert await asyncio.wait_for(inbox.get(), 5) == "next"


async def test_paused_writes_hold_every_sender_until_resumed():
    writable = _Writable()
    assert writable.is_set()
    await asyncio.wait_for(writable.wait(), 5)  # writable: no wait
    writable.clear()
    senders = [asyncio.create_task(writable.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    senders[0].cancel()  # one sender gives up; the others still wait
    await asyncio.gather(senders[0], return_exceptions=True)
    assert not any(sender.done() for sender in senders[1:])
    writable.set()
    await asyncio.wait_for(asyncio.gather(*senders[1:]), 5)
    assert writable.is_set()
