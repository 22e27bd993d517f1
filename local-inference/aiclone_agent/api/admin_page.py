"""``GET /`` and the admin panel's routes: the built Vue panel (``frontend/dist/admin``) when it is
there, else the small built-in page with a note on how to build the full one."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from aiclone_agent.core.config import REPO_ROOT
from aiclone_agent.core.errors import ApiError

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
FALLBACK_PAGE = Path(__file__).resolve().parent.parent / "static" / "admin.html"
BUILT_PANEL = REPO_ROOT / "frontend" / "dist" / "admin"
BUILD_HINT = "The full admin panel is not built: run ./scripts/build_frontend.sh and reload."
# Paths the SPA fallback never answers: they belong to the API (a 404 there stays a JSON 404).
RESERVED_PREFIXES = ("api/", "v1/", "ws/", "metrics", "healthz", "docs", "openapi.json")


@lru_cache(maxsize=1)
def _fallback_html() -> str:
    log.warning("admin panel: %s (showing the built-in page)", BUILD_HINT)
    banner = f'<p style="background:#fff4d6;padding:8px 12px;border-radius:6px">{BUILD_HINT}</p>'
    return FALLBACK_PAGE.read_text(encoding="utf-8").replace("<main>", f"<main>\n  {banner}", 1)


def _built_file(path: str) -> Path | None:
    index = BUILT_PANEL / "index.html"
    if not index.is_file():
        return None
    candidate = (BUILT_PANEL / path).resolve()
    if path and candidate.is_file() and candidate.is_relative_to(BUILT_PANEL.resolve()):
        return candidate
    return index


@router.get("/")
@router.get("/{path:path}")
async def admin_page(path: str = ""):
    if path.startswith(RESERVED_PREFIXES):
        raise ApiError(404, f"no route GET /{path}", code="not_found")
    built = _built_file(path)
    if built is None:
        if path:
            raise ApiError(404, f"no route GET /{path}", code="not_found")
        return HTMLResponse(_fallback_html())
    if built.name == "index.html":
        return FileResponse(built, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
    # Hashed assets never change under the same name.
    cache = "public, max-age=31536000, immutable" if built.parent.name == "assets" else "no-cache"
    return FileResponse(built, headers={"Cache-Control": cache})
