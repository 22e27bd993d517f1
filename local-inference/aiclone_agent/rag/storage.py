"""Document records, chunk rows and stored files under ``<data>/rag/``.

Files are stored as ``files/<id>`` and their extracted text as ``text/<id>.txt``, where ``id``
is generated here: the uploaded name is only ever a display label. Writes land atomically
(temp file + rename), and a document's chunks and its ``ready`` status are committed in one
SQLite transaction.
"""

from __future__ import annotations

import builtins
import os
import re
import sqlite3
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from aiclone_agent.core.sqlite_schema import migrate
from aiclone_agent.rag.sniffing import DocumentKind
from aiclone_wire.private_files import private_file

Status = Literal["queued", "indexing", "ready", "failed"]
# Who may read a document's passages: the owner only (the default for an upload), or everyone,
# which is what public channels (the web chat, Telegram, API keys, the LAN) may retrieve and cite.
Visibility = Literal["owner", "public"]
VISIBILITY_NOTICE = "visibility_notice"  # settings key: documents made public by migration 2, not yet seen

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: the first schema
        """
        CREATE TABLE IF NOT EXISTS documents (
            id TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT NOT NULL,
            status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, error TEXT, chunks INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS chunks (
            chunk_id TEXT PRIMARY KEY, document_id TEXT NOT NULL, chunk_index INTEGER NOT NULL,
            start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
        )
        """,
        """
        CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)
        """,
    ),
    (  # 2: a visibility per document. Every channel cited the documents a store already holds,
        # so they become public (their behaviour unchanged) and the owner is told once how many.
        "ALTER TABLE documents ADD COLUMN visibility TEXT NOT NULL DEFAULT 'owner'",
        "UPDATE documents SET visibility = 'public'",
        f"INSERT INTO settings (key, value) SELECT '{VISIBILITY_NOTICE}', CAST(COUNT(*) AS TEXT) "
        "FROM documents HAVING COUNT(*) > 0",
    ),
    (  # 3: why a document failed as a code the Documents page says in its language (error keeps
        # the parser's or the file system's words, for the log and API clients)
        "ALTER TABLE documents ADD COLUMN error_code TEXT",
    ),
)


@dataclass(frozen=True)
class Document:
    id: str
    name: str
    size: int
    kind: DocumentKind
    status: Status
    progress: float
    error: str | None
    chunks: int
    attempts: int
    created_at: float
    visibility: Visibility
    error_code: str | None = None  # aiclone_wire.error_codes: what the Documents page says


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    document_id: str
    document_name: str
    chunk_index: int
    start: int
    end: int
    text: str
    visibility: Visibility


