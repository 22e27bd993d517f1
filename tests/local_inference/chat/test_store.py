"""The conversation store keeps every history the model sees alternating, whatever was cut short."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aiclone_agent.chat.store import MIGRATIONS, ConversationStore


async def test_an_answer_being_written_is_hidden_then_kept_as_interrupted_after_a_crash(tmp_path: Path):
    path = tmp_path / "conversations.sqlite3"
    store = ConversationStore(path)
    conversation = await store.create("Bridges", "owner")
    await store.append(conversation.id, "user", "Tell me about bridges.")
    row = await store.begin_answer(conversation.id)
    await store.save_partial(row, "Bridges were first")
    # while it streams, readers see only the question
    assert [(m.role, m.content) for m in await store.messages(conversation.id)] == [
        ("user", "Tell me about bridges.")
    ]
    assert (await store.get(conversation.id)).message_count == 1
    store._db.close()  # the process dies here: nothing else is written

    reopened = ConversationStore(path)
    assert reopened.interrupted == 1
    messages = await reopened.messages(conversation.id)
    assert [(m.role, m.content, m.meta.get("finish_reason")) for m in messages] == [
        ("user", "Tell me about bridges.", None),
        ("assistant", "Bridges were first", "interrupted"),
    ]
    # the next question continues from what the user saw, roles alternating
    assert [m.role for m in await reopened.history(conversation.id)] == ["user", "assistant"]
    reopened.close()


async def test_unanswered_questions_are_left_out_of_the_next_prompt(tmp_path: Path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    conversation = await store.create("Gaps", "owner")
    await store.append(conversation.id, "user", "First?")
    await store.append(conversation.id, "assistant", "One.")
    await store.append(conversation.id, "user", "Stopped before a word?")  # a stopped turn: no answer row
    row = await store.begin_answer(conversation.id)
    await store.drop_answer(row)
    await store.append(conversation.id, "user", "Third?")
    row = await store.begin_answer(conversation.id)
    await store.finish_answer(row, "Three.", {"finish_reason": "stop"})
    await store.append(conversation.id, "user", "Cut by a crash before any text?")
    history = await store.history(conversation.id)
    assert [(m.role, m.content) for m in history] == [
        ("user", "First?"),
        ("assistant", "One."),
        ("user", "Third?"),
        ("assistant", "Three."),
    ]
    # the owner still sees everything that was asked
    assert len(await store.messages(conversation.id)) == 6
    store.close()


async def test_a_store_from_before_answers_were_saved_while_streaming_gains_the_state(tmp_path: Path):
    path = tmp_path / "conversations.sqlite3"
    ConversationStore(path).close()
    db = sqlite3.connect(path)
    columns = [row[1] for row in db.execute("PRAGMA table_info(messages)")]
    assert "state" in columns and db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    db.close()


async def test_a_store_from_before_lan_authors_keeps_its_conversations_and_gains_them(tmp_path: Path):
    path = tmp_path / "conversations.sqlite3"
    db = sqlite3.connect(path)
    for migration in MIGRATIONS[:2]:  # the store as the release before the LAN listener left it
        for statement in migration:
            db.execute(statement)
    db.execute("INSERT INTO conversations VALUES ('old', 'Old chat', 'owner', 1.0, 2.0)")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    store = ConversationStore(path)
    (old,) = await store.list()
    assert (old.id, old.title, old.channel, old.author) == ("old", "Old chat", "owner", None)
    mine = await store.create("At home", "lan", author="mum@example.test", author_id="u1")
    assert [c.id for c in await store.list(author_id="u1")] == [mine.id]
    assert await store.get(mine.id, author_id="u2") is None  # another LAN user's reads as missing
    assert (await store.get(mine.id)).author == "mum@example.test"  # the admin sees who wrote it
    store.close()
