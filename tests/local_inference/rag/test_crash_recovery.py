"""kill -9 in the middle of indexing, restart: every document ends ready (or failed), and the
vector store, lexical index and chunk rows agree — no half-indexed state, no orphans."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from aiclone_agent.core.config import ConfigStore
from aiclone_agent.rag.service import RagService
from tests.local_inference.rag.documents import EN_FACTS, RU_FACTS, text_bytes
from tests.support.fixtures.agents import AgentProcess, write_config


def wait_for(url: str, predicate, timeout: float = 120) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        documents = httpx.get(f"{url}/api/rag/documents", timeout=5).json()
        if predicate(documents):
            return documents
        time.sleep(0.05)
    raise AssertionError(f"timed out: {documents}")


@pytest.mark.process
def test_kill_9_during_indexing_then_restart_is_consistent(tmp_path, model_path, embedder):
    config = write_config(
        tmp_path / "config.yaml", model={"base_model_path": str(model_path)},
        rag={"chunk_tokens": 24, "chunk_overlap_tokens": 0},
    )
    agent = AgentProcess(tmp_path, model_path, config).start()
    try:
        small = httpx.post(f"{agent.url}/api/rag/documents", files={"file": ("small.txt", text_bytes(EN_FACTS))}).json()
        wait_for(agent.url, lambda docs: docs[0]["status"] == "ready")
        big_text = text_bytes([f"{fact} (раздел {i})" for i in range(40) for fact in RU_FACTS])
        big = httpx.post(f"{agent.url}/api/rag/documents", files={"file": ("big.txt", big_text)}).json()
        wait_for(agent.url, lambda docs: any(d["status"] == "indexing" and d["progress"] > 0.1 for d in docs))
        # the event loop is free while the document is embedded: status answers meanwhile
        assert httpx.get(f"{agent.url}/api/status", timeout=5).status_code == 200
        agent.stop(signal.SIGKILL)

        agent.start()
        documents = wait_for(agent.url, lambda docs: all(d["status"] in ("ready", "failed") for d in docs))
        assert {d["id"]: d["status"] for d in documents} == {small["id"]: "ready", big["id"]: "ready"}
        hits = httpx.get(f"{agent.url}/api/rag/search", params={"q": "гарантия на вазы", "k": 3}).json()
        assert hits[0]["document_id"] == big["id"] and "гарантия" in hits[0]["text"]
    finally:
        agent.stop()

    rag = RagService(tmp_path / "data" / "rag", ConfigStore(config), embedder)
    expected = {d.id: d.chunks for d in rag.documents()}
    assert rag.document(big["id"]).attempts == 2  # it really was interrupted, then redone
    assert rag.vectors.count() == rag.lexical.count() == rag.store.chunk_count() == sum(expected.values())
    for document_id, chunks in expected.items():
        assert rag.vectors.count(document_id) == rag.lexical.count(document_id) == chunks
    assert rag.store.stored_file_ids() == set(expected)
    rag.lexical.close()
    rag.store.close()
