"""Hands a polled message to the responder and sends its replies as plain text, typing meanwhile."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender

from aiclone_agent.telegram.responder import IncomingMessage, TelegramResponder


async def reply_to(message: Message, bot: Bot, responder: TelegramResponder) -> None:
    incoming = IncomingMessage(
        bot_id=bot.id,
        chat_id=message.chat.id,
        user_id=message.from_user.id if message.from_user else None,
        text=message.text,
    )
    async with ChatActionSender.typing(bot=bot, chat_id=message.chat.id, interval=4.0):
        replies = await responder.respond(incoming)
    for text in replies:
        await message.answer(text, parse_mode=None)
