"""The bot's one aiogram router: its handlers are the commands, each returning the replies to send.

Polling (aiogram on the agent) and webhook delivery (the gateway relays each message over the link,
``telegram/relayed.py``) feed their updates to a dispatcher holding this router, so a message is
parsed once, by aiogram's filters. A handler returns its replies in order; the polling dispatcher
sends them (``middlewares.SendReplies``), the relay sends them back to the gateway. What the clone
says is the ``TelegramResponder``'s (injected by name as ``telegram_responder``).

Handlers are tried in order: a user outside the allowlist is answered before anything else; a
command names its bot or not (``/start@any_bot`` is ``/start``: every update this bot gets is for it).
"""

from __future__ import annotations

import re

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from aiclone_agent.telegram.responder import TelegramResponder

ANY_COMMAND = re.compile(r".*")  # any other command, even a bare "/"


def _author(message: Message) -> int | None:
    """Who wrote the message (in a group: the author, not the chat): whose memories it touches."""
    return message.from_user.id if message.from_user else None


async def _not_allowed(message: Message, telegram_responder: TelegramResponder) -> bool:
    return not telegram_responder.allows(message.from_user.id if message.from_user else None)


def build_router() -> Router:
    """A fresh router (aiogram attaches a router to one dispatcher only)."""
    router = Router(name="telegram")

    @router.message(_not_allowed)
    async def not_allowed(message: Message, telegram_responder: TelegramResponder) -> list[str]:
        return telegram_responder.not_allowed()

    @router.message(F.text, CommandStart(ignore_case=True, ignore_mention=True))
    async def start(message: Message, telegram_responder: TelegramResponder) -> list[str]:
        return telegram_responder.greeting()

    @router.message(F.text, Command("help", ignore_case=True, ignore_mention=True))
    async def help_(message: Message, telegram_responder: TelegramResponder) -> list[str]:
        return telegram_responder.help()

    @router.message(F.text, Command("reset", ignore_case=True, ignore_mention=True))
    async def reset(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> list[str]:
        return await telegram_responder.reset(bot.id, message.chat.id)

    @router.message(F.text, Command("memory", ignore_case=True, ignore_mention=True))
    async def memory(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> list[str]:
        return await telegram_responder.memories(bot.id, _author(message))

    @router.message(F.text, Command("forget", ignore_case=True, ignore_mention=True))
    async def forget(
        message: Message, bot: Bot, command: CommandObject, telegram_responder: TelegramResponder
    ) -> list[str]:
        return await telegram_responder.forget(bot.id, _author(message), (command.args or "").split())

    @router.message(F.text, Command(ANY_COMMAND, ignore_mention=True))
    async def unknown(
        message: Message, command: CommandObject, telegram_responder: TelegramResponder
    ) -> list[str]:
        return telegram_responder.unknown_command(f"{command.prefix}{command.command}")

    @router.message(F.text.func(str.strip))
    async def chat(message: Message, bot: Bot, telegram_responder: TelegramResponder) -> list[str]:
        return await telegram_responder.answer(
            bot.id, message.chat.id, (message.text or "").strip(), _author(message)
        )

    @router.message()
    async def not_text(message: Message, telegram_responder: TelegramResponder) -> list[str]:
        return telegram_responder.text_only()

    return router
