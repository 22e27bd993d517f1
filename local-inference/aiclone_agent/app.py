"""Builds the agent's FastAPI application around a loaded engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from aiclone_agent import __version__
from aiclone_agent.api import (
    adapter,
    admin_page,
    channels,
    chat,
    clone,
    conversations,
    engine_settings,
    gateway,
    listeners,
    memories,
    overview,
    rag,
    status,
    telegram,
)
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.core.errors import register_exception_handlers
from aiclone_agent.core.request_metrics import RequestMetricsMiddleware
from aiclone_agent.core.security import LocalOnlyMiddleware
from aiclone_agent.engine.base import EngineClient
from aiclone_agent.openai_api import router as openai_router
from aiclone_agent.runtime import build_runtime
from aiclone_wire.startup import startup_phase


def create_app(env: EnvSettings, config: ConfigStore, engine: EngineClient) -> FastAPI:
    runtime = build_runtime(env, config, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = runtime
        runtime.redactor.install()
        runtime.adapter.begin()  # in the background: the base model serves until it is applied
        with startup_phase("telegram"):
            await runtime.telegram.start()
        runtime.gateway.start()
        with startup_phase("listeners"):
            await runtime.direct.start()
            await runtime.lan.start()
        runtime.network.start()
        with startup_phase("rag"):
            await runtime.rag.start()
        runtime.overview.start()
        try:
            yield
        finally:
            await runtime.close()

    app = FastAPI(title="AI Clone agent", version=__version__, lifespan=lifespan)
    app.state.runtime = runtime
    register_exception_handlers(app)
    for router in (
        status.router,
        overview.router,
        engine_settings.router,
        adapter.router,
        clone.router,
        channels.router,
        chat.router,
        conversations.router,
        memories.router,
        gateway.router,
        listeners.router,
        rag.router,
        telegram.router,
        openai_router.router,
        admin_page.router,
    ):
        app.include_router(router)
    app.add_middleware(RequestMetricsMiddleware, metrics=runtime.metrics)
    settings = config.current
    app.add_middleware(
        LocalOnlyMiddleware,
        extra_hosts=frozenset(settings.admin_panel.allowed_hosts),
        max_body=settings.limits.max_request_bytes,
        body_limits={"/api/rag/documents": settings.rag.max_upload_mb * 1024 * 1024 + 65_536},
        password_hash=settings.admin_panel.password_hash,
    )
    return app