def display_name(uploaded: str | None) -> str:
    """The last path component, without control characters, at most 200 characters."""
    name = re.split(r"[\\/]", uploaded or "")[-1]
    name = "".join(
        ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C"
    ).strip()
    name = name.strip(". ") or "document"
    return name[:200]


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.part")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.files_dir = root / "files"
        self.text_dir = root / "text"
        for folder in (self.files_dir, self.text_dir):
            folder.mkdir(parents=True, exist_ok=True)
            for partial in folder.glob(".*.part"):
                partial.unlink(missing_ok=True)
        self._db = sqlite3.connect(
            private_file(root / "documents.sqlite3"), check_same_thread=False, isolation_level=None
        )
        migrate(self._db, MIGRATIONS, root / "documents.sqlite3")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()

    def _rows(self, sql: str, args: tuple = ()) -> list[Document]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, size, kind, status, progress, error, chunks, attempts, created_at, visibility, "
                "error_code "
                f"FROM documents {sql}",
                args,
            ).fetchall()
        return [Document(*row) for row in rows]

    def create(self, name: str, kind: DocumentKind, data: bytes, visibility: Visibility = "owner") -> Document:
        document_id = uuid.uuid4().hex
        _atomic_write(self.files_dir / document_id, data)
        with self._lock:
            self._db.execute(
                "INSERT INTO documents (id, name, size, kind, status, created_at, visibility) "
                "VALUES (?, ?, ?, ?, 'queued', ?, ?)",
                (document_id, display_name(name), len(data), kind, time.time(), visibility),
            )
        return self.get(document_id)  # type: ignore[return-value]

    def get(self, document_id: str) -> Document | None:
        found = self._rows("WHERE id = ?", (document_id,))
        return found[0] if found else None

    def list(self) -> list[Document]:
        return self._rows("ORDER BY created_at, id")

    def with_status(self, *statuses: Status) -> builtins.list[Document]:
        marks = ",".join("?" * len(statuses))
        return self._rows(f"WHERE status IN ({marks}) ORDER BY created_at, id", statuses)

    def ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT id FROM documents")}

    def update(self, document_id: str, **fields) -> None:
        assignments = ", ".join(f"{key} = ?" for key in fields)
        with self._lock:
            self._db.execute(
                f"UPDATE documents SET {assignments} WHERE id = ?", (*fields.values(), document_id)
            )

    def requeue(self, document_id: str) -> None:
        """Back to ``queued`` with its chunk rows gone (the indexes are purged by the caller)."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
            self._db.execute(
                "UPDATE documents SET status = 'queued', progress = 0, error = NULL, error_code = NULL, chunks = 0 "
                "WHERE id = ?",
                (document_id,),
            )

    def mark_ready(self, document_id: str, rows: builtins.list[tuple[str, int, int, int, str]]) -> None:
        """Store ``(chunk_id, index, start, end, text)`` rows and flip the document to ready, atomically."""
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
            self._db.executemany(
                "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (chunk_id, document_id, index, start, end, text)
                    for chunk_id, index, start, end, text in rows
                ],
            )
            self._db.execute(
                "UPDATE documents SET status = 'ready', progress = 1, error = NULL, chunks = ? WHERE id = ?",
                (len(rows), document_id),
            )

    def chunks(self, chunk_ids: builtins.list[str], public_only: bool = False) -> dict[str, StoredChunk]:
        """The ready ones of ``chunk_ids``; with ``public_only``, only those of documents open to everyone."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        only_public = " AND d.visibility = 'public'" if public_only else ""
        with self._lock:
            rows = self._db.execute(
                f'SELECT c.chunk_id, c.document_id, d.name, c.chunk_index, c.start, c."end", c.text, d.visibility '
                f"FROM chunks c JOIN documents d ON d.id = c.document_id "
                f"WHERE c.chunk_id IN ({marks}) AND d.status = 'ready'{only_public}",
                tuple(chunk_ids),
            ).fetchall()
        return {row[0]: StoredChunk(*row) for row in rows}

    def ready_chunk_texts(self) -> builtins.list[tuple[str, builtins.list[str], builtins.list[str]]]:
        """``(document_id, chunk_ids, texts)`` of every ready document, to rebuild the lexical index."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.document_id, c.chunk_id, c.text FROM chunks c JOIN documents d ON d.id = c.document_id "
                "WHERE d.status = 'ready' ORDER BY c.document_id, c.chunk_index"
            ).fetchall()
        grouped: dict[str, tuple[list[str], list[str]]] = {}
        for document_id, chunk_id, text in rows:
            ids, texts = grouped.setdefault(document_id, ([], []))
            ids.append(chunk_id)
            texts.append(text)
        return [(document_id, ids, texts) for document_id, (ids, texts) in grouped.items()]

    def chunk_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def delete(self, document_id: str) -> None:
        with self._lock, self._db:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
            self._db.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        self.remove_files(document_id)

    def remove_files(self, document_id: str) -> None:
        (self.files_dir / document_id).unlink(missing_ok=True)
        (self.text_dir / f"{document_id}.txt").unlink(missing_ok=True)

    def stored_file_ids(self) -> set[str]:
        return {p.name for p in self.files_dir.iterdir() if not p.name.startswith(".")} | {
            p.stem for p in self.text_dir.glob("*.txt")
        }

    def read_file(self, document_id: str) -> bytes:
        return (self.files_dir / document_id).read_bytes()

    def write_text(self, document_id: str, text: str) -> None:
        _atomic_write(self.text_dir / f"{document_id}.txt", text.encode("utf-8"))

    def read_text(self, document_id: str) -> str:
        return (self.text_dir / f"{document_id}.txt").read_bytes().decode("utf-8")

    def setting(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self._db.close()
