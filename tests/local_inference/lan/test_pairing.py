"""One-time pairing codes for the LAN page: good once, for their lifetime only, and guessing them
is throttled. The clock is the codes' own (injected), so expiry needs no waiting."""

from __future__ import annotations

import pytest

from aiclone_agent.lan.pairing import (
    ALPHABET,
    PairingCodeRefusedError,
    PairingCodes,
    PairingRateLimitedError,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_code_gives_its_token_once(clock):
    codes = PairingCodes(clock=clock)
    code, ttl_s = codes.issue("lan-token-1")
    assert ttl_s == 600 and len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set(ALPHABET)
    assert codes.redeem(f" {code.lower().replace('-', ' ')} ") == "lan-token-1"  # typed loosely
    with pytest.raises(PairingCodeRefusedError, match="already used"):
        codes.redeem(code)


def test_a_code_expires(clock):
    codes = PairingCodes(ttl_s=600, clock=clock)
    late, _ = codes.issue("lan-token-1")
    in_time, _ = codes.issue("lan-token-2")
    clock.now += 599
    assert codes.redeem(in_time) == "lan-token-2"
    clock.now += 1
    with pytest.raises(PairingCodeRefusedError, match="expired"):
        codes.redeem(late)


def test_guessing_is_throttled_and_the_window_passes(clock):
    codes = PairingCodes(max_failures=3, window_s=60, clock=clock)
    code, _ = codes.issue("lan-token-1")
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        with pytest.raises(PairingCodeRefusedError):
            codes.redeem(guess)
    clock.now += 20
    with pytest.raises(PairingRateLimitedError) as refused:
        codes.redeem(code)  # even the right code waits: a guesser cannot tell it from a wrong one
    assert refused.value.problem().status == 429 and refused.value.retry_after_s == 40
    clock.now += 40
    assert codes.redeem(code) == "lan-token-1"
