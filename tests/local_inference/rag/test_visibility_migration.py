"""A knowledge base written before documents had a visibility: every channel cited its documents,
so on upgrade they are open to everyone (their behaviour unchanged), and the owner is told so once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from aiclone_agent.app import create_app
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.rag.embeddings import E5Embedder
from aiclone_agent.rag.service import RagService
from tests.local_inference.rag.documents import EN_FACTS, text_bytes
from tests.support.fixtures.agents import write_config

QUESTION = "How long is the warranty on a ceramic lamp?"


async def _old_store(root: Path, embedder: E5Embedder) -> str:
    """A store as the release before visibility left it: indexed (ChromaDB + chunk rows), schema
    version 1, no ``visibility`` column, no notice. The document's id."""
    rag = RagService(root, ConfigStore(root.parent / "config.yaml"), embedder)
    await rag.start()
    try:
        document = await rag.upload("handbook.txt", text_bytes(EN_FACTS))
        await rag.ingestor.idle()
        assert rag.document(document.id).status == "ready"
    finally:
        await rag.close()
    db = sqlite3.connect(root / "documents.sqlite3", isolation_level=None)
    try:
        db.execute("ALTER TABLE documents DROP COLUMN error_code")  # migration 3 (issue 25)
        db.execute("ALTER TABLE documents DROP COLUMN visibility")
        db.execute("DELETE FROM settings WHERE key = 'visibility_notice'")
        db.execute("PRAGMA user_version = 1")
        assert [c[1] for c in db.execute("PRAGMA table_info(documents)")][-1] == "created_at"
    finally:
        db.close()
    return document.id


async def test_an_old_store_opens_with_its_documents_public_and_one_notice(tmp_path: Path, embedder, engine):
    data_dir = tmp_path / "data"
    document_id = await _old_store(data_dir / "rag", embedder)
    config_path = write_config(tmp_path / "config.yaml")
    env = EnvSettings(config=config_path, data_dir=data_dir, models_dir=tmp_path / "models")
    app = create_app(env, ConfigStore(config_path), engine)
    runtime = app.state.runtime
    await runtime.rag.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:3000") as client:
            (document,) = (await client.get("/api/rag/documents")).json()
            assert (document["id"], document["visibility"]) == (document_id, "public")
            assert document["error_code"] is None  # the later migration's column, empty
            assert (await client.get("/api/rag/visibility-notice")).json() == {"made_public": 1}
            # as before the upgrade, the public web chat still cites it
            _, generation = await runtime.chat.start_conversation_turn(
                QUESTION, None, SamplingParams(max_tokens=2), "web"
            )
            async for _ in generation.chunks():
                pass
            assert [s["document_id"] for s in generation.sources][:1] == [document_id]
            # a new upload is the owner's: the migration decided only for what was there
            new = await client.post("/api/rag/documents", files={"file": ("new.txt", b"Fresh notes.")})
            assert new.json()["visibility"] == "owner"
            assert (await client.delete("/api/rag/visibility-notice")).status_code == 204
            assert (await client.get("/api/rag/visibility-notice")).json() == {"made_public": None}
    finally:
        await runtime.rag.close()
        runtime.store.close()
    reopened = RagService(data_dir / "rag", ConfigStore(config_path), embedder)
    try:
        assert reopened.visibility_notice() is None  # once: seen, it never comes back
        assert reopened.document(document_id).visibility == "public"
    finally:
        await reopened.close()


async def test_a_new_store_has_no_notice(rag: RagService):
    assert rag.visibility_notice() is None
    document = await rag.upload("notes.txt", text_bytes(EN_FACTS))
    assert document.visibility == "owner" and rag.visibility_notice() is None
