"""The sliding-window limiter behind the auth routes' 429s (one process; the Redis one shared by
replicas is tested in tests/backend/cluster/test_shared_limits.py)."""

from __future__ import annotations

import asyncio

from aiclone_gateway.core.rate_limit import ConcurrencyLimit, SlidingWindowLimiter, retry_after


async def test_limit_per_key_and_retry_after():
    limiter = SlidingWindowLimiter(limit=2, window_s=0.3)
    assert await limiter.check("a") is None and await limiter.check("a") is None
    wait = await limiter.check("a")
    assert wait is not None and 0 < wait <= 0.3
    assert await limiter.check("b") is None  # other clients are not affected
    assert retry_after(0.01) == "1" and retry_after(4.2) == "5"
    await asyncio.sleep(wait + 0.01)
    assert await limiter.check("a") is None


async def test_concurrency_limit_per_key():
    limit = ConcurrencyLimit(most=2)
    assert await limit.acquire("u") and await limit.acquire("u")
    assert not await limit.acquire("u")
    assert await limit.acquire("v")
    await limit.release("u")
    assert await limit.acquire("u")
