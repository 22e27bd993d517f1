"""Everything else: answered by the clone with this chat's history (the allowlist applies)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import Message

from aiclone_agent.telegram.responder import TelegramResponder
from aiclone_agent.telegram.routers.replying import reply_to


def build_router() -> Router:
    router = Router(name="chat")

    @router.message()
    async def chat(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> None:
        await reply_to(message, bot, telegram_responder)

    return router
