"""Consistency after any stop: interrupted documents are redone, orphans are swept, and a
changed embedding model re-embeds everything instead of mixing vectors."""

from __future__ import annotations

import numpy as np

from aiclone_agent.core.config import ConfigStore
from aiclone_agent.rag.embeddings import E5Embedder
from aiclone_agent.rag.service import RagService
from tests.local_inference.rag.documents import EN_FACTS, RU_FACTS, text_bytes


async def test_a_half_indexed_document_and_orphans_are_cleaned_up_at_start(tmp_path, embedder):
    root, config = tmp_path / "rag", ConfigStore(tmp_path / "config.yaml")
    first = RagService(root, config, embedder)
    await first.start()
    ready = await first.upload("ready.txt", text_bytes(EN_FACTS))
    await first.ingestor.idle()
    # What a kill -9 in the middle of a commit leaves: a document marked indexing with some of
    # its vectors and lexical entries written, plus vectors and a file of a deleted document.
    await first.ingestor.close()
    half = first.store.create("half.txt", "txt", text_bytes(RU_FACTS))
    first.store.update(half.id, status="indexing", attempts=1)
    stray = np.ones((1, embedder.dimension), dtype=np.float32) / np.sqrt(embedder.dimension)
    first.vectors.add(half.id, [f"{half.id}:0"], stray)
    first.lexical.add(half.id, [f"{half.id}:0"], ["гарантия"])
    first.vectors.add("deleted-doc", ["deleted-doc:0"], stray)
    first.lexical.add("deleted-doc", ["deleted-doc:0"], ["warranty"])
    (root / "files" / "deleted-doc").write_bytes(b"x")
    first.lexical.close()
    first.store.close()

    second = RagService(root, config, embedder)
    await second.start()
    await second.ingestor.idle()
    documents = {d.name: d for d in second.documents()}
    assert {name: d.status for name, d in documents.items()} == {"ready.txt": "ready", "half.txt": "ready"}
    assert documents["half.txt"].attempts == 2
    total = sum(d.chunks for d in documents.values())
    assert second.vectors.count() == second.lexical.count() == second.store.chunk_count() == total
    assert second.vectors.document_ids() == second.lexical.document_ids() == {ready.id, half.id}
    assert second.store.stored_file_ids() == {ready.id, half.id}
    await second.close()


async def test_interrupted_too_often_ends_failed_and_reindex_retries(tmp_path, embedder):
    root, config = tmp_path / "rag", ConfigStore(tmp_path / "config.yaml")
    first = RagService(root, config, embedder)
    stuck = first.store.create("stuck.txt", "txt", text_bytes(EN_FACTS))
    first.store.update(stuck.id, status="indexing", attempts=3)
    first.lexical.close()
    first.store.close()

    second = RagService(root, config, embedder)
    await second.start()
    await second.ingestor.idle()
    failed = second.document(stuck.id)
    assert failed.status == "failed" and "interrupted 3 times" in failed.error
    assert failed.error_code == "document_interrupted"

    await second.reindex()
    await second.ingestor.idle()
    assert second.document(stuck.id).status == "ready"
    assert (second.document(stuck.id).error, second.document(stuck.id).error_code) == (None, None)
    await second.close()


async def test_changing_the_embedding_model_reindexes_instead_of_mixing(tmp_path, embedder):
    root, config = tmp_path / "rag", ConfigStore(tmp_path / "config.yaml")
    first = RagService(root, config, embedder)
    await first.start()
    document = await first.upload("ru.txt", text_bytes(RU_FACTS))
    await first.ingestor.idle()
    before = first.vectors._collection.get(ids=[f"{document.id}:0"], include=["embeddings"])["embeddings"][0]
    await first.close()

    config.update(lambda data: data["rag"].update(embedding_model="multilingual-e5-small-enpt"))
    other = E5Embedder("multilingual-e5-small-enpt")
    assert other.dimension == embedder.dimension  # same size: only the recorded name tells them apart
    second = RagService(root, config, other)
    await second.start()
    await second.ingestor.idle()
    assert second.vectors.recorded_model == {"embedding_model": other.name, "dimension": other.dimension}
    assert second.document(document.id).status == "ready"
    after = second.vectors._collection.get(ids=[f"{document.id}:0"], include=["embeddings"])["embeddings"][0]
    assert not np.allclose(before, after)
    assert np.allclose(after, other.embed_passages([second.store.chunks([f"{document.id}:0"])[f"{document.id}:0"].text])[0], atol=1e-5)
    await second.close()
