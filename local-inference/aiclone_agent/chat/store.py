"""Conversations and their messages, in SQLite under the data dir (survives restarts)."""

from __future__ import annotations

import asyncio
import builtins
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aiclone_agent.chat.template import Message
from aiclone_agent.core.sqlite_schema import migrate
from aiclone_wire.private_files import private_file

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the first schema
        """
        CREATE TABLE IF NOT EXISTS conversations (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            channel TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
            content TEXT NOT NULL,
            created_at REAL NOT NULL,
            meta TEXT NOT NULL DEFAULT '{}'
        )
        """,
        """
        CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id)
        """,
    ),
    (  # 2: answers are saved while they stream; a crash leaves them 'interrupted', not lost
        "ALTER TABLE messages ADD COLUMN state TEXT NOT NULL DEFAULT 'done'"
        " CHECK (state IN ('done', 'streaming', 'interrupted'))",
    ),
    (  # 3: who wrote a conversation made on the LAN listener (the gateway user of its token)
        "ALTER TABLE conversations ADD COLUMN author TEXT",
        "ALTER TABLE conversations ADD COLUMN author_id TEXT",
        "CREATE INDEX IF NOT EXISTS conversations_by_author ON conversations(author_id, updated_at)",
    ),
)
VISIBLE = "state != 'streaming'"  # an answer being written is not part of the conversation yet


StoredRole = Literal["user", "assistant"]  # the table's CHECK: the system prompt is never stored


@dataclass(frozen=True)
class StoredMessage:
    role: StoredRole
    content: str
    created_at: float
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int = 0
    author: str | None = None  # a LAN user's name; None: the owner's own (admin, Telegram, API)


@dataclass(frozen=True)
class NewConversation:
    """A conversation that its first turn creates (``begin_turn``)."""

    title: str
    channel: str
    author: str | None = None  # a LAN user's name and gateway user id
    author_id: str | None = None


class ConversationStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(private_file(path), check_same_thread=False, isolation_level=None)
        migrate(self._db, MIGRATIONS, path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        # FULL: a turn the user saw acknowledged survives a power cut, not only a killed process
        # (WAL with NORMAL may lose the last commits when the machine loses power).
        self._db.execute("PRAGMA synchronous=FULL")
        # answers that were streaming when the agent stopped keep what was written of them
        self.interrupted = self._db.execute(
            "UPDATE messages SET state = 'interrupted', meta = json_set(meta, '$.finish_reason', 'interrupted') "
            "WHERE state = 'streaming'"
        ).rowcount
        self._lock = threading.Lock()

    async def _run(self, fn, *args):
        return await asyncio.to_thread(self._locked, fn, *args)

    def _locked(self, fn, *args):
        with self._lock:
            return fn(*args)

    async def create(
        self, title: str, channel: str, author: str | None = None, author_id: str | None = None
    ) -> Conversation:
        return await self._run(self._create, title, channel, author, author_id)

    def _create(
        self, title: str, channel: str, author: str | None, author_id: str | None, conversation_id: str = ""
    ) -> Conversation:
        now = time.time()
        conversation = Conversation(
            conversation_id or uuid.uuid4().hex,
            title[:80] or "New conversation",
            channel,
            now,
            now,
            author=author,
        )
        self._db.execute(
            "INSERT INTO conversations (id, title, channel, created_at, updated_at, author, author_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation.id, conversation.title, channel, now, now, author, author_id),
        )
        return conversation

    async def begin_turn(self, conversation_id: str, message: str, new: NewConversation | None = None) -> int:
        """In one commit (one fsync, not three): the conversation when ``new`` (with this id), the
        user's message and the hidden row of the answer about to stream; that row's id."""
        return await self._run(self._begin_turn, conversation_id, message, new)

    def _begin_turn(self, conversation_id: str, message: str, new: NewConversation | None) -> int:
        with self._transaction():
            if new is not None:
                self._create(new.title, new.channel, new.author, new.author_id, conversation_id)
            self._add_message(conversation_id, "user", message, {})
            return self._begin_answer(conversation_id)

    async def get(self, conversation_id: str, author_id: str | None = None) -> Conversation | None:
        """The conversation; with ``author_id``, only if that LAN user wrote it."""
        return await self._run(self._get, conversation_id, author_id)

    def _get(self, conversation_id: str, author_id: str | None = None) -> Conversation | None:
        row = self._db.execute(
            "SELECT c.id, c.title, c.channel, c.created_at, c.updated_at, "
            f"(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND {VISIBLE}), c.author "
            "FROM conversations c WHERE c.id = ? AND (? IS NULL OR c.author_id = ?)",
            (conversation_id, author_id, author_id),
        ).fetchone()
        return Conversation(*row) if row else None

    async def list(
        self, limit: int = 100, offset: int = 0, query: str = "", author_id: str | None = None
    ) -> list[Conversation]:
        """Newest first; with ``query``, only those whose title or any message contains it; with
        ``author_id``, only that LAN user's."""
        return await self._run(self._list, limit, offset, query, author_id)

    def _list(
        self, limit: int, offset: int, query: str, author_id: str | None
    ) -> builtins.list[Conversation]:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self._db.execute(
            "SELECT c.id, c.title, c.channel, c.created_at, c.updated_at, "
            f"(SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id AND {VISIBLE}), c.author "
            "FROM conversations c WHERE (? IS NULL OR c.author_id = ?) AND (? = '' OR c.title LIKE ? ESCAPE '\\' "
            "OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.content LIKE ? ESCAPE '\\')) "
            "ORDER BY c.updated_at DESC LIMIT ? OFFSET ?",
            (author_id, author_id, query, pattern, pattern, limit, offset),
        ).fetchall()
        return [Conversation(*row) for row in rows]

    async def messages(self, conversation_id: str) -> builtins.list[StoredMessage]:
        return await self._run(self._messages, conversation_id)

    def _messages(self, conversation_id: str) -> builtins.list[StoredMessage]:
        rows = self._db.execute(
            f"SELECT role, content, created_at, meta FROM messages WHERE conversation_id = ? AND {VISIBLE} ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return [StoredMessage(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    async def history(self, conversation_id: str) -> builtins.list[Message]:
        """The turns before the next question, alternating user and assistant: a question that never got
        an answer (stopped before its first word, or cut by a crash before one was saved) is left out,
        so the model does not answer it again together with the next one."""
        turns: builtins.list[Message] = []
        for message in await self.messages(conversation_id):
            if message.role == "user" and turns and turns[-1].role == "user":
                turns.pop()
            if message.role == "assistant" and not message.content:
                if turns and turns[-1].role == "user":
                    turns.pop()
                continue
            turns.append(Message(message.role, message.content))
        if turns and turns[-1].role == "user":  # the next question follows: the last one went unanswered
            turns.pop()
        return turns

    async def begin_answer(self, conversation_id: str) -> int:
        """A hidden assistant row for the answer about to stream; its id."""
        return await self._run(self._begin_answer, conversation_id)

    def _begin_answer(self, conversation_id: str) -> int:
        cursor = self._db.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at, state) "
            "VALUES (?, 'assistant', '', ?, 'streaming')",
            (conversation_id, time.time()),
        )
        return int(cursor.lastrowid or 0)

    async def save_partial(self, message_id: int, content: str) -> None:
        """What has streamed so far (kept as 'interrupted' if the agent dies before the end)."""
        await self._run(
            self._db.execute,
            "UPDATE messages SET content = ? WHERE id = ? AND state = 'streaming'",
            (content, message_id),
        )

    async def finish_answer(self, message_id: int, content: str, meta: dict) -> None:
        await self._run(self._finish_answer, message_id, content, meta)

    def _finish_answer(self, message_id: int, content: str, meta: dict) -> None:
        now = time.time()
        with self._transaction():
            self._db.execute(
                "UPDATE messages SET content = ?, meta = ?, state = 'done', created_at = ? WHERE id = ?",
                (content, json.dumps(meta), now, message_id),
            )
            self._db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = "
                "(SELECT conversation_id FROM messages WHERE id = ?)",
                (now, message_id),
            )

    async def drop_answer(self, message_id: int) -> None:
        """An answer stopped before its first word leaves no row."""
        await self._run(
            self._db.execute, "DELETE FROM messages WHERE id = ? AND state = 'streaming'", (message_id,)
        )

    async def append(
        self, conversation_id: str, role: StoredRole, content: str, meta: dict | None = None
    ) -> None:
        await self._run(self._append, conversation_id, role, content, meta or {})

    def _append(self, conversation_id: str, role: StoredRole, content: str, meta: dict) -> None:
        with self._transaction():
            self._add_message(conversation_id, role, content, meta)

    def _add_message(self, conversation_id: str, role: StoredRole, content: str, meta: dict) -> None:
        now = time.time()
        self._db.execute(
            "INSERT INTO messages (conversation_id, role, content, created_at, meta) VALUES (?, ?, ?, ?, ?)",
            (conversation_id, role, content, now, json.dumps(meta)),
        )
        self._db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One commit for everything inside (the connection runs in autocommit otherwise)."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    async def rename(self, conversation_id: str, title: str) -> Conversation | None:
        return await self._run(self._rename, conversation_id, title)

    def _rename(self, conversation_id: str, title: str) -> Conversation | None:
        self._db.execute("UPDATE conversations SET title = ? WHERE id = ?", (title[:80], conversation_id))
        return self._get(conversation_id)

    async def truncate(self, conversation_id: str, keep: int) -> None:
        """Forget every message after the first ``keep`` (regenerate, edit and resend)."""
        await self._run(self._truncate, conversation_id, keep)

    def _truncate(self, conversation_id: str, keep: int) -> None:
        self._db.execute(
            f"DELETE FROM messages WHERE conversation_id = ? AND {VISIBLE} AND id NOT IN ("
            f"SELECT id FROM messages WHERE conversation_id = ? AND {VISIBLE} ORDER BY id LIMIT ?)",
            (conversation_id, conversation_id, keep),
        )

    async def delete(self, conversation_id: str) -> bool:
        return await self._run(self._delete, conversation_id)

    def _delete(self, conversation_id: str) -> bool:
        cursor = self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
        return cursor.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._db.close()
