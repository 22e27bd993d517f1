"""BM25 over remembered rounds, in the Rust core (``clone_core``), one index per person.

A person's index is built from their rows the first time they are searched (like
``rag.lexical``, the rows are the durable copy, so a restart or a crash leaves nothing to clean
up) and kept in step with every add and delete. One index per person keeps persons apart by
construction, and keeps each person's term statistics their own. A small LRU bounds how many
persons' indexes stay in memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import clone_core

LOADED_PERSONS = 16
Loader = Callable[[str], tuple[list[str], list[str]]]


class MemoryLexical:
    def __init__(self, load: Loader) -> None:
        """``load(person)`` gives every id and text of that person's rounds."""
        self._load = load
        self._loaded: OrderedDict[str, clone_core.LexicalIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._analyzer = clone_core.LexicalIndex()

    def _index(self, person: str) -> clone_core.LexicalIndex:
        index = self._loaded.get(person)
        if index is not None:
            self._loaded.move_to_end(person)
            return index
        index = clone_core.LexicalIndex()
        ids, texts = self._load(person)
        for first in range(0, len(ids), 2000):
            part = ids[first : first + 2000]
            for memory_id, text in zip(part, texts[first : first + 2000], strict=True):
                index.add(memory_id, [memory_id], [text])
        self._loaded[person] = index
        while len(self._loaded) > LOADED_PERSONS:
            self._loaded.popitem(last=False)
        return index

    def add(self, person: str, memory_id: str, text: str) -> None:
        with self._lock:
            index = self._loaded.get(person)
            if index is not None:  # not loaded: built from the rows (this one included) when needed
                index.add(memory_id, [memory_id], [text])

    def remove(self, person: str, ids: Sequence[str]) -> None:
        with self._lock:
            index = self._loaded.get(person)
            if index is not None:
                for memory_id in ids:
                    index.remove(memory_id)

    def remove_person(self, person: str) -> None:
        with self._lock:
            self._loaded.pop(person, None)

    def search(self, person: str, query: str, k: int) -> list[tuple[str, float]]:
        with self._lock:
            return self._index(person).search(query, max(k, 0))

    def terms(self, text: str) -> list[str]:
        """The index terms of ``text`` (lower-cased, stop words dropped, stemmed)."""
        return self._analyzer.analyze(text)

    def count(self, person: str) -> int:
        with self._lock:
            index = self._loaded.get(person)
            return index.count() if index is not None else 0
