"""The LAN listener's own FastAPI app: the OpenAI API, the LAN chat and its page. Nothing of the
admin app is mounted here, so every admin route is a 404 on the LAN; every route but the page
needs a LAN token (``lan.deps``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse

from aiclone_agent import __version__
from aiclone_agent.core.errors import register_exception_handlers
from aiclone_agent.lan import router as lan_router
from aiclone_agent.lan.deps import RequireLanUser
from aiclone_agent.openai_api.router import build_router
from aiclone_wire.body_limit import BodyLimitMiddleware

if TYPE_CHECKING:
    from aiclone_agent.runtime import AgentRuntime

PAGE = Path(__file__).resolve().parent.parent / "static" / "lan.html"
page_router = APIRouter(include_in_schema=False)


@page_router.get("/")
async def chat_page() -> HTMLResponse:
    """The LAN chat page (paste your LAN token once; it stays in this browser)."""
    return HTMLResponse(
        PAGE.read_text(encoding="utf-8"),
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        },
    )


def create_lan_app(runtime: AgentRuntime) -> FastAPI:
    app = FastAPI(
        title="AI Clone on the LAN", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.runtime = runtime
    register_exception_handlers(app)
    app.include_router(build_router("lan", dependencies=[RequireLanUser]))
    app.include_router(lan_router.router)
    app.include_router(page_router)
    app.add_middleware(BodyLimitMiddleware, default_limit=runtime.config.current.limits.max_request_bytes)
    return app
