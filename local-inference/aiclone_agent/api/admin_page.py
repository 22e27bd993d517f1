"""``GET /``: the small built-in admin page (persona + test chat)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).resolve().parent.parent / "static" / "admin.html"


@router.get("/")
async def admin_page() -> FileResponse:
    return FileResponse(PAGE, media_type="text/html; charset=utf-8")
