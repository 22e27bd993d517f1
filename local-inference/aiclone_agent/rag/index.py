"""Dense vectors in ChromaDB (embedded ``PersistentClient`` under the data dir).

The collection records the embedding model's name and dimension; opening it with another
model answers ``model_changed`` so the caller re-embeds everything instead of mixing vectors
from two models in one space.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TypedDict, cast

import numpy as np

COLLECTION = "chunks"
logging.getLogger("chromadb.telemetry").setLevel(logging.CRITICAL)


class _ChunkMetadata(TypedDict):
    document_id: str  # the one field ``add`` writes on every chunk


class VectorIndex:
    def __init__(self, path: Path, model_name: str, dimension: int) -> None:
        import chromadb
        from chromadb.config import Settings

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
        self.model_name, self.dimension = model_name, dimension
        self.model_changed = False
        existing = {c.name for c in self._client.list_collections()}
        if COLLECTION in existing:
            collection = self._client.get_collection(COLLECTION, embedding_function=None)
            recorded = collection.metadata or {}
            if recorded.get("embedding_model") != model_name or recorded.get("dimension") != dimension:
                self.model_changed = True
                self._client.delete_collection(COLLECTION)
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model_name, "dimension": dimension},
            embedding_function=None,
        )

    @property
    def recorded_model(self) -> dict:
        return dict(self._collection.metadata or {})

    def add(self, document_id: str, chunk_ids: list[str], vectors: np.ndarray, batch: int = 1000) -> None:
        for first in range(0, len(chunk_ids), batch):
            ids = chunk_ids[first : first + batch]
            self._collection.upsert(
                ids=ids,
                embeddings=vectors[first : first + batch],
                metadatas=[{"document_id": document_id}] * len(ids),
            )

    def remove(self, document_id: str) -> None:
        self._collection.delete(where={"document_id": document_id})

    def count(self, document_id: str | None = None) -> int:
        if document_id is None:
            return self._collection.count()
        return len(self._collection.get(where={"document_id": document_id}, include=[])["ids"])

    def document_ids(self) -> set[str]:
        found = self._collection.get(include=["metadatas"])
        # chromadb types a metadata value as any scalar: ``add`` writes ``document_id`` as a str
        metadatas = cast("list[_ChunkMetadata | None]", found["metadatas"] or [])
        return {meta["document_id"] for meta in metadatas if meta}

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        total = self._collection.count()
        if total == 0 or k <= 0:
            return []
        result = self._collection.query(query_embeddings=[vector], n_results=min(k, total), include=["distances"])
        distances = result["distances"]
        assert distances is not None  # asked for in ``include``
        return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(result["ids"][0], distances[0], strict=True)]
