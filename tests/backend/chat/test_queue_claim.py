"""Draining the offline queue claims each question, so it is answered once even when two drains
race for it (an agent that moved between replicas, two replicas that both believe they hold it):
on SQLite and PostgreSQL, the real database the gateway uses."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from aiclone_gateway.chat.store import ChatQuotas, ConversationStore
from aiclone_gateway.core.db import create_engine, migrate, session_factory
from aiclone_gateway.models import Message, User

pytestmark = pytest.mark.databases


@pytest.fixture
async def store(fresh_database_url: str):
    await asyncio.to_thread(migrate, fresh_database_url)
    engine = create_engine(fresh_database_url)
    db = session_factory(engine)
    async with db() as session:
        session.add_all([User(id=f"u{n}", email=f"u{n}@example.test", password_hash="x") for n in range(3)])
        await session.commit()
    yield ConversationStore(db, ChatQuotas(max_queued=100))
    await engine.dispose()


async def _queue(store: ConversationStore, count: int) -> list[str]:
    ids = []
    for n in range(count):
        _, _, answer = await store.start_turn(f"u{n % 3}", None, f"question {n}", queued=True)
        ids.append(answer.id)
    return ids


async def test_racing_drains_each_claim_every_question_exactly_once(store: ConversationStore):
    queued = await _queue(store, 24)

    async def drain(replica: str) -> list[str]:
        taken = []
        while (answer := await store.claim_next_queued(replica)) is not None:
            taken.append(answer.id)
            await asyncio.sleep(0)  # let the other drain race for the next row
        return taken

    a, b, c = await asyncio.gather(drain("a"), drain("b"), drain("c"))
    counts = Counter(a + b + c)
    assert sorted(counts) == sorted(queued) and set(counts.values()) == {1}, counts
    assert await store.queue_length() == 0
    async with store.db() as session:
        owners = dict(
            (await session.execute(select(Message.id, Message.replica).where(Message.id.in_(queued)))).all()
        )
    assert {owners[i] for i in a} <= {"a"} and {owners[i] for i in b} <= {"b"}


async def test_a_claimed_question_given_back_is_claimed_again_but_an_answered_one_is_not(
    store: ConversationStore,
):
    first, second = await _queue(store, 2)
    claimed = await store.claim_next_queued("a")
    assert claimed is not None and claimed.id == first
    await store.requeue_pending(first)  # the link dropped: back to the queue
    assert (again := await store.claim_next_queued("b")) is not None and again.id == first
    await store.finish(first, "an answer", "done", "stop")
    await store.requeue_pending(first)  # too late: answered meanwhile
    assert (nxt := await store.claim_next_queued("b")) is not None and nxt.id == second
    assert await store.claim_next_queued("b") is None


async def test_a_replica_restart_requeues_the_questions_it_had_claimed(store: ConversationStore):
    (only,) = await _queue(store, 1)
    assert await store.claim_next_queued("a") is not None
    assert await store.queue_length() == 0
    assert await store.requeue_interrupted(spare={"b"}) == 1  # "a" restarted; "b" is alive
    assert (claimed := await store.claim_next_queued("b")) is not None and claimed.id == only
