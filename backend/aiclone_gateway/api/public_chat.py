"""``GET /`` and the public chat's routes: the built Vue chat (``frontend/dist/chat``), a PWA.

Hashed assets are cached for good, ``index.html`` and the service worker never; every other
path that is not the API's answers ``index.html`` so the app's own links work on reload.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from aiclone_gateway.core.config import REPO_ROOT
from aiclone_gateway.core.errors import ApiError

router = APIRouter(include_in_schema=False)
BUILT_CHAT = REPO_ROOT / "frontend" / "dist" / "chat"
RESERVED_PREFIXES = ("api/", "ws/", "v1/", "agent/", "telegram/", ".well-known/", "metrics", "healthz", "docs", "openapi.json")
NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>AI Clone</title>"
    "<p>The chat page is not built yet: run <code>./scripts/build_frontend.sh</code> on the server "
    "and reload. The API (<code>/api</code>, <code>/v1</code>) works meanwhile.</p>"
)


@router.get("/")
@router.get("/{path:path}")
async def public_chat(path: str = ""):
    if path.startswith(RESERVED_PREFIXES):
        raise ApiError(404, f"no route GET /{path}", code="not_found")
    index = BUILT_CHAT / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503 if path else 200)
    candidate = (BUILT_CHAT / path).resolve()
    if not (path and candidate.is_file() and candidate.is_relative_to(BUILT_CHAT.resolve())):
        return FileResponse(index, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})
    immutable = candidate.parent.name == "assets"
    return FileResponse(candidate, headers={"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"})
