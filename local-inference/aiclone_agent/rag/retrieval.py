"""Hybrid retrieval: dense (ChromaDB) and lexical (BM25) rankings fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiclone_agent.rag.embeddings import Embedder
from aiclone_agent.rag.index import VectorIndex
from aiclone_agent.rag.lexical import LexicalIndex
from aiclone_agent.rag.storage import DocumentStore, Visibility

Mode = Literal["hybrid", "dense", "lexical"]
RRF_K = 60
CANDIDATES_PER_RESULT = 4


@dataclass(frozen=True)
class RetrievedChunk:
    """A passage retrieval found: what ``GET /api/rag/search`` answers (FastAPI reads the dataclass
    as its schema) and, through ``source()``, what an answer cites."""

    document_id: str
    document_name: str
    chunk_index: int
    text: str
    score: float
    start: int
    end: int
    visibility: Visibility = "owner"

    def source(self) -> dict:
        return {
            "document_id": self.document_id,
            "document_name": self.document_name,
            "chunk_index": self.chunk_index,
            "start": self.start,
            "end": self.end,
            "text": self.text,
        }


def reciprocal_rank_fusion(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Each id scores ``sum(1 / (k + rank))`` over the rankings it appears in (rank from 1)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


class Retriever:
    def __init__(
        self, embedder: Embedder | None, vectors: VectorIndex | None, lexical: LexicalIndex, store: DocumentStore
    ) -> None:
        self.embedder, self.vectors, self.lexical, self.store = embedder, vectors, lexical, store

    def ranked_ids(self, query: str, k: int, mode: Mode = "hybrid") -> list[tuple[str, float]]:
        pool = k * CANDIDATES_PER_RESULT
        embedder, vectors = self.embedder, self.vectors
        if embedder is None or vectors is None:
            return self.lexical.search(query, pool)  # no embedding model: BM25 is all there is
        dense = vectors.search(embedder.embed_query(query), pool) if mode != "lexical" else []
        lexical = self.lexical.search(query, pool) if mode != "dense" else []
        if mode == "dense":
            return dense
        if mode == "lexical":
            return lexical
        return reciprocal_rank_fusion([[i for i, _ in dense], [i for i, _ in lexical]])

    def search(self, query: str, k: int, mode: Mode = "hybrid", public_only: bool = False) -> list[RetrievedChunk]:
        """Blocking (embeds the query): call it on a worker thread. ``public_only``: the best ``k``
        among documents open to everyone (what a public channel may read), never owner-only ones."""
        if not query.strip():
            return []
        ranked = self.ranked_ids(query, k, mode)
        # Ids whose document was deleted or is being re-indexed are skipped, never cited.
        stored = self.store.chunks(
            [chunk_id for chunk_id, _ in ranked[: k * CANDIDATES_PER_RESULT]], public_only=public_only
        )
        results = []
        for chunk_id, score in ranked:
            chunk = stored.get(chunk_id)
            if chunk is None:
                continue
            results.append(RetrievedChunk(
                chunk.document_id, chunk.document_name, chunk.chunk_index, chunk.text, round(score, 6), chunk.start, chunk.end,
                chunk.visibility,
            ))
            if len(results) == k:
                break
        return results
