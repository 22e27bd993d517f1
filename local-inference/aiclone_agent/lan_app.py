"""The LAN listener's own FastAPI app: the OpenAI API, the LAN chat and its page. Nothing of the
admin app is mounted here, so every admin route is a 404 on the LAN; every route but the page
and the one-time pairing code's exchange (``/api/lan/pair``) needs a LAN token."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse

from aiclone_agent import __version__
from aiclone_agent.api import lan as lan_router
from aiclone_agent.api.deps import RequireLanUser, lan_person
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.chat.service import ChatService
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.core.errors import register_exception_handlers
from aiclone_agent.lan.pairing import PairingCodes
from aiclone_agent.lan.tokens import LanTokens
from aiclone_agent.openai_api.router import build_router
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire.body_limit import BodyLimitMiddleware

PAGE = Path(__file__).resolve().parent / "static" / "lan.html"
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


@dataclass(frozen=True)
class LanServices:
    """What the LAN app's routes use (``api.deps`` reads them from ``app.state.runtime``): the
    runtime's own objects, and nothing an admin route needs."""

    config: ConfigStore
    chat: ChatService
    memory: ChatMemory
    store: ConversationStore
    openai: OpenAIServingChat
    lan_tokens: LanTokens
    pairing: PairingCodes


def create_lan_app(services: LanServices) -> FastAPI:
    app = FastAPI(
        title="AI Clone on the LAN", version=__version__, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.runtime = services
    register_exception_handlers(app)
    app.include_router(build_router("lan", dependencies=[RequireLanUser], person=lan_person))
    app.include_router(lan_router.router)
    app.include_router(page_router)
    app.add_middleware(BodyLimitMiddleware, default_limit=services.config.current.limits.max_request_bytes)
    return app
