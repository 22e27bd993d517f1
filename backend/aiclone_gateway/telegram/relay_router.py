"""The gateway's aiogram router: every message of a webhook update goes to the agent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Bot, Router
from aiogram.types import Message

if TYPE_CHECKING:
    from aiclone_gateway.telegram.delivery import TelegramDelivery


def build_relay_router() -> Router:
    router = Router(name="relay")

    @router.message()
    async def relay(
        message: Message, bot: Bot, telegram_delivery: TelegramDelivery, question_id: int | None
    ) -> None:
        # The webhook stored the message (chat, sender, text) before acknowledging it; the
        # stored copy is what gets answered, here or after a restart.
        await telegram_delivery.relay_message(str(bot.id), question_id)

    return router
