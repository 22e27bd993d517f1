"""Chunking: token bound, offsets are str indices, sentence/paragraph cuts; Rust equals reference."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clone_core
from tests.rust_core import reference

DOC = (
    "Первый абзац о погоде. Сегодня солнечно! Завтра — дождь?\n\n"
    "The second paragraph is in English. It has three sentences. Really.\n\n"
    "Третий абзац: эмодзи 😀 и числа 3.14159, а также код `x = 1`.\n"
) * 6


def check(tok, text: str, max_tokens: int, overlap: int) -> list[clone_core.Chunk]:
    chunks = tok.chunk(text, max_tokens, overlap)
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.tokens == tok.count(c.text)
        assert c.tokens <= max_tokens or len(c.text) == 1, "only one character may exceed the bound"
    assert all(a.start <= b.start for a, b in itertools.pairwise(chunks))
    return chunks


@pytest.mark.parametrize(("max_tokens", "overlap"), [(16, 0), (40, 8), (100, 20), (1000, 0)])
def test_invariants(tok, max_tokens: int, overlap: int) -> None:
    chunks = check(tok, DOC, max_tokens, overlap)
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered or ch.isspace() for i, ch in enumerate(DOC))


def test_cuts_at_sentence_and_paragraph_ends(tok) -> None:
    chunks = check(tok, DOC, 60, 0)
    assert len(chunks) > 3
    assert sum(c.text[-1] in ".!?" for c in chunks[:-1]) >= len(chunks) - 2


def test_overlap_repeats_text(tok) -> None:
    chunks = check(tok, DOC, 50, 15)
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))


def test_huge_word_and_empty(tok) -> None:
    check(tok, "x" * 5000 + " tail.", 20, 5)
    assert tok.chunk("", 10) == []


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (-1, 0), (10, 10), (10, -1)])
def test_bad_budgets(tok, max_tokens: int, overlap: int) -> None:
    with pytest.raises(clone_core.InvalidInputError):
        tok.chunk("text", max_tokens, overlap)


WORDS = st.sampled_from(["Слово", "word", "ёж", "😀", "42", ".", "!", "?", " ", "  ", "\n", "\n\n", "«да.»", "…", "\t", "x" * 30])


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(st.one_of(WORDS, st.text(max_size=10)), max_size=60),
    max_tokens=st.integers(min_value=1, max_value=40),
    overlap=st.integers(min_value=0, max_value=39),
)
def test_rust_equals_reference(tok, ref, parts, max_tokens, overlap) -> None:
    overlap = min(overlap, max_tokens - 1)
    text = "".join(parts)
    got = [(c.text, c.start, c.end, c.tokens) for c in check(tok, text, max_tokens, overlap)]
    expected = [(c.text, c.start, c.end, c.tokens) for c in reference.chunk(ref, text, max_tokens, overlap)]
    assert got == expected
