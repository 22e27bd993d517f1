"""``RagService``: what the API and the chat use — upload, list, delete, reindex, search."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path

import anyio

from aiclone_agent.core.config import ConfigStore
from aiclone_agent.core.errors import ApiError
from aiclone_agent.rag.embeddings import Embedder, approximate_token_count, load_embedder
from aiclone_agent.rag.index import VectorIndex
from aiclone_agent.rag.ingestion import IngestionSettings, Ingestor
from aiclone_agent.rag.lexical import LexicalIndex
from aiclone_agent.rag.parsers import ArchiveLimits, ParseError
from aiclone_agent.rag.parsers.docx import check_archive
from aiclone_agent.rag.retrieval import Mode, RetrievedChunk, Retriever
from aiclone_agent.rag.sniffing import DocumentKind, UnsupportedDocumentError, sniff
from aiclone_agent.rag.storage import VISIBILITY_NOTICE, Document, DocumentStore, Visibility

MB = 1024 * 1024
log = logging.getLogger(__name__)


class DocumentRejectedError(ApiError):
    """An upload refused before it is stored (empty, too large, not a supported type, hostile)."""


class DocumentNotFoundError(ApiError):
    def __init__(self, document_id: str) -> None:
        super().__init__(404, f"document {document_id} not found", code="document_not_found", param="id")


class RagService:
    def __init__(self, root: Path, config: ConfigStore, embedder: Embedder | None = None) -> None:
        self.config = config
        self.note: str | None = None  # why search is lexical only, shown in /api/status and the admin
        if embedder is None:
            embedder, self.note = load_embedder(config.current.rag.embedding_model)
            if self.note:
                log.warning("%s", self.note)
        self.embedder = embedder
        self.store = DocumentStore(root)
        self.vectors = (
            VectorIndex(root / "chroma", embedder.name, embedder.dimension) if embedder is not None else None
        )
        self.lexical = LexicalIndex(self.store)
        self.retriever = Retriever(self.embedder, self.vectors, self.lexical, self.store)
        count_tokens = embedder.count_tokens if embedder is not None else approximate_token_count
        self.ingestor = Ingestor(
            self.store, self.vectors, self.lexical, embedder, count_tokens, self._settings
        )

    def status(self) -> dict:
        return {
            "search": "hybrid" if self.embedder is not None else "lexical",
            "note": self.note,  # English, with the loader's words: for the log and API clients
            "note_code": "search_lexical_only" if self.note else None,
        }

    def _settings(self) -> IngestionSettings:
        rag = self.config.current.rag
        return IngestionSettings(
            chunk_tokens=rag.chunk_tokens,
            overlap_tokens=rag.chunk_overlap_tokens,
            limits=ArchiveLimits(rag.max_unpacked_mb * MB, rag.max_archive_entries),
            max_attempts=rag.max_attempts,
        )

    @property
    def max_upload_bytes(self) -> int:
        return self.config.current.rag.max_upload_mb * MB

    async def start(self) -> None:
        await self.ingestor.start()

    async def close(self) -> None:
        await self.ingestor.close()
        self.lexical.close()
        self.store.close()

    def check_upload(self, data: bytes) -> DocumentKind:
        """The document's kind, decided from its bytes; raises ``DocumentRejectedError``."""
        if len(data) > self.max_upload_bytes:
            raise DocumentRejectedError(
                413,
                f"the file is over the {self.config.current.rag.max_upload_mb} MB limit",
                code="file_too_large",
                param="file",
                params={"max_mb": self.config.current.rag.max_upload_mb},
            )
        try:
            kind = sniff(data)
            if kind == "docx":
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    check_archive(archive, self._settings().limits)
        except UnsupportedDocumentError as exc:
            code = "empty_file" if not data else "unsupported_document"
            raise DocumentRejectedError(400 if not data else 415, str(exc), code=code, param="file") from exc
        except ParseError as exc:
            raise DocumentRejectedError(415, str(exc), code="unsafe_document", param="file") from exc
        return kind

    async def upload(self, name: str | None, data: bytes, visibility: Visibility = "owner") -> Document:
        kind = await anyio.to_thread.run_sync(self.check_upload, data)
        document = await anyio.to_thread.run_sync(self.store.create, name or "", kind, data, visibility)
        self.ingestor.enqueue(document.id)
        return document

    def documents(self) -> list[Document]:
        return self.store.list()

    def document(self, document_id: str) -> Document:
        document = self.store.get(document_id)
        if document is None:
            raise DocumentNotFoundError(document_id)
        return document

    def set_visibility(self, document_id: str, visibility: Visibility) -> Document:
        """Takes effect with the next question: retrieval reads it from the store, nothing is re-embedded."""
        self.document(document_id)
        self.store.update(document_id, visibility=visibility)
        return self.document(document_id)

    def visibility_notice(self) -> int | None:
        """How many documents the upgrade made public (every channel cited them before), until the owner has seen it."""
        value = self.store.setting(VISIBILITY_NOTICE)
        return int(value) if value and value != "seen" else None

    def dismiss_visibility_notice(self) -> None:
        if self.store.setting(VISIBILITY_NOTICE) is not None:
            self.store.set_setting(VISIBILITY_NOTICE, "seen")

    async def delete(self, document_id: str) -> None:
        self.document(document_id)
        async with self.ingestor.commit_lock:
            await anyio.to_thread.run_sync(self.store.delete, document_id)
            await anyio.to_thread.run_sync(self.ingestor.purge, document_id)

    async def reindex(self) -> list[Document]:
        """Re-extract, re-chunk and re-embed every document (ready or failed)."""
        async with self.ingestor.commit_lock:
            for document in self.store.with_status("ready", "failed"):
                await anyio.to_thread.run_sync(self.ingestor.purge, document.id)
                self.store.requeue(document.id)
                self.store.update(document.id, attempts=0)
                self.ingestor.enqueue(document.id)
        return self.store.list()

    async def search(
        self, query: str, k: int | None = None, mode: Mode = "hybrid", public_only: bool = False
    ) -> list[RetrievedChunk]:
        rag = self.config.current.rag
        if not rag.enabled or self.store.chunk_count() == 0:
            return []
        return await anyio.to_thread.run_sync(self.retriever.search, query, k or rag.top_k, mode, public_only)

    async def knowledge_for(self, question: str, public_only: bool = False) -> list[RetrievedChunk]:
        """``search`` for the chat: a broken index degrades answers to no context, never fails them.
        ``public_only`` for a public channel's asker: only documents open to everyone."""
        try:
            return await self.search(question, public_only=public_only)
        except Exception:
            log.exception("knowledge-base retrieval failed; answering without it")
            return []
