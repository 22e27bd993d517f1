"""Short one-time pairing codes for the LAN page (issue 25): a device signed in on the LAN page asks
for a code (``XXXX-XXXX``), another device at home types it (or opens ``/?code=…``) and gets the same
LAN token, instead of someone copying a 700-character token across. A code is good once, for ten
minutes, and is kept in memory only (an agent restart forgets every code). Guessing is bounded: after
``max_failures`` wrong codes in ``window_s`` every redemption is refused until the window passes, so
at most a few hundred guesses a day reach 32^8 possible codes."""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiclone_wire.errors import Problem, ProblemError

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 8
MAX_LIVE_CODES = 200  # a bound on memory: the oldest goes when a new one would pass it


class PairingCodeRefusedError(ProblemError):
    def problem(self) -> Problem:
        return Problem(400, f"pairing code refused: {self}", "invalid_pairing_code")


class PairingRateLimitedError(ProblemError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many wrong pairing codes: try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s

    def problem(self) -> Problem:
        return Problem(429, str(self), "pairing_rate_limited", retry_after_s=self.retry_after_s)


@dataclass(frozen=True)
class _Pending:
    token: str
    expires_at: float  # on the monotonic clock


def normalize(code: str) -> str:
    """As typed: any case, with or without the dash or spaces."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


class PairingCodes:
    def __init__(
        self,
        ttl_s: float = 600.0,
        max_failures: int = 10,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._pending: dict[str, _Pending] = {}
        self._failures: deque[float] = deque()

    def issue(self, token: str) -> tuple[str, float]:
        """A new code for ``token`` (shown as ``XXXX-XXXX``) and how many seconds it lives."""
        now = self.clock()
        self._drop_expired(now)
        while len(self._pending) >= MAX_LIVE_CODES:
            del self._pending[next(iter(self._pending))]
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        self._pending[code] = _Pending(token, now + self.ttl_s)
        return display(code), self.ttl_s

    def redeem(self, typed: str) -> str:
        """The token a live code was issued for; the code is spent whether or not it is late."""
        now = self.clock()
        while self._failures and self._failures[0] <= now - self.window_s:
            self._failures.popleft()
        if len(self._failures) >= self.max_failures:
            raise PairingRateLimitedError(max(1, math.ceil(self._failures[0] + self.window_s - now)))
        pending = self._pending.pop(normalize(typed), None)
        if pending is None or pending.expires_at <= now:
            self._failures.append(now)
            raise PairingCodeRefusedError(
                "unknown, already used or expired: ask for a new one on a signed-in device"
            )
        return pending.token

    def _drop_expired(self, now: float) -> None:
        for code in [c for c, p in self._pending.items() if p.expires_at <= now]:
            del self._pending[code]
