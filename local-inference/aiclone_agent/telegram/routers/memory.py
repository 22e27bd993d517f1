"""/memory (what the clone remembers about the author) and /forget (erase it, after "/forget yes")."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message

from aiclone_agent.telegram.responder import TelegramResponder
from aiclone_agent.telegram.routers.replying import reply_to


def build_router() -> Router:
    router = Router(name="memory")

    @router.message(Command("memory", "forget"))
    async def memory(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> None:
        await reply_to(message, bot, telegram_responder)

    return router
