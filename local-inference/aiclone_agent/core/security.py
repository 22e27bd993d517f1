"""Admin safety: only loopback Host names (DNS rebinding) and no cross-site writes (CSRF).

A pure ASGI middleware, so it also guards streaming responses and runs before any body is read.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from aiclone_agent.core.errors import error_body

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def host_name(value: str) -> str:
    """``Host`` header value without its port: ``[::1]:3000`` -> ``[::1]``."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class LocalOnlyMiddleware:
    def __init__(
        self, app: ASGIApp, extra_hosts: frozenset[str] = frozenset(), max_body: int = 2_000_000,
        body_limits: dict[str, int] | None = None,
    ):
        self.app = app
        self.allowed = LOOPBACK_HOSTS | {h.lower() for h in extra_hosts}
        self.max_body = max_body
        self.body_limits = body_limits or {}  # path -> its own limit (file uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = host_name(headers.get("host", ""))
        if host not in self.allowed:
            await _refuse(scope, send, 403, f"host '{host}' is not allowed: the agent answers on localhost only", "host_not_allowed")
            return
        method = scope.get("method", "GET")
        if method in UNSAFE_METHODS or scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin is not None and not self._same_site(origin):
                await _refuse(scope, send, 403, f"cross-site request from origin '{origin}' refused", "origin_not_allowed")
                return
            if headers.get("sec-fetch-site") == "cross-site":
                await _refuse(scope, send, 403, "cross-site request refused", "origin_not_allowed")
                return
        length = headers.get("content-length")
        max_body = self.body_limits.get(scope.get("path", ""), self.max_body)
        if length is not None and length.isdigit() and int(length) > max_body:
            await _refuse(scope, send, 413, f"request body over {max_body} bytes", "request_too_large")
            return
        await self.app(scope, receive, send)

    def _same_site(self, origin: str) -> bool:
        if origin == "null":
            return False
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        name = parts.hostname.lower()
        name = f"[{name}]" if ":" in name else name
        return name in self.allowed


async def _refuse(scope: Scope, send: Send, status: int, message: str, code: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps(error_body(status, message, code)).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})
