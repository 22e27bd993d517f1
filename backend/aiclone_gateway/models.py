"""The gateway's tables (SQLAlchemy 2 typed declarative). Times are Unix seconds (float)."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="user")  # owner | user
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class GatewayState(Base):
    """One row (id 1): who owns the gateway and who may sign up (open | invite | closed)."""

    __tablename__ = "gateway_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    registration_mode: Mapped[str] = mapped_column(String(16), default="open")


class Invite(Base):
    """A single-use sign-up link the owner made (only its code's hash is stored)."""

    __tablename__ = "invites"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    used_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class RefreshToken(Base):
    """One issued refresh token (its JWT ``jti``); rotation chains stay in one family."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[float] = mapped_column(Float)
    used_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class AgentToken(Base):
    __tablename__ = "agent_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(120))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class LanToken(Base):
    """A LAN token a user took for the agent's LAN listener (its JWT ``jti``; the token itself is
    not stored). A revoked one travels to the agent until it expires (``LanRevocations``); blocking
    or deleting the account revokes them all."""

    __tablename__ = "lan_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # NULL once the account is deleted: the revoked row stays until it expires, so the agent still
    # hears that the token is dead
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    expires_at: Mapped[float] = mapped_column(Float)
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Conversation(Base):
    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
    updated_at: Mapped[float] = mapped_column(Float, default=time.time)


class Message(Base):
    """A chat message. Assistant messages start ``pending``; ``queued`` ones wait for the agent."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_queue", "queued", "status", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="done")  # done | pending | error
    queued: Mapped[bool] = mapped_column(Boolean, default=False)
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # JSON list of the knowledge-base chunks the answer cites (see aiclone_wire.End.sources).
    sources: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The gateway replica that streamed this answer (a restart requeues only its own, cut ones).
    replica: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[float] = mapped_column(Float, default=time.time)


class MemoryErasure(Base):
    """An erasure the agent still owes: every memory of ``person`` (a deleted account's
    ``user:<id>``). Written in the deletion's own transaction, sent whenever the agent is
    reachable, deleted when the agent's ``memory_result`` acknowledges it (``id`` is the request's)."""

    __tablename__ = "memory_erasures"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    person: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float, default=time.time)
