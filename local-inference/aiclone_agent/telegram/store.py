"""Telegram state in SQLite: which conversation each chat is in, and which updates were handled."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

from aiclone_agent.core.sqlite_schema import migrate
from aiclone_wire.private_files import private_file

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the first schema
        """
        CREATE TABLE IF NOT EXISTS telegram_chats (
            bot_id INTEGER NOT NULL,
            chat_id INTEGER NOT NULL,
            conversation_id TEXT NOT NULL,
            PRIMARY KEY (bot_id, chat_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS telegram_updates (
            bot_id INTEGER NOT NULL,
            update_id INTEGER NOT NULL,
            PRIMARY KEY (bot_id, update_id)
        )
        """,
    ),
)


class TelegramStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(private_file(path), check_same_thread=False, isolation_level=None)
        migrate(self._db, MIGRATIONS, path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()

    async def _run(self, sql: str, args: tuple) -> list[tuple]:
        def work() -> list[tuple]:
            with self._lock:
                return self._db.execute(sql, args).fetchall()

        return await asyncio.to_thread(work)

    async def conversation_for(self, bot_id: int, chat_id: int) -> str | None:
        rows = await self._run(
            "SELECT conversation_id FROM telegram_chats WHERE bot_id = ? AND chat_id = ?", (bot_id, chat_id)
        )
        return rows[0][0] if rows else None

    async def set_conversation(self, bot_id: int, chat_id: int, conversation_id: str) -> None:
        await self._run(
            "INSERT INTO telegram_chats (bot_id, chat_id, conversation_id) VALUES (?, ?, ?) "
            "ON CONFLICT (bot_id, chat_id) DO UPDATE SET conversation_id = excluded.conversation_id",
            (bot_id, chat_id, conversation_id),
        )

    async def reset(self, bot_id: int, chat_id: int) -> None:
        await self._run("DELETE FROM telegram_chats WHERE bot_id = ? AND chat_id = ?", (bot_id, chat_id))

    async def is_handled(self, bot_id: int, update_id: int) -> bool:
        rows = await self._run(
            "SELECT 1 FROM telegram_updates WHERE bot_id = ? AND update_id = ?", (bot_id, update_id)
        )
        return bool(rows)

    async def mark_handled(self, bot_id: int, update_id: int) -> None:
        await self._run(
            "INSERT OR IGNORE INTO telegram_updates (bot_id, update_id) VALUES (?, ?)", (bot_id, update_id)
        )

    async def last_handled(self, bot_id: int) -> int | None:
        rows = await self._run("SELECT MAX(update_id) FROM telegram_updates WHERE bot_id = ?", (bot_id,))
        return rows[0][0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
