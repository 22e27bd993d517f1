"""/start (greeting with the clone's name) and /help."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from aiclone_agent.telegram.responder import TelegramResponder
from aiclone_agent.telegram.routers.replying import reply_to


def build_router() -> Router:
    router = Router(name="start")

    @router.message(CommandStart())
    @router.message(Command("help"))
    async def start_or_help(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> None:
        await reply_to(message, bot, telegram_responder)

    return router
