"""Dense vectors of the remembered rounds: one ChromaDB collection, every entry tagged with its person.

ChromaDB is the durable copy (so a restart never re-embeds), but its filtered query walks the
metadata of the whole collection (about 45 ms at 10,000 entries on 2 cores, measured): a recall
reads instead an exact in-memory matrix per person, loaded from ChromaDB with ``where={"person":
...}`` the first time that person is searched and kept in step with every add and delete. A small
LRU bounds how many persons' matrices stay in memory. Each matrix holds one person's vectors only,
so a search cannot return another person's round whatever the query.

Like ``rag.index.VectorIndex`` the collection records the embedding model; opened with another one
it is emptied. A person's rounds without a vector (a crash between the row's write and the
vector's) are embedded when their matrix loads, up to ``RECONCILE_LIMIT`` at a time.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

COLLECTION = "memories"
# persons whose matrices stay loaded (at the 50,000-round cap one is 77 MB of float32)
LOADED_PERSONS = 16
# rounds without a vector embedded when a person's matrix loads (a crash leaves a few); more than
# this (a new embedding model: all of them) would stall the recall, so the rest stay BM25-only
RECONCILE_LIMIT = 64
logging.getLogger("chromadb.telemetry").setLevel(logging.CRITICAL)
log = logging.getLogger(__name__)


class _PersonMatrix:
    """One person's vectors: row ``i`` of ``vectors`` belongs to ``ids[i]``; deleted rows are masked."""

    def __init__(self, ids: list[str], vectors: np.ndarray) -> None:
        self.ids = ids
        self.vectors = vectors
        self.live = np.ones(len(ids), dtype=bool)
        self.slot = {memory_id: i for i, memory_id in enumerate(ids)}
        self.dead = 0
        self._pending: list[tuple[str, np.ndarray]] = []

    def add(self, memory_id: str, vector: np.ndarray) -> None:
        self._pending.append((memory_id, vector))

    def remove(self, memory_id: str) -> None:
        self._pending = [(i, v) for i, v in self._pending if i != memory_id]
        slot = self.slot.pop(memory_id, None)
        if slot is not None:
            self.live[slot] = False
            self.dead += 1

    def _compact(self) -> None:
        if self._pending:
            new_ids = [i for i, _ in self._pending]
            stacked = np.stack([v for _, v in self._pending]).astype(np.float32)
            self.slot.update({memory_id: len(self.ids) + n for n, memory_id in enumerate(new_ids)})
            self.ids = self.ids + new_ids
            self.vectors = np.vstack([self.vectors, stacked]) if len(self.vectors) else stacked
            self.live = np.concatenate([self.live, np.ones(len(new_ids), dtype=bool)])
            self._pending = []
        if self.dead > 0.25 * len(self.ids):
            keep = np.flatnonzero(self.live)
            self.ids = [self.ids[i] for i in keep]
            self.vectors = self.vectors[keep]
            self.live = np.ones(len(self.ids), dtype=bool)
            self.slot = {memory_id: i for i, memory_id in enumerate(self.ids)}
            self.dead = 0

    def vector(self, memory_id: str) -> np.ndarray | None:
        self._compact()
        slot = self.slot.get(memory_id)
        return self.vectors[slot] if slot is not None else None

    def search(self, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        self._compact()
        if not len(self.ids) or k <= 0:
            return []
        # einsum, not ``@``: a matrix-vector product through BLAS wakes all its threads, which costs
        # 5x more than it saves on a loaded 2-core machine (measured: 5 ms against 1.6 ms at 10,000)
        scores = np.einsum("ij,j->i", self.vectors, vector.astype(np.float32, copy=False))
        if self.dead:
            scores[~self.live] = -np.inf
        k = min(k, len(self.ids) - self.dead)
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top]


