"""Dispatcher middlewares for polling: each update is handled once, and recorded only after it was
answered; a handler's replies are sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import Message, TelegramObject, Update
from aiogram.utils.chat_action import ChatActionSender

from aiclone_agent.telegram.store import TelegramStore

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class HandleOnce(BaseMiddleware):
    """Skips updates already handled (a redelivery after a restart or a webhook<->polling switch);
    records an update only after its handler finished, so none is lost."""

    def __init__(self, store: TelegramStore) -> None:
        self.store = store

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        if await self.store.is_handled(bot.id, event.update_id):
            return None
        result = await handler(event, data)
        await self.store.mark_handled(bot.id, event.update_id)
        return result


class SendReplies(BaseMiddleware):
    """Polling only: sends the replies a command handler returned, as plain text, in order, showing
    "typing" while the handler works (the relay sends them back to the gateway instead)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Message)
        bot: Bot = data["bot"]
        async with ChatActionSender.typing(bot=bot, chat_id=event.chat.id, interval=4.0):
            replies = await handler(event, data)
        for text in replies or ():
            await event.answer(text, parse_mode=None)
        return replies
