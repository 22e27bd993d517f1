"""The admin password: kept as a scrypt hash in ``admin_panel.password_hash``, checked per request.

Without it the admin answers this PC only; with it, the owner may open ``admin_panel.host`` to the
network and every admin request must carry it (HTTP Basic: the browser asks once and resends it,
so the admin app needs no login screen). Checking a password costs a scrypt run (tens of ms), so
the last ``Authorization`` value that checked out is remembered (as its SHA-256) and compared in
constant time; any other value pays the full scrypt, in a worker thread (never on the event loop),
at most ``CONCURRENT_CHECKS`` at a time, so guessing is slow and cannot stall the agent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import os
import threading

SCHEME = "scrypt"
# scrypt cost (N, r, p): about 16 MiB and ~50 ms per check on a desktop CPU
N, R, P = 1 << 14, 8, 1
MIN_PASSWORD_CHARS = 8
CONCURRENT_CHECKS = 2


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (salt and hash in base64)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"the admin password must have at least {MIN_PASSWORD_CHARS} characters")
    salt = os.urandom(16)
    digest = _scrypt(password, salt, N, R, P)
    return "$".join((SCHEME, str(N), str(R), str(P), _b64(salt), _b64(digest)))


def check_hash_format(value: str) -> str:
    """``value`` when empty or a hash ``hash_password`` wrote; ``ValueError`` otherwise."""
    if value:
        _parse(value)
    return value


def verify_password(password: str, stored: str) -> bool:
    n, r, p, salt, expected = _parse(stored)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p), expected)


class BasicAuthChecker:
    """HTTP Basic credentials against the stored hash (any user name; the password is what counts)."""

    def __init__(self, stored: str) -> None:
        _parse(stored)
        self._stored = stored
        self._good: bytes | None = None  # SHA-256 of the last Authorization value that checked out
        self._lock = threading.Lock()
        self._checks = asyncio.Semaphore(CONCURRENT_CHECKS)

    async def allows(self, authorization: str | None) -> bool:
        if not authorization:
            return False
        seen = hashlib.sha256(authorization.encode("latin-1", "replace")).digest()
        with self._lock:
            good = self._good
        if good is not None and hmac.compare_digest(seen, good):
            return True
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, colon, password = decoded.partition(":")
        if not colon:
            return False
        async with self._checks:
            if not await asyncio.to_thread(verify_password, password, self._stored):
                return False
        with self._lock:
            self._good = seen
        return True


def _parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(
            "admin_panel.password_hash is not a hash this agent wrote: set it with "
            "`python -m aiclone_agent admin-password`"
        )
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error) as exc:
        raise ValueError(
            "admin_panel.password_hash is damaged: set it again with `python -m aiclone_agent admin-password`"
        ) from exc
    if not (
        2 <= n <= 1 << 20
        and n & (n - 1) == 0
        and 1 <= r <= 32
        and 1 <= p <= 16
        and salt
        and len(digest) == 32
    ):
        raise ValueError("admin_panel.password_hash has parameters out of range: set it again")
    return n, r, p, salt, digest


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
