"""Reading Redis Streams: one ``XREAD`` answer's entries, and following a stream forever."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)
StreamEntry = tuple[str, dict[str, str]]


def stream_entries(answer: Any) -> list[StreamEntry]:
    """The entries of an ``XREAD`` answer (decoded responses), flattened in order."""
    return [(str(entry_id), dict(fields)) for _, entries in answer or [] for entry_id, fields in entries]


async def follow(redis: Redis, stream: str, handle: Callable[[dict[str, str]], None], what: str) -> None:
    """Hand every entry appended to ``stream`` from now on to ``handle``, in order, until
    cancelled; a Redis hiccup is logged and the read tried again a second later."""
    last = "$"
    while True:
        try:
            answer = await redis.xread({stream: last}, count=100, block=1000)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cluster: reading %s failed; retrying", what)
            await asyncio.sleep(1)
            continue
        for entry_id, fields in stream_entries(answer):
            last = entry_id
            try:
                handle(fields)
            except Exception:
                log.exception("cluster: one of the %s failed", what)
