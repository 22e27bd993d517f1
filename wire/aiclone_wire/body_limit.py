"""Request bodies over their route's limit are refused with 413 before they are read (both programs).

A pure ASGI middleware: a declared ``Content-Length`` over the limit is answered at once; a body
without one (chunked) is counted as it arrives and refused the moment it passes the limit, so a
huge body never sits in memory. Inside the app the refusal is an ``HTTPException`` (FastAPI
re-raises those while it reads a body), so the one error handler gives it the usual JSON shape.
A body up to ``DRAIN_LIMIT_BYTES`` is read to its end (and dropped) before the 413, so ordinary
clients, which finish sending before they read, see the answer instead of a reset connection;
anything bigger is answered at once. The 413 closes the connection (what is left of a refused body
must not be read as the next request). A WebSocket handshake that declares a body over the limit is
closed (1008) before the app sees it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiclone_wire.errors import error_body

DRAIN_LIMIT_BYTES = 24 * 1024 * 1024
# A request whose own limit nobody set (the agent's and the gateway's settings both default to it).
DEFAULT_LIMIT_BYTES = 2_000_000


class BodyTooLargeError(HTTPException):
    code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, default_limit: int = DEFAULT_LIMIT_BYTES, limits: Mapping[str, int] | None = None
    ) -> None:
        """``limits``: path prefix -> its own limit (the longest matching prefix wins)."""
        self.app = app
        self.default_limit = default_limit
        self.limits = sorted((limits or {}).items(), key=lambda item: -len(item[0]))

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.default_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        await self.limited(scope, receive, send)

    async def limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app behind the limit (a middleware that checks more first calls this)."""
        limit = self.limit_for(scope.get("path", ""))
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            if scope["type"] == "http" and declared.isdigit() and int(declared) <= DRAIN_LIMIT_BYTES:
                await drain(receive, 0)
            await refuse(scope, send, BodyTooLargeError(limit))
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
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
                await drain(receive, received)
                await refuse(scope, send, exc)


async def drain(receive: Receive, received: int) -> None:
    """Read what is left of a refused body, dropping it, up to ``DRAIN_LIMIT_BYTES`` in all."""
    while received <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        received += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def refuse(scope: Scope, send: Send, exc: BodyTooLargeError) -> None:
    await send_refusal(scope, send, exc.status_code, str(exc.detail), exc.code, (b"connection", b"close"))


async def send_refusal(
    scope: Scope, send: Send, status: int, message: str, code: str, *extra_headers: tuple[bytes, bytes]
) -> None:
    """A refusal from a middleware, before the app: the error shape over HTTP, a 1008 close on a
    WebSocket handshake."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = json.dumps(error_body(status, message, code)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
