"""StreamText: only whole UTF-8 characters out, stop sequences never leak, even split across tokens."""

from __future__ import annotations

from aiclone_agent.engine.stream_text import StreamText


def feed_all(stream: StreamText, pieces: list[bytes]) -> str:
    return "".join(stream.feed(p) for p in pieces) + stream.finish()


def test_multibyte_characters_split_across_tokens():
    data = "Привет 😀 мир".encode()
    pieces = [data[i : i + 1] for i in range(len(data))]
    stream = StreamText()
    outputs = [stream.feed(p) for p in pieces]
    assert all("\ufffd" not in out for out in outputs)
    assert "".join(outputs) + stream.finish() == "Привет 😀 мир"


def test_stop_split_across_tokens_is_not_emitted():
    stream = StreamText(("<|im_end|>",))
    text = feed_all(stream, [b"Hello", b" <|im", b"_e", b"nd|> more"])
    assert text == "Hello "
    assert stream.stopped and stream.matched_stop == "<|im_end|>"


def test_held_back_prefix_is_released_when_it_is_not_a_stop():
    stream = StreamText(("STOP",))
    assert stream.feed(b"abc ST") == "abc "
    assert stream.feed(b"ART") == "START"
    assert not stream.stopped


def test_earliest_stop_wins():
    stream = StreamText(("world", "lo"))
    assert feed_all(stream, [b"hello world"]) == "hel"
    assert stream.matched_stop == "lo"


def test_incomplete_character_at_the_end_becomes_replacement():
    stream = StreamText()
    assert feed_all(stream, ["ж".encode()[:1]]) == "\ufffd"
