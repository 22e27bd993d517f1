"""Conversations and messages at the gateway, always scoped to their owner."""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiclone_gateway.models import Conversation, Message


class ConversationNotFoundError(LookupError):
    """No such conversation for this user (whether it exists for another is not told)."""


class ChatQuotaError(Exception):
    """A user's chat would pass one of the per-user limits; ``code`` names which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ChatQuotas:
    """How much one user may keep at the gateway (the owner's PC answers everyone in turn)."""

    max_queued: int = 20
    max_conversations: int = 500
    max_messages_per_conversation: int = 400


class ConversationStore:
    def __init__(self, db: async_sessionmaker, quotas: ChatQuotas | None = None) -> None:
        self.db = db
        self.quotas = quotas or ChatQuotas()

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
        self, user_id: str, conversation_id: str | None, text: str, queued: bool, replica: str | None = None
    ) -> tuple[Conversation, Message, Message]:
        """Record the user's question and a pending answer; a new conversation when id is None.
        ``replica``: the gateway replica that streams the answer (its restart requeues it)."""
        now = time.time()
        async with self.db() as session:
            await self._check_quotas(session, user_id, conversation_id, queued)
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
                replica=replica,
                created_at=now + 1e-3,
            )
            session.add_all([question, answer])
            await session.commit()
        return conversation, question, answer

    async def _check_quotas(
        self, session: AsyncSession, user_id: str, conversation_id: str | None, queued: bool
    ) -> None:
        quotas = self.quotas
        if queued:
            waiting = await session.scalar(
                select(func.count())
                .select_from(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Conversation.user_id == user_id, Message.queued.is_(True), Message.status == "pending")
            )
            if (waiting or 0) >= quotas.max_queued:
                raise ChatQuotaError(
                    "queue_full",
                    f"you already have {quotas.max_queued} questions waiting for the clone; "
                    "they are answered when it is back, then ask more",
                )
        if conversation_id is None:
            count = await session.scalar(
                select(func.count()).select_from(Conversation).where(Conversation.user_id == user_id)
            )
            if (count or 0) >= quotas.max_conversations:
                raise ChatQuotaError(
                    "too_many_conversations",
                    f"you have {quotas.max_conversations} conversations, the most allowed: "
                    "continue one of them",
                )
        else:
            count = await session.scalar(
                select(func.count()).select_from(Message).where(Message.conversation_id == conversation_id)
            )
            if (count or 0) + 2 > quotas.max_messages_per_conversation:
                raise ChatQuotaError(
                    "conversation_full",
                    f"this conversation has reached {quotas.max_messages_per_conversation} messages: "
                    "start a new one",
                )

    async def finish(
        self,
        message_id: str,
        content: str,
        status: str,
        finish_reason: str | None,
        sources: builtins.list[dict] | None = None,
    ) -> None:
        async with self.db() as session:
            await session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(
                    content=content,
                    status=status,
                    finish_reason=finish_reason,
                    queued=False,
                    sources=json.dumps(sources, ensure_ascii=False) if sources else None,
                )
            )
            await session.commit()

    async def next_queued(self, last_served: dict[str, float] | None = None) -> Message | None:
        """The next queued question, taking users in turn: each user's oldest question, and of
        those the one whose user was served least recently (``last_served``: user id -> time),
        so one user's hundred questions cannot hold everyone else's back."""
        last_served = last_served or {}
        async with self.db() as session:
            oldest = (
                select(Conversation.user_id, func.min(Message.created_at).label("first"))
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.queued.is_(True), Message.status == "pending")
                .group_by(Conversation.user_id)
            )
            heads = (await session.execute(oldest)).all()
            if not heads:
                return None
            user_id, first = min(heads, key=lambda h: (last_served.get(h.user_id, 0.0), h.first))
            query = (
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Conversation.user_id == user_id,
                    Message.queued.is_(True),
                    Message.status == "pending",
                    Message.created_at == first,
                )
                .order_by(Message.id)
                .limit(1)
            )
            return (await session.scalars(query)).first()

    async def claim_next_queued(
        self, replica: str | None, last_served: dict[str, float] | None = None
    ) -> Message | None:
        """The next queued question (``next_queued``'s order), taken out of the queue for this
        replica to answer: once claimed, no other drain (another replica holding the agent after
        a move, or this one's next pass) can take it, so it is answered once. The claim is one
        conditional UPDATE (``WHERE queued``), atomic on SQLite and PostgreSQL alike: of two
        drains racing for a row, one changes it and the other sees 0 rows and takes the next.
        A claimed answer is a pending answer of ``replica``: if the process dies while answering,
        its restart (``requeue_interrupted``) queues it again; ``requeue`` gives it back."""
        while (candidate := await self.next_queued(last_served)) is not None:
            async with self.db() as session:
                result = await session.execute(
                    update(Message)
                    .where(Message.id == candidate.id, Message.queued.is_(True), Message.status == "pending")
                    .values(queued=False, replica=replica)
                )
                await session.commit()
            if getattr(result, "rowcount", 0) == 1:
                return candidate
        return None

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

    async def requeue_interrupted(self, spare: Collection[str] = ()) -> int:
        """At start: answers that were streaming when their process died (pending, not queued)
        go to the queue, so the question is answered after all instead of waiting forever.
        ``spare``: the other replicas that are alive now; the answers they stream are left alone
        (a single gateway spares none: every such answer is its own)."""
        cut = [Message.role == "assistant", Message.status == "pending", Message.queued.is_(False)]
        if spare:
            cut.append(or_(Message.replica.is_(None), Message.replica.not_in(list(spare))))
        async with self.db() as session:
            result = await session.execute(update(Message).where(*cut).values(queued=True, content=""))
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def requeue_pending(self, message_id: str) -> None:
        """Give a claimed answer back to the queue unless it was answered meanwhile."""
        async with self.db() as session:
            await session.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "pending")
                .values(queued=True)
            )
            await session.commit()

    async def requeue(self, message_id: str) -> None:
        """The agent went away between the check and the relay: queue the answer after all."""
        async with self.db() as session:
            await session.execute(update(Message).where(Message.id == message_id).values(queued=True))
            await session.commit()
