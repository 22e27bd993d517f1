"""Chunks: offsets point into the text, the token bound holds, neighbours overlap."""

from __future__ import annotations

import itertools

from aiclone_agent.rag.chunking import chunk_text
from tests.local_inference.rag.documents import EN_FACTS, RU_FACTS


def words(text: str) -> int:
    return len(text.split())


def test_offsets_slice_the_exact_chunk_text_and_cover_every_paragraph():
    text = "\n\n".join(RU_FACTS + EN_FACTS) * 3
    chunks = chunk_text(text, words, max_tokens=30, overlap_tokens=0)
    assert len(chunks) > 3
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.tokens == words(chunk.text) <= 30
    covered = " ".join(text[c.start : c.end] for c in chunks)
    assert covered.split() == text.split()


def test_a_paragraph_longer_than_the_bound_is_cut_at_sentences_then_words():
    sentence = "Первое предложение про гарантию. "
    text = sentence * 20 + "x " * 100
    chunks = chunk_text(text, words, max_tokens=12, overlap_tokens=0)
    assert all(c.tokens <= 12 for c in chunks)
    assert chunks[0].text.endswith("гарантию.")


def test_overlap_repeats_the_tail_of_the_previous_chunk():
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, words, max_tokens=25, overlap_tokens=10)
    for previous, current in itertools.pairwise(chunks):
        assert previous.start < current.start < previous.end
        assert text[current.start : previous.end].strip()


def test_a_small_text_is_one_chunk():
    chunks = chunk_text("  Hello there.  ", words, max_tokens=100)
    assert [(c.text, c.start, c.end) for c in chunks] == [("Hello there.", 2, 14)]
