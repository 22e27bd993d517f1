"""Every message (commands included) goes to the responder; replies go out as plain text."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender

from aiclone_agent.telegram.responder import IncomingMessage, TelegramResponder


def build_router() -> Router:
    router = Router(name="messages")

    @router.message()
    async def on_message(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> None:
        incoming = IncomingMessage(
            bot_id=bot.id,
            chat_id=message.chat.id,
            user_id=message.from_user.id if message.from_user else None,
            text=message.text,
        )
        async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id, interval=4.0):
            replies = await telegram_responder.respond(incoming)
        for reply in replies:
            await message.answer(reply, parse_mode=None)

    return router
