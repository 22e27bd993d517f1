"""Stored Telegram questions and their answers' replies, each sent at most once.

A question (``telegram_pending``) is stored before its update is acknowledged. Whoever answers it
claims it first (one conditional UPDATE, atomic on SQLite and PostgreSQL), so two replicas, or the
live path and a drain, never ask the agent twice. The agent's replies are stored before the first
is sent; each is marked ``sending`` before sendMessage is called (again one conditional UPDATE: of
two senders one wins) and ``sent`` with its ``message_id`` after. After a crash, the claim is given
back at restart and the answer goes on from the stored replies: ``sent`` ones are done, ``sending``
ones are never sent again (the Bot API has no idempotency key and no way to ask whether a message
went out, so a reply the crash left unconfirmed counts as sent: at most once), ``pending`` ones go
out now. The question and its replies are deleted once none is left to send.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.telegram.models import TelegramPending, TelegramReply


class TelegramOutbox:
    def __init__(self, db: async_sessionmaker, replica: str) -> None:
        self.db = db
        self.replica = replica  # this process's claims carry its replica id

    async def question(self, question_id: int) -> TelegramPending | None:
        async with self.db() as session:
            return await session.get(TelegramPending, question_id)

    async def unclaimed(self) -> list[TelegramPending]:
        """The questions nobody answers now, oldest first."""
        async with self.db() as session:
            query = (
                select(TelegramPending).where(TelegramPending.replica.is_(None)).order_by(TelegramPending.id)
            )
            return list((await session.execute(query)).scalars().all())

    async def claim(self, question_id: int) -> bool:
        """Take the question for this replica to answer; False when another has it (or it is gone)."""
        async with self.db() as session:
            result = await session.execute(
                update(TelegramPending)
                .where(TelegramPending.id == question_id, TelegramPending.replica.is_(None))
                .values(replica=self.replica)
            )
            await session.commit()
        return getattr(result, "rowcount", 0) == 1

    async def release(self, question_id: int) -> None:
        """Give the question back (the agent went away): the next drain answers it."""
        async with self.db() as session:
            await session.execute(
                update(TelegramPending)
                .where(TelegramPending.id == question_id, TelegramPending.replica == self.replica)
                .values(replica=None)
            )
            await session.commit()

    async def release_interrupted(self, spare: Collection[str] = ()) -> int:
        """At start: the claims of processes that died while answering are given back (this
        replica's own included); ``spare``: the other replicas alive now, whose claims stand."""
        cut = [TelegramPending.replica.is_not(None)]
        if spare:
            cut.append(TelegramPending.replica.not_in(list(spare)))
        async with self.db() as session:
            result = await session.execute(update(TelegramPending).where(*cut).values(replica=None))
            await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    async def replies(self, question_id: int) -> list[TelegramReply]:
        """The stored replies of the question's answer, in order; empty before the agent answered."""
        async with self.db() as session:
            query = (
                select(TelegramReply)
                .where(TelegramReply.question_id == question_id)
                .order_by(TelegramReply.position)
            )
            return list((await session.execute(query)).scalars().all())

    async def keep(self, question_id: int, texts: list[str]) -> list[TelegramReply]:
        """Store the agent's replies (all ``pending``) before any is sent; if another answer's
        replies were stored first, those are the answer."""
        try:
            async with self.db() as session, session.begin():
                session.add_all(
                    TelegramReply(question_id=question_id, position=i, text=text, state="pending")
                    for i, text in enumerate(texts)
                )
        except IntegrityError:
            pass
        return await self.replies(question_id)

    async def sending(self, reply_id: int) -> bool:
        """Mark the reply as being sent, before sendMessage; False when it is not ``pending`` any
        more (sent, or possibly sent, by an earlier try or another sender)."""
        return await self._move(reply_id, "pending", "sending")

    async def sent(self, reply_id: int, message_id: int) -> None:
        await self._move(reply_id, "sending", "sent", message_id=message_id)

    async def failed(self, reply_id: int) -> None:
        """The Bot API refused the reply: it reached nobody, and is not tried again."""
        await self._move(reply_id, "sending", "failed")

    async def _move(self, reply_id: int, before: str, after: str, **values: object) -> bool:
        async with self.db() as session:
            result = await session.execute(
                update(TelegramReply)
                .where(TelegramReply.id == reply_id, TelegramReply.state == before)
                .values(state=after, **values)
            )
            await session.commit()
        return getattr(result, "rowcount", 0) == 1

    async def finish(self, question_id: int) -> None:
        """Every reply went out (or may have): forget the question and its replies."""
        async with self.db() as session, session.begin():
            await session.execute(delete(TelegramReply).where(TelegramReply.question_id == question_id))
            await session.execute(delete(TelegramPending).where(TelegramPending.id == question_id))
