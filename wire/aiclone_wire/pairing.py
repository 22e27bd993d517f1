"""The pairing string: one line that links an agent to its gateway (issue 25). The gateway shows it
once, when the owner makes an agent token; the owner pastes it whole into the agent's admin
(Gateway page) instead of an address and a token that must match.

Format: ``aiclone://pair?gateway=<gateway URL, percent-encoded>&token=<agent token>``. A URI, so it
says what it is, survives copying through chat apps and mail in one piece, and any URL library
reads it; nothing in it is secret but the token, which the agent token already was."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

SCHEME = "aiclone"
ACTION = "pair"


class Pairing(NamedTuple):
    gateway_url: str
    agent_token: str


def pairing_string(gateway_url: str, agent_token: str) -> str:
    return f"{SCHEME}://{ACTION}?{urlencode({'gateway': gateway_url, 'token': agent_token})}"


def parse_pairing(text: str) -> Pairing:
    """The gateway address and agent token in a pairing string; ``ValueError`` says what is wrong."""
    parts = urlsplit(text.strip())
    if parts.scheme != SCHEME or parts.netloc != ACTION:
        raise ValueError(
            f"a pairing string starts with {SCHEME}://{ACTION}? (the gateway shows it with a new agent token)"
        )
    query = parse_qs(parts.query, strict_parsing=False)
    gateway = query.get("gateway", [""])
    token = query.get("token", [""])
    if len(gateway) != 1 or len(token) != 1 or not gateway[0] or not token[0]:
        raise ValueError("the pairing string needs one gateway= and one token=: copy it again whole")
    if urlsplit(gateway[0]).scheme not in {"http", "https", "ws", "wss"}:
        raise ValueError("the pairing string's gateway= is not an http(s):// or ws(s):// address")
    return Pairing(gateway[0], token[0])
