"""The pairing string: what the gateway writes, the agent reads back exactly; anything else is
refused with the reason."""

from __future__ import annotations

import pytest

from aiclone_wire.pairing import Pairing, pairing_string, parse_pairing


def test_the_gateway_url_and_token_round_trip_through_one_line():
    url, token = "https://clone.example.com/base?x=1&y=2", "agt_AbC-123_xyz"
    line = pairing_string(url, token)
    assert line.startswith("aiclone://pair?gateway=https%3A%2F%2Fclone.example.com")
    assert " " not in line and "\n" not in line
    assert parse_pairing(f"  {line}\n") == Pairing(url, token)  # pasted with stray whitespace


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("agt_only_a_token", "aiclone://pair"),
        ("aiclone://other?gateway=https%3A%2F%2Fa&token=t", "aiclone://pair"),
        ("aiclone://pair?token=t", "one gateway= and one token="),
        ("aiclone://pair?gateway=https%3A%2F%2Fa&token=t&token=u", "one gateway= and one token="),
        ("aiclone://pair?gateway=javascript%3Aalert(1)&token=t", "http(s)://"),
    ],
)
def test_anything_else_is_refused_with_the_reason(text, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_pairing(text)
