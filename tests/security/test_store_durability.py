"""The agent's conversation store commits so that an acknowledged turn survives a power cut.

Found before the fix: the store ran WAL with ``synchronous=NORMAL``, which survives a killed
process but may lose the newest commits when the machine loses power.
"""

from __future__ import annotations

import sqlite3

from aiclone_agent.chat.store import ConversationStore

FULL = 2


async def test_the_conversation_store_syncs_every_commit(tmp_path):
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    conversation = await store.create("Power cut", "owner")
    await store.append(conversation.id, "user", "Is this kept?")
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == FULL
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # what was acknowledged is on disk for another connection (a restarted agent)
    reopened = sqlite3.connect(tmp_path / "conversations.sqlite3")
    assert reopened.execute("SELECT content FROM messages").fetchall() == [("Is this kept?",)]
