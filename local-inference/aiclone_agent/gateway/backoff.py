"""Reconnect delays: capped exponential backoff with jitter (so many agents never retry in step)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_s: float = 0.5
    cap_s: float = 30.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based): uniform in [ceiling/2, ceiling]."""
        ceiling = min(self.cap_s, self.base_s * 2 ** min(attempt, 32))
        return (rng or random).uniform(ceiling / 2, ceiling)
