"""The direct path's dial rules, shared by the agent (what it may advertise) and the gateway (what it
will dial): one place decides what a direct address is and how the listener's certificate is named.

The agent's direct listener speaks TLS with its own self-signed certificate. The agent announces the
certificate's SHA-256 fingerprint (of the DER bytes) in its hello over the relay link, which its
agent token already authenticates over TLS; the gateway dials ``wss://host:port`` + ``DIRECT_PATH``
and trusts the peer only when its certificate has that fingerprint (pinning, as Tailscale pins its
peers' keys: no certificate authority is involved). An advertised address is ``wss://host:port``
and nothing more: the path is the gateway's own, so a query, fragment, credentials or another path
can never steer what the gateway asks for.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiclone_wire.messages import DIRECT_PATH

# A SHA-256 fingerprint as announced: 64 lowercase hex digits (no colons).
FINGERPRINT_PATTERN = r"^[0-9a-f]{64}$"
# The first frame on a direct socket (agent -> gateway) carries a fresh nonce of this many bytes,
# base64url-encoded; the gateway signs it into its proof (the ``nonce`` claim).
DIRECT_NONCE_BYTES = 32


class DirectAddressError(ValueError):
    """An advertised direct address that is not exactly ``wss://host:port``; the message says why."""


@dataclass(frozen=True)
class DirectAddress:
    host: str
    port: int

    @property
    def url(self) -> str:
        """What the gateway dials: always ``wss://`` and always its own fixed path."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"wss://{host}:{self.port}{DIRECT_PATH}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"wss://{host}:{self.port}"


def parse_direct_address(advertised: str) -> DirectAddress:
    """``wss://host:port`` (a trailing ``/`` allowed) -> its host and port; anything else is refused."""
    text = advertised.strip()
    if any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        raise DirectAddressError("the address holds whitespace or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise DirectAddressError(f"not a URL: {exc}") from None
    if parts.scheme != "wss":
        raise DirectAddressError("must be wss://host:port (the direct listener speaks TLS)")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise DirectAddressError("must not carry credentials")
    if parts.path not in ("", "/") or parts.query or parts.fragment or text.endswith(("?", "#")):
        raise DirectAddressError("must be wss://host:port with no path, query or fragment")
    if not parts.hostname or port is None:
        raise DirectAddressError("must name a host and a port")
    if not 1 <= port <= 65_535:
        raise DirectAddressError("the port must be 1-65535")
    if not re.fullmatch(r"[A-Za-z0-9.:\-]+", parts.hostname):
        raise DirectAddressError("the host must be a DNS name or an IP address")
    return DirectAddress(parts.hostname.lower(), port)


def certificate_fingerprint(der: bytes) -> str:
    """The SHA-256 of a certificate's DER bytes, as the agent announces it."""
    return hashlib.sha256(der).hexdigest()
