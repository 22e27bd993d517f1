"""Everything of aiogram the gateway uses, in one module imported only when a bot is served.

aiogram (its pydantic types) takes about 3 s to import; a gateway that serves no bot never pays
it (``TelegramDelivery`` imports this module on first use). The router's one handler is the
callback it is given, so the router knows nothing of the delivery that feeds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import Message

__all__ = ["Bot", "TelegramAPIError", "TelegramNetworkError", "build_dispatcher", "make_bot"]

RelayMessage = Callable[[str, "int | None"], Awaitable[None]]


def make_bot(token: str, api_url: str) -> Bot:
    return Bot(
        token,
        session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
        default=DefaultBotProperties(parse_mode=None),
    )


def build_dispatcher(relay_message: RelayMessage) -> Dispatcher:
    """A dispatcher whose one router sends every message of a webhook update to ``relay_message``
    (the bot's id and the id of the question the webhook stored)."""
    router = Router(name="relay")

    @router.message()
    async def relay(message: Message, bot: Bot, question_id: int | None) -> None:
        # The webhook stored the message (chat, sender, text) before acknowledging it; the
        # stored copy is what gets answered, here or after a restart.
        await relay_message(str(bot.id), question_id)

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher
