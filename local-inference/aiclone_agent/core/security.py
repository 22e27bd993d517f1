"""Admin safety: clients on this PC only (or anywhere with the admin password), only loopback Host
names (DNS rebinding), no cross-site writes (CSRF, the Origin compared with its port), and request
bodies within their route's limit.

The client's address is the TCP peer's (the ASGI scope's ``client``): nothing sits in front of
the agent, so no forwarded-for header is trusted. A ``Host: 127.0.0.1`` sent from another machine
is thus still refused. ``/healthz`` answers without the password (it says "ok" and nothing else).

A pure ASGI middleware, so it also guards streaming responses and runs before any body is read;
the body limit itself is the one both programs use (``aiclone_wire.body_limit``), checked after
the guards above.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from aiclone_agent.core.admin_password import BasicAuthChecker
from aiclone_wire.body_limit import DEFAULT_LIMIT_BYTES, BodyLimitMiddleware, send_refusal

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OPEN_PATHS = frozenset({"/healthz"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
BASIC_CHALLENGE = (b"www-authenticate", b'Basic realm="AI Clone admin", charset="UTF-8"')


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


class LocalOnlyMiddleware(BodyLimitMiddleware):
    """The admin listener's guard. Without ``password_hash`` only loopback clients are answered;
    with it, any client that sends the password (HTTP Basic), and no request without it."""

    def __init__(
        self, app: ASGIApp, extra_hosts: frozenset[str] = frozenset(), max_body: int = DEFAULT_LIMIT_BYTES,
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
            await send_refusal(
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
            await send_refusal(
                scope, send, 401, "the admin password is required", "password_required", BASIC_CHALLENGE
            )
            return
        host = host_name(headers.get("host", ""))
        if host not in self.allowed:
            await send_refusal(scope, send, 403, f"host '{host}' is not allowed: the agent answers on localhost only", "host_not_allowed")
            return
        method = scope.get("method", "GET")
        if method in UNSAFE_METHODS or scope["type"] == "websocket":
            origin = headers.get("origin")
            if origin is not None and not self._same_origin(origin, headers.get("host", ""), scope):
                await send_refusal(scope, send, 403, f"cross-site request from origin '{origin}' refused", "origin_not_allowed")
                return
            if headers.get("sec-fetch-site") == "cross-site":
                await send_refusal(scope, send, 403, "cross-site request refused", "origin_not_allowed")
                return
        await self.limited(scope, receive, send)

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
