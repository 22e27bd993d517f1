"""BM25 keyword search with Russian and English stemming, in the Rust core (``clone_core``).

The index lives in memory and is rebuilt at startup from the stored chunk rows of the ready
documents, which hold every chunk's text: it can never disagree with them, so a crash leaves no
orphan entries to clean up. ``ReferenceLexicalIndex`` in tests/rust_core/reference.py is its
pure-Python oracle (tests/rust_core/test_lexical.py) and its baseline in bench/rust_core.py;
bench/rag_eval.py measures its recall and latency beside dense and hybrid retrieval.
"""

from __future__ import annotations

import clone_core
from aiclone_agent.rag.storage import DocumentStore


class LexicalIndex:
    def __init__(self, store: DocumentStore | None = None) -> None:
        self._index = clone_core.LexicalIndex()
        if store is not None:
            for document_id, chunk_ids, texts in store.ready_chunk_texts():
                self._index.add(document_id, chunk_ids, texts)

    def add(self, doc_id: str, chunk_ids: list[str], texts: list[str]) -> None:
        self._index.add(doc_id, chunk_ids, texts)

    def remove(self, doc_id: str) -> None:
        self._index.remove(doc_id)

    def document_ids(self) -> set[str]:
        return set(self._index.document_ids())

    def count(self, doc_id: str | None = None) -> int:
        return self._index.count(doc_id)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        return self._index.search(query, max(k, 0))

    def close(self) -> None:
        """Nothing to flush: the chunk rows are the durable copy."""
