"""Versioned SQLite stores: a store written before versioning opens with its data, a newer one is
refused with a reason, and a failed migration leaves the previous version intact."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from aiclone_agent.chat.store import MIGRATIONS as CONVERSATION_MIGRATIONS
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.sqlite_schema import SchemaTooNewError, migrate
from aiclone_agent.rag.storage import DocumentStore
from aiclone_agent.telegram.store import TelegramStore

# The schemas as the first release wrote them (user_version 0), literally.
FIRST_CONVERSATIONS = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, channel TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL,
    created_at REAL NOT NULL, meta TEXT NOT NULL DEFAULT '{}');
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
INSERT INTO conversations VALUES ('c1', 'Bridges', 'owner', 1.0, 2.0);
INSERT INTO messages (conversation_id, role, content, created_at) VALUES ('c1', 'user', 'Who built it?', 1.0);
INSERT INTO messages (conversation_id, role, content, created_at, meta)
    VALUES ('c1', 'assistant', 'The Romans.', 2.0, '{"finish_reason": "stop"}');
"""
FIRST_TELEGRAM = """
CREATE TABLE telegram_chats (bot_id INTEGER NOT NULL, chat_id INTEGER NOT NULL, conversation_id TEXT NOT NULL,
    PRIMARY KEY (bot_id, chat_id));
CREATE TABLE telegram_updates (bot_id INTEGER NOT NULL, update_id INTEGER NOT NULL, PRIMARY KEY (bot_id, update_id));
INSERT INTO telegram_chats VALUES (7, 501, 'c1');
"""
FIRST_DOCUMENTS = """
CREATE TABLE documents (id TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error TEXT, chunks INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE chunks (chunk_id TEXT PRIMARY KEY, document_id TEXT NOT NULL, chunk_index INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX chunks_by_document ON chunks(document_id);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO documents VALUES ('d1', 'lamps.txt', 120, 'txt', 'ready', 1.0, NULL, 1, 1, 3.0);
"""


def _write(path: Path, script: str, version: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(script)
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    return path


def _version(path: Path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


async def test_a_conversation_store_from_the_first_release_opens_with_its_history(tmp_path: Path):
    path = _write(tmp_path / "conversations.sqlite3", FIRST_CONVERSATIONS)
    store = ConversationStore(path)
    try:
        assert [(m.role, m.content) for m in await store.messages("c1")] == [
            ("user", "Who built it?"),
            ("assistant", "The Romans."),
        ]
        await store.append("c1", "user", "When?")  # and it keeps working
        assert len(await store.messages("c1")) == 3
    finally:
        store.close()
    assert _version(path) == len(CONVERSATION_MIGRATIONS)


async def test_telegram_and_document_stores_from_the_first_release_keep_their_rows(tmp_path: Path):
    telegram = TelegramStore(_write(tmp_path / "telegram.sqlite3", FIRST_TELEGRAM))
    assert await telegram.conversation_for(7, 501) == "c1"
    documents = DocumentStore(_write(tmp_path / "rag" / "documents.sqlite3", FIRST_DOCUMENTS).parent)
    assert [(d.id, d.name, d.status) for d in documents.list()] == [("d1", "lamps.txt", "ready")]
    assert (
        _version(tmp_path / "telegram.sqlite3") >= 1 and _version(tmp_path / "rag" / "documents.sqlite3") >= 1
    )


def test_a_store_from_a_newer_release_is_refused_untouched(tmp_path: Path):
    path = _write(tmp_path / "conversations.sqlite3", FIRST_CONVERSATIONS, version=99)
    before = path.read_bytes()
    with pytest.raises(SchemaTooNewError, match=r"schema version 99.*newer AI Clone"):
        ConversationStore(path)
    assert path.read_bytes() == before


def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path):
    path = tmp_path / "x.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    good = ("CREATE TABLE a (x INTEGER)",)
    bad = ("CREATE TABLE b (y INTEGER)", "INSERT INTO missing VALUES (1)")
    with pytest.raises(sqlite3.OperationalError):
        migrate(db, (good, bad), path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["a"]
    assert migrate(db, (good,), path) == 1  # and reopening at that version runs nothing
    db.close()


def test_the_agent_explains_a_too_new_store_in_one_line(tmp_path: Path, model_path: Path):
    _write(tmp_path / "data" / "conversations.sqlite3", FIRST_CONVERSATIONS, version=99)
    (tmp_path / "config.yaml").write_text(f"model:\n  base_model_path: {model_path}\n  n_ctx: 512\n")
    env = {
        **os.environ,
        "AICLONE_CONFIG": str(tmp_path / "config.yaml"),
        "AICLONE_DATA_DIR": str(tmp_path / "data"),
        "AICLONE_PORT": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "aiclone_agent", "serve"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("aiclone:")]
    assert len(lines) == 1 and "newer AI Clone" in lines[0], result.stderr


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
async def test_every_store_is_readable_by_its_owner_only(tmp_path: Path):
    """Conversations, Telegram chats and documents are private: mode 0600 from creation (and
    their -wal files with them), whatever the umask; an older, looser file is narrowed."""
    older = _write(tmp_path / "old" / "telegram.sqlite3", FIRST_TELEGRAM)
    older.chmod(0o644)
    previous = os.umask(0o022)
    try:
        conversations = ConversationStore(tmp_path / "conversations.sqlite3")
        await conversations.create("Bridges", "owner")
        TelegramStore(tmp_path / "telegram.sqlite3")
        TelegramStore(older)
        DocumentStore(tmp_path / "rag")
    finally:
        os.umask(previous)
    modes = _modes(tmp_path)
    assert {"conversations.sqlite3", "conversations.sqlite3-wal", "rag/documents.sqlite3"} <= set(modes)
    assert modes == dict.fromkeys(modes, "0o600")


def _modes(folder: Path) -> dict[str, str]:
    files = [*folder.glob("*.sqlite3*"), *folder.glob("*/*.sqlite3*")]
    return {p.relative_to(folder).as_posix(): oct(p.stat().st_mode & 0o777) for p in files}
