"""Admin safety: clients on this PC only (or anywhere with the admin password), only loopback Host
names (DNS rebinding), no cross-site writes (CSRF, the Origin compared with its port), and request
bodies within their route's limit.

The client's address is the TCP peer's (the ASGI scope's ``client``): nothing sits in front of
the agent, so no forwarded-for header is trusted. A ``Host: 127.0.0.1`` sent from another machine
is thus still refused. ``/healthz`` answers without the password (it says "ok" and nothing else).

A pure ASGI middleware, so it also guards streaming responses and runs before any body is read:
a declared ``Content-Length`` over the limit is refused at once, a chunked body is counted as it
arrives and refused as soon as it passes the limit (``BodyTooLargeError``, an ``HTTPException``
that FastAPI re-raises while reading a body, so it keeps the usual error shape). A body up to
``DRAIN_LIMIT_BYTES`` is read to its end (and dropped) first, so clients that finish sending
before they read see the 413 rather than a reset connection.
"""

from __future__ import annotations

import ipaddress
import json
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiclone_agent.core.admin_password import BasicAuthChecker
from aiclone_agent.core.errors import error_body

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DRAIN_LIMIT_BYTES = 24 * 1024 * 1024
OPEN_PATHS = frozenset({"/healthz"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
BASIC_CHALLENGE = (b"www-authenticate", b'Basic realm="AI Clone admin", charset="UTF-8"')


class BodyTooLargeError(HTTPException):
    code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over {limit} bytes")


def host_name(value: str) -> str:
    """``Host`` header value without its port: ``[::1]:3000`` -> ``[::1]``."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[: end + 1] if end != -1 else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def host_port(value: str, scheme: str) -> int | None:
    """``Host`` header's port, the scheme's default when it has none; None when unreadable."""
    value = value.strip()
    tail = value[value.find("]") + 1 :] if value.startswith("[") else value
    if tail.count(":") != 1:
        return DEFAULT_PORTS.get(scheme) if ":" not in tail else None
    port = tail.rsplit(":", 1)[1]
    return int(port) if port.isdigit() else None


def is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


class BodyLimitMiddleware:
    """Request bodies within their route's limit (the LAN listener uses it alone)."""

    def __init__(self, app: ASGIApp, max_body: int = 2_000_000, body_limits: dict[str, int] | None = None):
        self.app = app
        self.max_body = max_body
        self.body_limits = body_limits or {}  # path -> its own limit (file uploads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        await self._limited(scope, receive, send, _headers(scope))

    async def _limited(self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]) -> None:
        length = headers.get("content-length")
        max_body = self.body_limits.get(scope.get("path", ""), self.max_body)
        if length is not None and (not length.isdigit() or int(length) > max_body):
            if length.isdigit() and int(length) <= DRAIN_LIMIT_BYTES:
                await _drain(receive, 0)
            await _refuse(scope, send, 413, f"request body over {max_body} bytes", "request_too_large")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        await self._counting(scope, receive, send, max_body)

    async def _counting(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLargeError as exc:
            if not started:
                await _drain(receive, received)
                await _refuse(scope, send, 413, str(exc.detail), exc.code)


class LocalOnlyMiddleware(BodyLimitMiddleware):
    """The admin listener's guard. Without ``password_hash`` only loopback clients are answered;
    with it, any client that sends the password (HTTP Basic), and no request without it."""

    def __init__(
        self, app: ASGIApp, extra_hosts: frozenset[str] = frozenset(), max_body: int = 2_000_000,
        body_limits: dict[str, int] | None = None, password_hash: str = "",
    ):
        super().__init__(app, max_body, body_limits)
        self.allowed = LOOPBACK_HOSTS | {h.lower() for h in extra_hosts}
        self.password = BasicAuthChecker(password_hash) if password_hash else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        client = (scope.get("client") or ("", 0))[0]
        if self.password is None and not is_loopback(client):
            await _refuse(
                scope, send, 403,
                f"the admin answers this PC only (not {client or 'an unknown address'}): to open it to the "
                "network, set an admin password with `python -m aiclone_agent admin-password`",
                "client_not_allowed",
            )
            return
        if (
            self.password is not None
            and scope.get("path") not in OPEN_PATHS
            and not await self.password.allows(headers.get("authorization"))
        ):
            await _refuse(
                scope, send, 401, "the admin password is required", "password_required", BASIC_CHALLENGE
            )
            return
        host = host_name(headers.get("host", ""))
        if host not in self.allowed:
            await _refuse(scope, send, 403, f"host '{host}' is not allowed: the agent answers on localhost only", "host_not_allowed")
            return
        method = scope.get("method", "GET")
        if method in UNSAFE_METHODS or scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin is not None and not self._same_origin(origin, headers.get("host", ""), scope):
                await _refuse(scope, send, 403, f"cross-site request from origin '{origin}' refused", "origin_not_allowed")
                return
            if headers.get("sec-fetch-site") == "cross-site":
                await _refuse(scope, send, 403, "cross-site request refused", "origin_not_allowed")
                return
        await self._limited(scope, receive, send, headers)

    def _same_origin(self, origin: str, host: str, scope: Scope) -> bool:
        """An allowed host name on the very port the request came to (another local web server,
        on another port, is another origin)."""
        if origin == "null":
            return False
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        name = parts.hostname.lower()
        name = f"[{name}]" if ":" in name else name
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            return False
        return name in self.allowed and port == host_port(host, scope.get("scheme", "http"))


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


async def _refuse(
    scope: Scope, send: Send, status: int, message: str, code: str, *extra_headers: tuple[bytes, bytes]
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps(error_body(status, message, code)).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra_headers,
        ],
    })
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive, received: int) -> None:
    """Read what is left of a refused body, dropping it, up to ``DRAIN_LIMIT_BYTES`` in all."""
    while received <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return
