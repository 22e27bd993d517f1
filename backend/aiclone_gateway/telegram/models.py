"""Telegram tables: registered bots (token sealed), seen update ids, questions waiting to be answered
and the replies of their answers (each sent once)."""

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
    """A message stored before its update was acknowledged; deleted once its answer went out.

    ``replica``: the gateway replica answering it now (its claim); None while nobody is (the agent
    was away, or the replica that claimed it died and its restart gave the claim back)."""

    __tablename__ = "telegram_pending"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(String(32), index=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    replica: Mapped[str | None] = mapped_column(String(128), nullable=True)


class TelegramReply(Base):
    """One reply of a stored question's answer, kept until the whole answer went out.

    ``state``: ``pending`` (not sent yet), ``sending`` (stored before sendMessage was called: it may
    or may not have reached the chat, so it is never sent again), ``sent`` (with the ``message_id``
    the Bot API gave it) or ``failed`` (the Bot API refused it: it reached nobody)."""

    __tablename__ = "telegram_replies"
    __table_args__ = (UniqueConstraint("question_id", "position", name="uq_telegram_reply"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question_id: Mapped[int] = mapped_column(Integer, index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
