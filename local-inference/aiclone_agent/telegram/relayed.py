"""Webhook delivery's half on the agent: a message the gateway relayed goes through the same
commands' router as a polled one, and the replies come back instead of being sent.

The gateway keeps Telegram's update to itself and relays only what the clone needs
(``aiclone_wire.TelegramMessage``: bot, chat, user, text); here it becomes an aiogram ``Update``
again, fed to a dispatcher without the polling middlewares (the gateway already dropped repeats
and sends the replies). The ``Bot`` passed along is the owner's bot of that id; nothing here calls
the Bot API with it.
"""

from __future__ import annotations

import datetime

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Chat, Message, Update, User

from aiclone_agent.telegram.commands import build_router
from aiclone_agent.telegram.responder import TelegramResponder
from aiclone_wire import TelegramMessage


def relay_dispatcher(responder: TelegramResponder) -> Dispatcher:
    dispatcher = Dispatcher(telegram_responder=responder)
    dispatcher.include_router(build_router())
    return dispatcher


def as_update(message: TelegramMessage) -> Update:
    """The relayed message as the update Telegram sent (only what the handlers read is known)."""
    sender = User(id=message.user_id, is_bot=False, first_name="") if message.user_id is not None else None
    return Update(
        update_id=0,
        message=Message(
            message_id=0,
            date=datetime.datetime.now(datetime.timezone.utc),
            chat=Chat(id=message.chat_id, type="private"),
            from_user=sender,
            text=message.text or None,
        ),
    )


async def answer_relayed(dispatcher: Dispatcher, bot: Bot, message: TelegramMessage) -> list[str]:
    """The replies to a relayed message, in order."""
    replies = await dispatcher.feed_update(bot, as_update(message))
    return [] if replies is UNHANDLED or replies is None else list(replies)
