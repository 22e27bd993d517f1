"""The durable copy of every remembered round: one SQLite file (WAL, mode 0600).

Rows are the truth: the vector and BM25 indexes are rebuilt or reconciled from them, and every
search result is joined back to its row before anyone sees it, so an index entry whose row is gone
(a crash between the two writes) is never shown. Every read that serves a person names that person
in its ``WHERE``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from aiclone_agent.core.sqlite_schema import migrate
from aiclone_wire.memory import MemoryRecord
from aiclone_wire.private_files import private_file

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the first schema
        """
        CREATE TABLE IF NOT EXISTS memories (
            id TEXT PRIMARY KEY,
            person TEXT NOT NULL,
            text TEXT NOT NULL,
            at REAL NOT NULL,
            conversation_id TEXT,
            channel TEXT NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            subject TEXT
        )
        """,
        "CREATE INDEX IF NOT EXISTS memories_person_at ON memories (person, at)",
        "CREATE INDEX IF NOT EXISTS memories_person_subject ON memories (person, subject, at)",
        """
        CREATE TABLE IF NOT EXISTS persons (
            person TEXT PRIMARY KEY,
            enabled INTEGER NOT NULL DEFAULT 1
        )
        """,
    ),
)
_COLUMNS = "id, person, text, at, conversation_id, channel, pinned, subject"


@dataclass(frozen=True)
class Row:
    id: str
    person: str
    text: str
    at: float  # Unix seconds, UTC
    conversation_id: str | None
    channel: str
    pinned: bool
    subject: str | None  # the fact this round states, when it states one (see ``subjects``)

    def record(self, *, with_person: bool = False) -> MemoryRecord:
        return MemoryRecord(
            id=self.id,
            text=self.text,
            at=datetime.fromtimestamp(self.at, timezone.utc),
            conversation_id=self.conversation_id,
            channel=self.channel,
            pinned=self.pinned,
            person=self.person if with_person else None,
        )


def _row(values: Sequence) -> Row:
    return Row(values[0], values[1], values[2], values[3], values[4], values[5], bool(values[6]), values[7])


def _casefold(value: str | None) -> str | None:
    return value.casefold() if value is not None else None


class MemoryRows:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(private_file(path), check_same_thread=False, isolation_level=None)
        migrate(self._db, MIGRATIONS, path)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an erasure the person saw acknowledged stays erased after a power cut too
        self._db.execute("PRAGMA synchronous=FULL")
        # SQLite's own lower() and LIKE fold ASCII only; searches must fold Cyrillic too
        self._db.create_function("casefold", 1, _casefold, deterministic=True)
        self._lock = threading.Lock()

    def _all(self, sql: str, args: tuple = ()) -> list[Row]:
        with self._lock:
            return [
                _row(values) for values in self._db.execute(f"SELECT {_COLUMNS} FROM memories {sql}", args)
            ]

    def insert_many(self, rows: Sequence[Row]) -> None:
        """Inserts ``rows`` in one committed transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    f"INSERT INTO memories ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (r.id, r.person, r.text, r.at, r.conversation_id, r.channel, int(r.pinned), r.subject)
                        for r in rows
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def get(self, memory_id: str) -> Row | None:
        found = self._all("WHERE id = ?", (memory_id,))
        return found[0] if found else None

    def of_person(self, person: str, ids: Iterable[str]) -> dict[str, Row]:
        """The rows among ``ids`` that belong to ``person`` (the others are left out)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Row] = {}
        for first in range(0, len(wanted), 500):
            part = wanted[first : first + 500]
            marks = ",".join("?" * len(part))
            # "+person": look the ids up by the primary key, then check the person (SQLite would
            # otherwise walk the person's whole (person, at) index)
            for row in self._all(f"WHERE id IN ({marks}) AND +person = ?", (*part, person)):
                found[row.id] = row
        return found

    def texts(self, person: str) -> tuple[list[str], list[str]]:
        """Every id and text of ``person``'s rounds (to build their BM25 index)."""
        with self._lock:
            pairs = self._db.execute("SELECT id, text FROM memories WHERE person = ?", (person,)).fetchall()
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def ids(self, person: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT id FROM memories WHERE person = ?", (person,))]

    def newest(self, person: str, limit: int) -> list[Row]:
        return self._all("WHERE person = ? ORDER BY at DESC, rowid DESC LIMIT ?", (person, limit))

    def newest_by_subject(self, person: str, subjects: Iterable[str]) -> dict[str, Row]:
        """For each subject key, ``person``'s latest round stating it (each one index probe)."""
        found: dict[str, Row] = {}
        for subject in sorted(set(subjects)):
            rows = self._all("WHERE person = ? AND subject = ? ORDER BY at DESC LIMIT 1", (person, subject))
            if rows:
                found[subject] = rows[0]
        return found

    def in_window(self, person: str, start: float, end: float, limit: int) -> list[Row]:
        return self._all(
            "WHERE person = ? AND at >= ? AND at < ? ORDER BY at DESC, rowid DESC LIMIT ?",
            (person, start, end, limit),
        )

    def listing(self, person: str | None, query: str | None, limit: int, offset: int) -> list[Row]:
        """Newest first; ``person`` None: everyone's (the owner's admin); ``query``: case-folded substring."""
        clauses, args = [], []
        if person is not None:
            clauses.append("person = ?")
            args.append(person)
        if query:
            clauses.append("instr(casefold(text), ?) > 0")
            args.append(query.casefold())
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return self._all(f"{where} ORDER BY at DESC, rowid DESC LIMIT ? OFFSET ?", (*args, limit, offset))

    def count(self, person: str) -> int:
        with self._lock:
            return int(
                self._db.execute("SELECT COUNT(*) FROM memories WHERE person = ?", (person,)).fetchone()[0]
            )

    def persons(self) -> list[tuple[str, int]]:
        """Every person with memories and how many, most recently active first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT person, COUNT(*) FROM memories GROUP BY person ORDER BY MAX(at) DESC, person"
            ).fetchall()
        return [(person, int(count)) for person, count in rows]

    def oldest_unpinned(self, person: str, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM memories WHERE person = ? AND pinned = 0 ORDER BY at, rowid LIMIT ?",
                (person, limit),
            ).fetchall()
        return [row[0] for row in rows]

    def set_pinned(self, memory_id: str, pinned: bool) -> bool:
        with self._lock:
            return (
                self._db.execute(
                    "UPDATE memories SET pinned = ? WHERE id = ?", (int(pinned), memory_id)
                ).rowcount
                > 0
            )

    def delete(self, person: str, ids: Sequence[str]) -> int:
        """Deletes ``person``'s rows among ``ids`` in one committed transaction; how many went."""
        deleted = 0
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for first in range(0, len(ids), 500):
                    part = list(ids[first : first + 500])
                    marks = ",".join("?" * len(part))
                    deleted += self._db.execute(
                        f"DELETE FROM memories WHERE person = ? AND id IN ({marks})", (person, *part)
                    ).rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return deleted

    def delete_person(self, person: str) -> list[str]:
        """Deletes every row of ``person`` (committed); their ids."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                ids = [r[0] for r in self._db.execute("SELECT id FROM memories WHERE person = ?", (person,))]
                self._db.execute("DELETE FROM memories WHERE person = ?", (person,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return ids

    def enabled(self, person: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT enabled FROM persons WHERE person = ?", (person,)).fetchone()
        return bool(row[0]) if row else True

    def set_enabled(self, person: str, enabled: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO persons (person, enabled) VALUES (?, ?) "
                "ON CONFLICT (person) DO UPDATE SET enabled = excluded.enabled",
                (person, int(enabled)),
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()
