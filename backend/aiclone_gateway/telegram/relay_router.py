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
    async def relay(message: Message, bot: Bot, telegram_delivery: TelegramDelivery) -> None:
        await telegram_delivery.relay_message(
            str(bot.id),
            message.chat.id,
            message.from_user.id if message.from_user else None,
            message.text or "",
        )

    return router
