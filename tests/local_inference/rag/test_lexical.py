"""BM25 with stemming (Rust core): word forms match in Russian and English; the index is rebuilt
from the stored chunk rows, so it holds exactly the ready documents after a restart."""

from __future__ import annotations

from aiclone_agent.rag.lexical import LexicalIndex
from aiclone_agent.rag.storage import DocumentStore
from tests.local_inference.rag.documents import EN_FACTS, RU_FACTS


def build() -> LexicalIndex:
    index = LexicalIndex()
    index.add("ru", [f"ru:{i}" for i in range(3)], RU_FACTS)
    index.add("en", [f"en:{i}" for i in range(3)], EN_FACTS)
    return index


def test_russian_word_forms_find_their_chunk():
    index = build()
    assert index.search("гарантии на вазы", 1)[0][0] == "ru:1"  # гарантия / вазу
    assert index.search("доставку в Новосибирске", 1)[0][0] == "ru:2"


def test_english_word_forms_find_their_chunk():
    index = build()
    assert index.search("warranties for lamps", 1)[0][0] == "en:1"
    assert index.search("when is the studio opened", 1)[0][0] == "en:0"


def test_unknown_words_and_stop_words_find_nothing():
    index = build()
    assert index.search("zzzqqq", 5) == []
    assert index.search("the and и в", 5) == []


def test_remove_drops_every_entry_of_a_document():
    index = build()
    index.remove("ru")
    assert index.search("гарантия", 5) == []
    assert index.document_ids() == {"en"}
    assert index.count() == 3


def test_rebuilt_from_ready_chunk_rows_only(tmp_path):
    store = DocumentStore(tmp_path)
    ready = store.create("facts.txt", "txt", b"x")
    store.mark_ready(ready.id, [(f"{ready.id}:{i}", i, 0, len(t), t) for i, t in enumerate(EN_FACTS)])
    half = store.create("half.txt", "txt", b"y")  # never finished indexing
    store.update(half.id, status="indexing")
    store.close()

    reopened = LexicalIndex(DocumentStore(tmp_path))
    assert reopened.document_ids() == {ready.id}
    assert reopened.count() == len(EN_FACTS)
    assert reopened.search("warranty", 1)[0][0] == f"{ready.id}:1"
