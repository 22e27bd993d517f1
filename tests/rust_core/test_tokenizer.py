"""Token ids equal llama.cpp's for the bundled model, and the pure-Python reference's."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.rust_core import reference

from .corpus import lines

CORPUS = lines()
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВ .,!?\n\t 0123456789'😀👍🏽")),
    ),
    max_size=80,
)


def test_corpus_is_big_and_mixed() -> None:
    assert len(CORPUS) >= 2000
    joined = "".join(CORPUS)
    assert "ё" in joined and "The" in joined and "😀" in joined and "def " in joined and "   " in joined


@pytest.mark.parametrize("special", [False, True])
def test_ids_equal_llama_cpp_on_the_corpus(tok, llama, special: bool) -> None:
    mismatches = [
        line
        for line in CORPUS
        if tok.encode(line, parse_special=special) != llama.tokenize(line.encode(), add_bos=False, special=special)
    ]
    assert not mismatches, f"{len(mismatches)}/{len(CORPUS)} lines differ, e.g. {mismatches[:3]!r}"


def test_chatml_specials_are_parsed_only_when_asked(tok, llama) -> None:
    text = "<|im_start|>user\nПривет!<|im_end|>\n"
    parsed = tok.encode(text, parse_special=True)
    assert parsed[0] == tok.special_tokens["<|im_start|>"] and tok.special_tokens["<|im_end|>"] in parsed
    assert parsed == llama.tokenize(text.encode(), add_bos=False, special=True)
    assert tok.special_tokens["<|im_start|>"] not in tok.encode(text)


def test_bos_eos_and_add_special(tok, llama) -> None:
    assert (tok.bos_id, tok.eos_id) == (llama.token_bos(), llama.token_eos())
    assert tok.encode("hi", add_special=True) == llama.tokenize(b"hi", add_bos=True, special=True)


def test_counts_batches_and_round_trip(tok) -> None:
    counts = tok.count_batch(CORPUS)
    assert counts == [len(tok.encode(line)) for line in CORPUS]
    assert tok.count_batch(CORPUS, parse_special=True) == [tok.count(t, parse_special=True) for t in CORPUS]
    assert tok.encode_batch(CORPUS[:50]) == [tok.encode(t) for t in CORPUS[:50]]
    for line in CORPUS:
        assert tok.decode(tok.encode(line)) == line


def test_reference_equals_rust_on_the_corpus(tok, ref) -> None:
    for special in (False, True):
        assert [tok.encode(t, parse_special=special) for t in CORPUS] == [
            ref.encode(t, parse_special=special) for t in CORPUS
        ]
    assert ref.count_batch(CORPUS) == tok.count_batch(CORPUS)


@settings(max_examples=300, deadline=None)
@given(text=TEXT, special=st.booleans())
def test_rust_equals_reference(tok, ref, text: str, special: bool) -> None:
    ids = tok.encode(text, parse_special=special)
    assert ids == ref.encode(text, parse_special=special)
    assert tok.count(text, parse_special=special) == len(ids)
    assert tok.decode(ids) == ref.decode(ids)


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(st.integers(min_value=0, max_value=49151), max_size=20))
def test_decode_of_any_ids_equals_reference(tok, ref, ids: list[int]) -> None:
    assert tok.decode(ids) == ref.decode(ids)
    assert tok.decode(ids, skip_special=True) == ref.decode(ids, skip_special=True)


def test_tokenizer_json_matches_gguf(tok, ref, tmp_path) -> None:
    path = tmp_path / "tokenizer.json"
    ref._hf.save(str(path))
    from_json = type(tok).from_file(path)
    for line in CORPUS[:300]:
        assert from_json.encode(line) == tok.encode(line)
        assert from_json.decode(tok.encode(line)) == line


def test_reference_reads_the_same_metadata(model_path, tok) -> None:
    meta = reference.read_gguf_metadata(model_path)
    assert len(meta["tokenizer.ggml.tokens"]) == tok.vocab_size
