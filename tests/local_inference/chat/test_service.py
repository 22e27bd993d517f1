"""A conversation turn: the answer streams while the turn commits; it is durable before it is done.

Found before the change: the turn's three commits (conversation, question, answer row; an fsync
each) ran before the first token was handed out, and the owner's first token waited 3 s behind
them in a bench round where the disk was busy with other writes.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from aiclone_agent.chat.service import ConversationNotFoundError
from tests.support.sse import parse_sse


async def _yield_to_the_loop(times: int = 20) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


async def test_the_first_tokens_stream_while_the_commit_waits_and_the_turn_is_durable_before_done(agent):
    chat, store = agent.runtime.chat, agent.runtime.store
    store._lock.acquire()  # a disk that takes its time: the turn's commit cannot run yet
    try:
        conversation_id, generation = await chat.start_conversation_turn(
            "Tell me a short story about a cat.", None, chat.sampling_params(max_tokens=8), "owner"
        )
        stream = generation.chunks()
        chunks = [await anext(stream)]
        while not chunks[-1].finish_reason:  # every token reaches the caller while nothing is stored
            chunks.append(await anext(stream))
        assert sum(1 for c in chunks if c.text) >= 2
        assert generation.answer_row is None
        end = asyncio.ensure_future(anext(stream, None))
        await _yield_to_the_loop()
        assert not end.done(), "the stream ended before its turn was committed"
    finally:
        store._lock.release()
    assert await end is None
    await chat.finish_conversation_turn(conversation_id, generation)
    messages = await store.messages(conversation_id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Tell me a short story about a cat."),
        ("assistant", generation.text),
    ]
    assert messages[1].meta["finish_reason"] == "length"


async def test_a_turn_the_disk_refuses_ends_the_stream_with_its_code_and_leaves_nothing(agent):
    store = agent.runtime.store
    store._db.execute("PRAGMA query_only=ON")  # every write now fails inside SQLite, as on a failing disk
    try:
        response = await agent.client.post("/api/chat/stream", json={"message": "Will this be kept?"})
    finally:
        store._db.execute("PRAGMA query_only=OFF")
    assert response.status_code == 200  # the stream had started: the error is its last event
    last = parse_sse(response.text)[-1]
    assert last["error"]["code"] == "conversation_not_saved"
    assert "done" not in last
    assert (await agent.client.get("/api/conversations")).json() == []
    # and the next turn is kept as usual
    kept = await agent.client.post("/api/chat/test", json={"message": "And this one?"})
    assert kept.status_code == 200
    assert len((await agent.client.get("/api/conversations")).json()) == 1


async def test_a_conversation_deleted_while_its_turn_commits_ends_the_stream_as_not_found(agent):
    chat, store = agent.runtime.chat, agent.runtime.store
    first = (await agent.client.post("/api/chat/test", json={"message": "Hello."})).json()
    other_tab = sqlite3.connect(agent.data_dir / "conversations.sqlite3", isolation_level=None)
    other_tab.execute("PRAGMA foreign_keys=ON")
    other_tab.execute("BEGIN IMMEDIATE")  # another tab deletes the conversation: its write holds the
    other_tab.execute("DELETE FROM conversations WHERE id = ?", (first["conversation_id"],))  # lock ...
    try:  # ... while this turn checks the conversation (still there) and starts its commit
        conversation_id, generation = await chat.start_conversation_turn(
            "Still there?", first["conversation_id"], chat.sampling_params(max_tokens=4), "owner"
        )
    finally:
        other_tab.execute("COMMIT")
        other_tab.close()
    with pytest.raises(ConversationNotFoundError):
        async for _ in generation.chunks():
            pass
    await chat.finish_conversation_turn(conversation_id, generation)  # nothing to finish, no error
    assert await store.get(conversation_id) is None
