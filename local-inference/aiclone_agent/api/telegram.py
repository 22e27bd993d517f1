"""``/api/messengers/telegram``: the clone's Telegram bot, switched on and off live."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.core.errors import ApiError
from aiclone_agent.core.log_redaction import MASK, mask_secret
from aiclone_agent.telegram.service import TelegramConfigError, TelegramService

router = APIRouter(prefix="/api/messengers/telegram", tags=["telegram"])


def _service(request: Request) -> TelegramService:
    return request.app.state.runtime.telegram


TelegramDep = Annotated[TelegramService, Depends(_service)]


class BotOut(BaseModel):
    bot_id: str
    token: str
    linked_clone_id: str


class TelegramOut(BaseModel):
    enabled: bool
    bots: list[BotOut]
    delivery: Literal["webhook", "polling"]
    status: str
    last_error: str | None
    api_url: str
    allowed_user_ids: list[int]


class BotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=256, description="from @BotFather; a masked token keeps the bot as is")


class TelegramUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool
    bots: list[BotIn] = Field(default_factory=list, max_length=10)
    allowed_user_ids: list[int] | None = Field(default=None, max_length=1000, description="empty list: everyone")


def _view(service: TelegramService) -> TelegramOut:
    settings = service.settings
    return TelegramOut(
        enabled=settings.enabled,
        bots=[BotOut(bot_id=b.bot_id, token=mask_secret(b.token), linked_clone_id=b.linked_clone_id) for b in settings.bots],
        delivery=service.delivery,
        status=service.status,
        last_error=service.last_error,
        api_url=settings.api_url,
        allowed_user_ids=settings.allowed_user_ids,
    )


@router.get("")
async def get_telegram(service: TelegramDep) -> TelegramOut:
    return _view(service)


@router.put("")
async def put_telegram(body: TelegramUpdate, service: TelegramDep) -> TelegramOut:
    tokens = [None if MASK in bot.token else bot.token.strip() for bot in body.bots]
    try:
        await service.configure(body.enabled, tokens, body.allowed_user_ids)
    except TelegramConfigError as exc:
        raise ApiError(400, str(exc), code="telegram_config", param="bots") from exc
    return _view(service)
