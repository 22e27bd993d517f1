"""``/api/messengers/telegram``: the clone's Telegram bot, switched on and off live."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

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
    last_error: str | None  # the library's words, for the log; the admin shows last_error_code
    last_error_code: str | None
    api_url: str
    allowed_user_ids: list[int]


READ_ONLY: JsonDict = {"readOnly": True}


class BotIn(BaseModel):
    """One bot as GET shows it; only the token is written (the id and link come from the token)."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(
        min_length=1, max_length=256, description="from @BotFather; a masked token keeps the bot as is"
    )
    bot_id: str | None = Field(default=None, max_length=32, json_schema_extra=READ_ONLY)
    linked_clone_id: str | None = Field(default=None, max_length=64, json_schema_extra=READ_ONLY)


class TelegramUpdate(BaseModel):
    """What GET returns is accepted back: delivery, status and last_error are state (ignored);
    api_url is set in config.yaml, so it may only repeat the current value."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool
    bots: list[BotIn] = Field(default_factory=list, max_length=10)
    allowed_user_ids: list[int] | None = Field(
        default=None, max_length=1000, description="empty list: everyone"
    )
    delivery: Literal["webhook", "polling"] | None = Field(default=None, json_schema_extra=READ_ONLY)
    status: str | None = Field(default=None, max_length=200, json_schema_extra=READ_ONLY)
    last_error: str | None = Field(default=None, max_length=4000, json_schema_extra=READ_ONLY)
    last_error_code: str | None = Field(default=None, max_length=64, json_schema_extra=READ_ONLY)
    api_url: str | None = Field(default=None, max_length=2048, json_schema_extra=READ_ONLY)


def _view(service: TelegramService) -> TelegramOut:
    settings = service.settings
    return TelegramOut(
        enabled=settings.enabled,
        bots=[
            BotOut(bot_id=b.bot_id, token=mask_secret(b.token), linked_clone_id=b.linked_clone_id)
            for b in settings.bots
        ],
        delivery=service.delivery,
        status=service.status,
        last_error=service.last_error,
        last_error_code=service.last_error_code,
        api_url=settings.api_url,
        allowed_user_ids=settings.allowed_user_ids,
    )


@router.get("")
async def get_telegram(service: TelegramDep) -> TelegramOut:
    return _view(service)


@router.put("")
async def put_telegram(body: TelegramUpdate, service: TelegramDep) -> TelegramOut:
    settings = service.settings
    if body.api_url is not None and body.api_url != settings.api_url:
        raise ApiError(
            400,
            "api_url is set in config.yaml (messengers.telegram.api_url), not here",
            code="read_only",
            param="api_url",
        )
    tokens = [None if MASK in bot.token else bot.token.strip() for bot in body.bots]
    for index, (bot, token) in enumerate(zip(body.bots, tokens, strict=True)):
        kept = settings.bots[index] if token is None and index < len(settings.bots) else None
        if kept is not None and bot.bot_id is not None and bot.bot_id != kept.bot_id:
            raise ApiError(
                400,
                f"bots[{index}] is bot {kept.bot_id}, not {bot.bot_id}: send its full token to replace it",
                code="telegram_config",
                param="bots",
            )
    try:
        await service.configure(body.enabled, tokens, body.allowed_user_ids)
    except TelegramConfigError as exc:
        raise ApiError(400, str(exc), code=exc.code, param="bots", params=exc.params) from exc
    return _view(service)
