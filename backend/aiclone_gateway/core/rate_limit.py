"""A per-client sliding-window limiter (in memory: one gateway process; with several replicas
``cluster.shared_limits.RedisRateLimiter`` takes its place, same ``check``)."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Protocol


class RateLimiter(Protocol):
    """``check(key)``: record a hit; None if allowed, else seconds until it would be."""

    async def check(self, key: str) -> float | None: ...


class Concurrency(Protocol):
    async def acquire(self, key: str) -> bool: ...

    async def release(self, key: str) -> None: ...


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}

    async def check(self, key: str) -> float | None:
        return self.hit(key)

    def hit(self, key: str) -> float | None:
        """Record a hit for ``key``; ``None`` if allowed, else the seconds until it would be."""
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window_s - now
        hits.append(now)
        if len(self._hits) > 10_000:
            self._forget_idle(now)
        return None

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
            del self._hits[key]


class ConcurrencyLimit:
    """At most ``most`` things in progress per key (one process; see ``RedisConcurrency``)."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._held: dict[str, int] = {}

    async def acquire(self, key: str) -> bool:
        if self._held.get(key, 0) >= self.most:
            return False
        self._held[key] = self._held.get(key, 0) + 1
        return True

    async def release(self, key: str) -> None:
        left = self._held.get(key, 1) - 1
        if left > 0:
            self._held[key] = left
        else:
            self._held.pop(key, None)


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
