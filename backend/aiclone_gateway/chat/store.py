"""Conversations and messages at the gateway, always scoped to their owner."""

from __future__ import annotations

import builtins
import time

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.models import Conversation, Message


class ConversationNotFoundError(LookupError):
    """No such conversation for this user (whether it exists for another is not told)."""


class ConversationStore:
    def __init__(self, db: async_sessionmaker) -> None:
        self.db = db

    async def list(self, user_id: str, limit: int = 100, offset: int = 0) -> list[Conversation]:
        async with self.db() as session:
            query = (
                select(Conversation)
                .where(Conversation.user_id == user_id)
                .order_by(Conversation.updated_at.desc())
                .limit(limit)
                .offset(offset)
            )
            return list((await session.scalars(query)).all())

    async def get(self, user_id: str, conversation_id: str) -> Conversation:
        async with self.db() as session:
            conversation = await session.get(Conversation, conversation_id)
        if conversation is None or conversation.user_id != user_id:
            raise ConversationNotFoundError(conversation_id)
        return conversation

    async def messages(self, conversation_id: str, before: float | None = None) -> builtins.list[Message]:
        async with self.db() as session:
            query = select(Message).where(Message.conversation_id == conversation_id)
            if before is not None:
                query = query.where(Message.created_at < before)
            return list((await session.scalars(query.order_by(Message.created_at, Message.id))).all())

    async def start_turn(
        self, user_id: str, conversation_id: str | None, text: str, queued: bool
    ) -> tuple[Conversation, Message, Message]:
        """Record the user's question and a pending answer; a new conversation when id is None."""
        now = time.time()
        async with self.db() as session:
            if conversation_id is None:
                title = (text.strip().splitlines() or ["New conversation"])[0][:80]
                conversation = Conversation(user_id=user_id, title=title, created_at=now, updated_at=now)
                session.add(conversation)
            else:
                conversation = await session.get(Conversation, conversation_id)
                if conversation is None or conversation.user_id != user_id:
                    raise ConversationNotFoundError(conversation_id)
                conversation.updated_at = now
            await session.flush()
            question = Message(
                conversation_id=conversation.id, role="user", content=text, status="done", created_at=now
            )
            answer = Message(
                conversation_id=conversation.id,
                role="assistant",
                content="",
                status="pending",
                queued=queued,
                created_at=now + 1e-3,
            )
            session.add_all([question, answer])
            await session.commit()
        return conversation, question, answer

    async def finish(self, message_id: str, content: str, status: str, finish_reason: str | None) -> None:
        async with self.db() as session:
            await session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(content=content, status=status, finish_reason=finish_reason, queued=False)
            )
            await session.commit()

    async def next_queued(self) -> Message | None:
        async with self.db() as session:
            query = (
                select(Message)
                .where(Message.queued.is_(True), Message.status == "pending")
                .order_by(Message.created_at, Message.id)
                .limit(1)
            )
            return (await session.scalars(query)).first()

    async def queue_length(self) -> int:
        async with self.db() as session:
            query = (
                select(func.count())
                .select_from(Message)
                .where(Message.queued.is_(True), Message.status == "pending")
            )
            return int((await session.scalar(query)) or 0)

    async def owner_of(self, conversation_id: str) -> str | None:
        async with self.db() as session:
            return await session.scalar(
                select(Conversation.user_id).where(Conversation.id == conversation_id)
            )

    async def requeue(self, message_id: str) -> None:
        """The agent went away between the check and the relay: queue the answer after all."""
        async with self.db() as session:
            await session.execute(update(Message).where(Message.id == message_id).values(queued=True))
            await session.commit()
