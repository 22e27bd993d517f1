"""A conversation of any length fits one link frame: the oldest turns are left out first."""

from __future__ import annotations

import json

from aiclone_gateway.chat.history import newest_that_fit
from aiclone_wire import MAX_REQUEST_FRAME_BYTES, Request, encode


def _turns(count: int, size: int) -> list[dict[str, str]]:
    roles = ("user", "assistant")
    return [{"role": roles[i % 2], "content": f"{i}:" + "ж" * size} for i in range(count)]


def test_short_history_travels_whole():
    turns = _turns(6, 100)
    assert newest_that_fit(turns, MAX_REQUEST_FRAME_BYTES) == turns


def test_long_history_keeps_the_newest_turns_within_the_frame():
    turns = _turns(400, 32_000)  # ~25 MB of Cyrillic: far over any frame
    kept = newest_that_fit(turns, MAX_REQUEST_FRAME_BYTES)
    assert kept == turns[-len(kept) :] and 0 < len(kept) < len(turns)
    frame = encode(Request(id="x" * 32, body={"model": "m" * 64, "messages": kept, "stream": True}))
    assert len(frame.encode()) <= MAX_REQUEST_FRAME_BYTES
    one_more = turns[-len(kept) - 1 :]
    assert len(json.dumps(one_more, ensure_ascii=False).encode()) > MAX_REQUEST_FRAME_BYTES - 4_096


def test_the_question_always_stays_even_when_alone_it_is_large():
    turns = _turns(3, 10_000)
    assert newest_that_fit(turns, 8_192) == turns[-1:]
