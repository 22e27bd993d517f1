"""Streaming detokenizer: complete UTF-8 only, stop strings never leak; Rust equals reference."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clone_core import StreamDecoder
from tests.rust_core.reference import ReferenceStreamDecoder


def run(dec, ids: list[int], step: int = 1) -> list[str]:
    outs = [dec.feed(ids[i : i + step]) for i in range(0, len(ids), step)]
    return [*outs, dec.finish()]


def test_emits_only_complete_characters(tok) -> None:
    text = "Привет 👨‍👩‍👧 мир 🇷🇺!"
    outs = run(StreamDecoder(tok), tok.encode(text))
    assert "".join(outs) == text
    assert not any("\ufffd" in o for o in outs)


def test_stop_across_tokens(tok) -> None:
    dec = StreamDecoder(tok, stop=["\nUser:", "<|im_end|>"], skip_special=False)
    outs = run(dec, tok.encode("Ответ готов.\nUser: ещё", parse_special=True))
    assert "".join(outs) == "Ответ готов."
    assert dec.stopped and dec.matched_stop == "\nUser:" and dec.stop_reason == "stop"
    assert dec.feed(tok.encode("more")) == ""


def test_special_stop_and_release_of_false_prefix(tok) -> None:
    dec = StreamDecoder(tok, stop=["<|im_end|>"], skip_special=False)
    assert "".join(run(dec, tok.encode("a <|im b<|im_end|>tail", parse_special=True))) == "a <|im b"
    dec = StreamDecoder(tok, stop=["STOP"])
    outs = run(dec, tok.encode("xSTO yST"))
    assert "".join(outs) == "xSTO yST" and not dec.stopped
    assert outs[-1] == "ST", "a possible stop prefix is held until the end"


def test_control_tokens_skipped(tok) -> None:
    assert "".join(run(StreamDecoder(tok), tok.encode("hi<|im_end|>", parse_special=True))) == "hi"


STOPS = st.lists(st.sampled_from(["\n\n", "User:", "ё.", "😀", "<|im_end|>", "ab", "a"]), max_size=3)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("abёж. \nUser:😀<|im_end>")), max_size=60), stops=STOPS, step=st.integers(1, 4))
def test_rust_equals_reference(tok, ref, text, stops, step) -> None:
    ids = tok.encode(text, parse_special=True)
    rust = StreamDecoder(tok, stop=stops, skip_special=False)
    oracle = ReferenceStreamDecoder(ref, stop=stops, skip_special=False)
    assert run(rust, ids, step) == run(oracle, ids, step)
    assert rust.matched_stop == oracle.matched_stop
    if rust.stopped:
        assert not any(s in "".join(run(StreamDecoder(tok, stop=stops, skip_special=False), ids, step)) for s in stops)
