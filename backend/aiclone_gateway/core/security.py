"""Secrets at rest: argon2id password hashes and peppered hashes of high-entropy tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import anyio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class PasswordHashing:
    """argon2id (argon2-cffi's RFC 9106 defaults); hashing runs in a worker thread.

    One hash at a time (each already uses ``parallelism`` = 4 threads and 64 MiB): a burst of
    sign-ups or logins waits its turn instead of filling every worker thread with hashing, which
    on a small VDS starved the event loop until chats and database checkouts timed out
    (bench/load/run.py: 200 users signing up on 2 cores).
    """

    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        self._one_at_a_time = anyio.CapacityLimiter(1)

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password, limiter=self._one_at_a_time)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant work whether or not the user exists (``password_hash`` None checks a dummy)."""

        def check() -> bool:
            try:
                return (
                    self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
                )
            except (VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check, limiter=self._one_at_a_time)


class TokenHashing:
    """HMAC-SHA256 of random tokens (agent tokens, API keys) under the gateway's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode()

    def digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def new_token(prefix: str) -> str:
        return f"{prefix}{secrets.token_urlsafe(32)}"
