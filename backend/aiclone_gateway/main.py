"""Builds the gateway's FastAPI application."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from aiclone_gateway import __version__
from aiclone_gateway.api import (
    agent_link,
    auth,
    chat,
    conversations,
    credentials,
    lan_tokens,
    memories,
    public_chat,
    status,
    telegram_webhook,
    users,
)
from aiclone_gateway.api.deps import GatewayParts
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.errors import register_exception_handlers
from aiclone_gateway.core.log_redaction import redact_tickets
from aiclone_gateway.openai_api import router as openai_router
from aiclone_gateway.runtime import GatewayRuntime
from aiclone_wire.body_limit import BodyLimitMiddleware
from aiclone_wire.startup import startup_phase

CHAT_SOCKET_PATH = "/ws/chat"


class GatewayApp(FastAPI):
    """The gateway's FastAPI app, which serves ``/ws/chat`` itself, ahead of routing.

    A chat socket may sit idle for hours, and tens of thousands may be open: through FastAPI's
    middleware, routing and dependency injection each one kept about 28 suspended coroutines and
    3 exit stacks for its whole life. Served here it keeps its handler's few frames. The middleware
    it skips has no work for a socket (body limits, HTTP error pages, exception telemetry), and the
    handler checks its own ticket and Origin (``api.chat.chat_socket``)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == CHAT_SOCKET_PATH:
            scope["app"] = self
            await chat.chat_socket(WebSocket(scope, receive, send), self.state.runtime)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings) -> FastAPI:
    """The app; its lifespan builds the runtime (the schema must be migrated already)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        redact_tickets("uvicorn.error", "uvicorn.access")
        with startup_phase("runtime"):
            runtime = GatewayRuntime.build(settings)
            app.state.runtime = _routes_view(runtime)
            await runtime.start()
        try:
            yield
        finally:
            await runtime.close()

    app = GatewayApp(title="AI Clone gateway", version=__version__, lifespan=lifespan)
    register_exception_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        default_limit=settings.max_body_bytes,
        limits={"/api/auth/": settings.max_auth_body_bytes},
    )
    for module in (
        status,
        auth,
        users,
        credentials,
        lan_tokens,
        memories,
        conversations,
        chat,
        agent_link,
        telegram_webhook,
    ):
        app.include_router(module.router)
    app.include_router(openai_router.router)
    app.include_router(public_chat.router)  # last: its catch-all GET serves the chat app's pages
    return app


def _routes_view(runtime: GatewayRuntime) -> GatewayParts:
    """The runtime as the routes see it (mypy checks it has every part ``api/deps.py`` promises)."""
    return runtime
