"""Telegram tables: registered bots (token sealed), seen update ids, questions waiting for the agent."""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aiclone_gateway.models import Base


class TelegramBot(Base):
    __tablename__ = "telegram_bots"
    bot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_sealed: Mapped[str] = mapped_column(Text)
    secret_token: Mapped[str] = mapped_column(String(128))
    api_url: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[float] = mapped_column(Float, default=time.time)


class TelegramSeenUpdate(Base):
    __tablename__ = "telegram_seen_updates"
    __table_args__ = (UniqueConstraint("bot_id", "update_id", name="uq_telegram_update"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(String(32))
    update_id: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[float] = mapped_column(Float, default=time.time)


class TelegramPending(Base):
    """A message that arrived while the agent was away; answered in order when it returns."""

    __tablename__ = "telegram_pending"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(String(32), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
