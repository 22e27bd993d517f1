"""The sliding-window limiter behind the auth routes' 429s."""

from __future__ import annotations

import time

from aiclone_gateway.core.rate_limit import SlidingWindowLimiter


def test_limit_per_key_and_retry_after():
    limiter = SlidingWindowLimiter(limit=2, window_s=0.3)
    assert limiter.check("a") is None and limiter.check("a") is None
    wait = limiter.check("a")
    assert wait is not None and 0 < wait <= 0.3
    assert limiter.check("b") is None  # other clients are not affected
    assert SlidingWindowLimiter.retry_after(0.01) == "1" and SlidingWindowLimiter.retry_after(4.2) == "5"
    time.sleep(wait + 0.01)
    assert limiter.check("a") is None
