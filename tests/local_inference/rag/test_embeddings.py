"""The bundled embedding model: offline, normalized, and it matches meaning across RU and EN."""

from __future__ import annotations

import os
import threading
import time

import numpy as np

from tests.local_inference.rag.documents import EN_FACTS, RU_FACTS


def test_vectors_are_unit_length_with_the_recorded_dimension(embedder):
    vectors = embedder.embed_passages(EN_FACTS + RU_FACTS)
    assert vectors.shape == (6, embedder.dimension) == (6, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert embedder.name.startswith("multilingual-e5-small")


def test_questions_land_nearest_their_answer_in_both_languages(embedder):
    passages = embedder.embed_passages(EN_FACTS + RU_FACTS)
    asked = {
        "When can I visit the studio?": 0,
        "How long are the lamps guaranteed?": 1,
        "Когда открыта мастерская?": 3,
        "Сколько ждать посылку в Новосибирск?": 5,
    }
    for question, answer in asked.items():
        assert int(np.argmax(passages @ embedder.embed_query(question))) == answer, question


def test_a_question_finds_the_answer_written_in_the_other_language(embedder):
    english, russian = embedder.embed_passages(EN_FACTS), embedder.embed_passages(RU_FACTS)
    assert int(np.argmax(english @ embedder.embed_query("Какая гарантия на лампы?"))) == 1
    assert int(np.argmax(russian @ embedder.embed_query("How long is the warranty on the vases?"))) == 1
    assert int(np.argmax(russian @ embedder.embed_query("When does the workshop open?"))) == 0


def test_an_embedding_runs_on_its_callers_thread_alone(embedder):
    """The engine's OpenMP threads take the cores while answers stream: an embedding (a memory
    recall, a search) adds no team of its own beside them, it runs on its caller's thread."""
    counts: dict[str, int] = {}

    def embed() -> None:  # a fresh thread, as the recall's worker is
        counts["before"] = len(os.listdir("/proc/self/task"))
        embedder.embed_passages(EN_FACTS * 4)
        embedder.embed_query("When can I visit the studio?")
        counts["after"] = len(os.listdir("/proc/self/task"))

    thread = threading.Thread(target=embed)
    thread.start()
    thread.join()
    assert counts["after"] == counts["before"], counts


def test_a_question_is_embedded_while_a_documents_batch_is_still_being_embedded(embedder):
    """Indexing a document embeds its chunks in batches of seconds; every answer's retrieval and
    memory recall embeds its question meanwhile and must not wait for the batch to end."""
    chunk = " ".join([EN_FACTS[0], EN_FACTS[1], EN_FACTS[2]] * 8)  # about 400 tokens: ~1 s each
    batch_done = threading.Event()

    def index() -> None:
        embedder.embed_passages([chunk, chunk])
        batch_done.set()

    thread = threading.Thread(target=index)
    thread.start()
    clock = time.pthread_getcpuclockid(thread.ident)  # the batch's own CPU time: it is computing
    deadline = time.monotonic() + 60
    while time.clock_gettime(clock) < 0.05 and thread.is_alive() and time.monotonic() < deadline:
        batch_done.wait(0.005)
    assert not batch_done.is_set(), "the batch ended before the question came: the test proves nothing"
    vector = embedder.embed_query("When can I visit the studio?")
    answered_during_the_batch = not batch_done.is_set()
    thread.join()
    assert vector.shape == (embedder.dimension,)
    assert answered_during_the_batch, "the question waited for the document's batch"