class MemoryVectors:
    def __init__(self, path: Path, model_name: str, dimension: int) -> None:
        import chromadb
        from chromadb.config import Settings

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=Settings(anonymized_telemetry=False, allow_reset=False)
        )
        self.model_name, self.dimension = model_name, dimension
        self.model_changed = False
        if COLLECTION in {c.name for c in self._client.list_collections()}:
            recorded = self._client.get_collection(COLLECTION, embedding_function=None).metadata or {}
            if recorded.get("embedding_model") != model_name or recorded.get("dimension") != dimension:
                self.model_changed = True
                self._client.delete_collection(COLLECTION)
        self._collection = self._client.get_or_create_collection(
            COLLECTION,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": model_name, "dimension": dimension},
            embedding_function=None,
        )
        self._loaded: OrderedDict[str, _PersonMatrix] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, person: str, ids: Sequence[str], vectors: np.ndarray) -> None:
        if not len(ids):
            return
        for first in range(0, len(ids), 1000):
            part = list(ids[first : first + 1000])
            self._collection.upsert(
                ids=part, embeddings=vectors[first : first + 1000], metadatas=[{"person": person}] * len(part)
            )
        with self._lock:
            matrix = self._loaded.get(person)
            if matrix is not None:
                for memory_id, vector in zip(ids, vectors, strict=True):
                    matrix.remove(memory_id)
                    matrix.add(memory_id, vector)

    def remove(self, person: str, ids: Sequence[str]) -> None:
        """Gone from ChromaDB (persisted) and from the loaded matrix when this returns."""
        for first in range(0, len(ids), 1000):
            self._collection.delete(ids=list(ids[first : first + 1000]), where={"person": person})
        with self._lock:
            matrix = self._loaded.get(person)
            if matrix is not None:
                for memory_id in ids:
                    matrix.remove(memory_id)

    def remove_person(self, person: str) -> None:
        self._collection.delete(where={"person": person})
        with self._lock:
            self._loaded.pop(person, None)

    def ids(self, person: str) -> set[str]:
        return set(self._collection.get(where={"person": person}, include=[])["ids"])

    def _matrix(
        self, person: str, row_ids: Callable[[], list[str]], embed: Callable[[list[str]], np.ndarray]
    ) -> _PersonMatrix:
        with self._lock:
            matrix = self._loaded.get(person)
            if matrix is not None:
                self._loaded.move_to_end(person)
                return matrix
        found = self._collection.get(where={"person": person}, include=["embeddings"])
        ids = list(found["ids"])
        vectors = np.asarray(found["embeddings"], dtype=np.float32).reshape(len(ids), self.dimension)
        # reconcile with the rows: a crash between a row's write and its vector's, or a new model
        rows = set(row_ids())
        orphans = [memory_id for memory_id in ids if memory_id not in rows]
        if orphans:
            self._collection.delete(ids=orphans, where={"person": person})
            keep = [i for i, memory_id in enumerate(ids) if memory_id in rows]
            ids, vectors = [ids[i] for i in keep], vectors[keep]
        missing = sorted(rows - set(ids))
        if len(missing) > RECONCILE_LIMIT:
            log.warning(
                "memory: %d rounds of one person have no vector (a new embedding model?); embedding %d now, "
                "the others are found by BM25 only",
                len(missing),
                RECONCILE_LIMIT,
            )
            missing = missing[:RECONCILE_LIMIT]
        if missing:
            log.info("memory: embedding %d rounds of one person that had no vector", len(missing))
            added = embed(missing)
            self.add(person, missing, added)
            ids, vectors = ids + missing, np.vstack([vectors, added]) if len(vectors) else added
        matrix = _PersonMatrix(ids, vectors)
        with self._lock:
            self._loaded[person] = matrix
            while len(self._loaded) > LOADED_PERSONS:
                self._loaded.popitem(last=False)
        return matrix

    def search(
        self,
        person: str,
        vector: np.ndarray,
        k: int,
        row_ids: Callable[[], list[str]],
        embed: Callable[[list[str]], np.ndarray],
    ) -> list[tuple[str, float]]:
        """``person``'s ``k`` nearest rounds, cosine best first. ``row_ids`` and ``embed`` reconcile
        the person's vectors with their rows on first load."""
        matrix = self._matrix(person, row_ids, embed)
        with self._lock:
            return matrix.search(vector, k)

    def vector(self, person: str, memory_id: str) -> np.ndarray | None:
        """The stored vector of one of ``person``'s rounds, when that person's matrix is loaded."""
        with self._lock:
            matrix = self._loaded.get(person)
            return matrix.vector(memory_id) if matrix is not None else None

    def count(self) -> int:
        return self._collection.count()
