"""``POST /telegram/webhook/{bot_id}``: Telegram's deliveries for the clone's bots."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aiclone_gateway.api.deps import RuntimeDep
from aiclone_gateway.core.errors import ApiError

router = APIRouter(tags=["telegram"])
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@router.post("/telegram/webhook/{bot_id}", include_in_schema=False)
async def telegram_webhook(bot_id: str, request: Request, runtime: RuntimeDep) -> JSONResponse:
    delivery = runtime.telegram
    # The secret is checked before the body is even read.
    if not await delivery.verify(bot_id, request.headers.get(SECRET_HEADER)):
        runtime.metrics.auth_failures.labels("telegram_webhook").inc()
        raise ApiError(403, "wrong or missing secret token", code="forbidden")
    try:
        update = json.loads(await request.body())
        int(update["update_id"])
        question_id = await delivery.accept(bot_id, update)  # stored before it is acknowledged
    except (ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "not a Telegram update", code="bad_update") from exc
    if question_id is not None:
        delivery.handle_later(bot_id, update, question_id)
    return JSONResponse({"ok": True})
