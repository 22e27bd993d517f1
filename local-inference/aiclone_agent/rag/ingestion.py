"""Background ingestion: parse -> chunk -> embed -> commit, one document at a time.

All blocking work (parsing, embedding, index writes) runs on worker threads, never on the
event loop. A document's vectors and lexical entries are written before its chunk rows and
``ready`` status, which commit in one transaction; ``recover()`` (at startup) purges whatever
an interrupted run left for a document that is not ``ready`` and queues it again, failing it
once it has been interrupted ``max_attempts`` times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from aiclone_agent.rag.chunking import chunk_text
from aiclone_agent.rag.embeddings import LEXICAL_ONLY, Embedder
from aiclone_agent.rag.index import VectorIndex
from aiclone_agent.rag.lexical import LexicalIndex
from aiclone_agent.rag.parsers import ArchiveLimits, ParseError, extract_text
from aiclone_agent.rag.storage import DocumentStore

log = logging.getLogger(__name__)
EMBED_BATCH = 16
MODEL_SETTING = "embedding_model"


@dataclass(frozen=True)
class IngestionSettings:
    chunk_tokens: int
    overlap_tokens: int
    limits: ArchiveLimits
    max_attempts: int


class Ingestor:
    def __init__(
        self,
        store: DocumentStore,
        vectors: VectorIndex | None,
        lexical: LexicalIndex,
        embedder: Embedder | None,
        count_tokens: Callable[[str], int],
        settings: Callable[[], IngestionSettings],
    ) -> None:
        self.store, self.vectors, self.lexical, self.embedder = store, vectors, lexical, embedder
        self.count_tokens = count_tokens
        self.settings = settings
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.commit_lock = asyncio.Lock()
        self._task: asyncio.Task | None = None

    # -- startup ---------------------------------------------------------------------------
    def purge(self, document_id: str) -> None:
        """Remove a document's vectors and lexical entries (blocking)."""
        if self.vectors is not None:
            self.vectors.remove(document_id)
        self.lexical.remove(document_id)

    def recover(self) -> list[str]:
        """Make the store consistent after any stop, clean or not; returns the ids to ingest."""
        store = self.store
        model_name = self.embedder.name if self.embedder is not None else LEXICAL_ONLY
        changed = self.vectors is not None and self.vectors.model_changed
        if changed or store.setting(MODEL_SETTING) not in (None, model_name):
            log.info("embedding model is now %s: re-indexing every document", model_name)
            for document in store.with_status("ready"):
                self.purge(document.id)
                store.requeue(document.id)
                store.update(document.id, attempts=0)
        store.set_setting(MODEL_SETTING, model_name)
        max_attempts = self.settings().max_attempts
        for document in store.with_status("indexing", "queued"):
            self.purge(document.id)
            store.requeue(document.id)
            if document.attempts >= max_attempts:
                store.update(
                    document.id, status="failed",
                    error=f"indexing was interrupted {document.attempts} times (the agent stopped); use reindex to retry",
                    error_code="document_interrupted",
                )
        ready = {d.id for d in store.with_status("ready")}
        if self.vectors is not None:
            for orphan in self.vectors.document_ids() - ready:
                self.vectors.remove(orphan)
        for orphan in self.lexical.document_ids() - ready:
            self.lexical.remove(orphan)
        known = store.ids()
        for orphan in store.stored_file_ids() - known:
            store.remove_files(orphan)
        return [d.id for d in store.with_status("queued")]

    async def start(self) -> None:
        for document_id in await anyio.to_thread.run_sync(self.recover):
            self.queue.put_nowait(document_id)
        self._task = asyncio.create_task(self._run(), name="rag-ingestion")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def enqueue(self, document_id: str) -> None:
        self.queue.put_nowait(document_id)

    async def idle(self) -> None:
        await self.queue.join()

    # -- the worker --------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            document_id = await self.queue.get()
            try:
                await self.ingest(document_id)
            except Exception as exc:  # one bad document must never stop the worker
                log.exception("ingestion of %s failed", document_id)
                await self._fail(
                    document_id, f"internal error: {type(exc).__name__}: {exc}", code="document_failed"
                )
            finally:
                self.queue.task_done()

    async def _fail(self, document_id: str, reason: str, *, code: str) -> None:
        """``reason`` (a parser's or the file system's words too) is for the log and API clients;
        ``code`` is what the Documents page says (``aiclone_wire.error_codes``)."""
        async with self.commit_lock:
            await anyio.to_thread.run_sync(self.purge, document_id)
            if self.store.get(document_id) is not None:
                self.store.update(document_id, status="failed", error=reason, error_code=code, progress=0)

    async def ingest(self, document_id: str) -> None:
        document = self.store.get(document_id)
        if document is None or document.status != "queued":
            return
        settings = self.settings()
        self.store.update(document_id, status="indexing", progress=0.0, attempts=document.attempts + 1)
        try:
            data = await anyio.to_thread.run_sync(self.store.read_file, document_id)
            text = await anyio.to_thread.run_sync(extract_text, document.kind, data, settings.limits)
        except ParseError as exc:
            await self._fail(document_id, str(exc), code="document_unreadable")
            return
        except OSError as exc:
            await self._fail(document_id, str(exc), code="document_failed")
            return
        await anyio.to_thread.run_sync(self.store.write_text, document_id, text)
        chunks = await anyio.to_thread.run_sync(
            chunk_text, text, self.count_tokens, settings.chunk_tokens, settings.overlap_tokens
        )
        self.store.update(document_id, progress=0.05)
        vectors = []
        embedder = self.embedder
        for first in range(0, len(chunks) if embedder is not None else 0, EMBED_BATCH):
            if self.store.get(document_id) is None:  # deleted while indexing
                self.store.remove_files(document_id)
                return
            assert embedder is not None  # without one the range is empty
            batch = [chunk.text for chunk in chunks[first : first + EMBED_BATCH]]
            vectors.append(await anyio.to_thread.run_sync(embedder.embed_passages, batch))
            done = min(len(chunks), first + EMBED_BATCH)
            self.store.update(document_id, progress=round(0.05 + 0.9 * done / len(chunks), 3))
        chunk_ids = [f"{document_id}:{index}" for index in range(len(chunks))]
        rows = [(chunk_ids[i], i, c.start, c.end, c.text) for i, c in enumerate(chunks)]

        def commit() -> None:
            import numpy as np

            self.purge(document_id)
            if self.vectors is not None and vectors:
                self.vectors.add(document_id, chunk_ids, np.concatenate(vectors))
            self.lexical.add(document_id, chunk_ids, [c.text for c in chunks])
            self.store.mark_ready(document_id, rows)

        async with self.commit_lock:
            if self.store.get(document_id) is None:
                self.store.remove_files(document_id)
                return
            await anyio.to_thread.run_sync(commit)
        log.info("indexed %s (%s): %d chunks", document.name, document_id, len(chunks))
