"""Memory fixtures: the real bundled e5 embedder (shared by the session) and a store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aiclone_agent.memory.store import MemoryStore
from aiclone_agent.rag.embeddings import E5Embedder


@pytest.fixture(scope="session")
def embedder() -> E5Embedder:
    return E5Embedder("multilingual-e5-small")


@pytest.fixture
def store(tmp_path: Path, embedder: E5Embedder) -> Iterator[MemoryStore]:
    memory = MemoryStore(tmp_path / "memory", embedder)
    yield memory
    memory.close()
