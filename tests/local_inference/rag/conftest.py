"""RAG fixtures: a started ``RagService`` on a temp data dir, with the real bundled embedder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aiclone_agent.core.config import ConfigStore
from aiclone_agent.rag.embeddings import E5Embedder
from aiclone_agent.rag.service import RagService


@pytest.fixture(scope="session")
def embedder() -> E5Embedder:
    return E5Embedder("multilingual-e5-small")


@pytest.fixture
async def rag(tmp_path: Path, embedder: E5Embedder) -> AsyncIterator[RagService]:
    service = RagService(tmp_path / "rag", ConfigStore(tmp_path / "config.yaml"), embedder)
    await service.start()
    yield service
    await service.close()
