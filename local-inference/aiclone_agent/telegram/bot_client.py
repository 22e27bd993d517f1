"""An aiogram ``Bot`` for a token, talking to the configured Bot API server."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer


def make_bot(token: str, api_url: str) -> Bot:
    """Raises ``aiogram.utils.token.TokenValidationError`` for a malformed token."""
    server = TelegramAPIServer.from_base(api_url)
    return Bot(token, session=AiohttpSession(api=server), default=DefaultBotProperties(parse_mode=None))
