"""Reconnect delays grow exponentially, are capped, and are jittered."""

from __future__ import annotations

import random

from aiclone_agent.gateway.backoff import Backoff


def test_delays_double_up_to_the_cap_with_jitter():
    backoff = Backoff(base_s=0.5, cap_s=8)
    rng = random.Random(7)
    for attempt, ceiling in enumerate([0.5, 1, 2, 4, 8, 8, 8]):
        samples = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in samples), attempt
        assert max(samples) - min(samples) > ceiling / 4  # jittered, not in lock step


def test_huge_attempt_counts_stay_capped():
    assert Backoff(base_s=1, cap_s=30).delay(10_000) <= 30
