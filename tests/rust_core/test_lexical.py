"""clone_core.LexicalIndex (BM25, Russian + English stemming) against the pure-Python reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clone_core import InvalidInputError, LexicalIndex
from tests.rust_core.reference import ReferenceLexicalIndex

WORDS = ["доставка", "доставки", "доставкой", "курьер", "курьерская", "оплата", "оплатой", "наличными", "Москва", "Москве", "цена", "цены", "ёлка", "Ёжик", "delivery", "deliveries", "courier", "couriers", "payment", "paid", "price", "prices", "running", "runner", "internal", "universal", "x2", "42", "2024", "price_list", "café", "naïve"]
texts = st.lists(st.sampled_from([*WORDS, "и", "the", "не"]), min_size=0, max_size=25).map(" ".join)
free_text = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs", "P")), max_size=80)


def build(index, docs):
    for doc_id, chunks in docs.items():
        index.add(doc_id, [f"{doc_id}-{i}" for i in range(len(chunks))], chunks)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.lists(texts, min_size=1, max_size=6), min_size=1), texts)
def test_search_equals_reference(docs, query):
    rust, ref = LexicalIndex(), ReferenceLexicalIndex()
    build(rust, docs)
    build(ref, docs)
    got, want = rust.search(query, 10), ref.search(query, 10)
    assert tied_groups(got) == tied_groups(want)
    assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-9)


def tied_groups(ranked: list[tuple[str, float]]) -> list[set[str]]:
    """The ranking as groups of chunks whose scores agree to 1e-9: the two sum a chunk's terms in
    another order, and two chunks the reference scores 1 ulp apart may come the other way round."""
    groups: list[tuple[float, set[str]]] = []
    for chunk_id, score in ranked:
        if groups and math.isclose(groups[-1][0], score, rel_tol=1e-9):
            groups[-1][1].add(chunk_id)
        else:
            groups.append((score, {chunk_id}))
    return [ids for _, ids in groups]


@settings(max_examples=200, deadline=None)
@given(free_text)
def test_analyzer_equals_reference(text):
    assert LexicalIndex().analyze(text) == ReferenceLexicalIndex().analyzer.terms(text)


def test_finds_inflected_russian_and_english():
    index = LexicalIndex()
    index.add("prices", ["p1", "p2"], ["Доставка курьером по Москве стоит 300 рублей", "Оплата наличными курьеру"])
    index.add("faq", ["f1"], ["Couriers deliver parcels within two days"])
    assert index.search("сколько стоит доставка?", 3)[0][0] == "p1"
    assert index.search("courier delivery", 3)[0][0] == "f1"


def test_remove_and_replace():
    index = LexicalIndex()
    index.add("d1", ["c1", "c2"], ["alpha", "beta"])
    index.add("d2", ["c3"], ["alpha gamma"])
    assert index.count() == 3 and index.count("d1") == 2
    assert index.remove("d1") == 2
    assert index.document_ids() == ["d2"] and len(index) == 1
    assert index.search("beta", 5) == []
    index.add("d2", ["c4"], ["delta"])
    assert index.search("alpha", 5) == []


def test_bad_input_is_a_clear_error():
    index = LexicalIndex()
    with pytest.raises(InvalidInputError, match="differ in length"):
        index.add("d", ["a", "b"], ["only one"])
    with pytest.raises(InvalidInputError, match="unique"):
        index.add("d", ["a", "a"], ["x", "y"])
    with pytest.raises(TypeError):
        index.add("d", ["a"], [b"bytes"])
    assert index.search("", 5) == [] and index.search("x", 0) == []
    with pytest.raises(OverflowError):
        index.search("x", -1)
