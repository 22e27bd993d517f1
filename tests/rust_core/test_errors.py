"""Bad input gives a clear Python exception; a Rust panic never aborts the process."""

from __future__ import annotations

import struct

import pytest

import clone_core
from clone_core import _core
from tests.support.gguf_files import nested_arrays


def gguf_without_tokenizer(path) -> None:
    key, value = b"general.architecture", b"llama"
    path.write_bytes(
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(key)) + key
        + struct.pack("<IQ", 8, len(value)) + value
    )


def test_gguf_without_tokenizer_metadata(tmp_path) -> None:
    path = tmp_path / "empty.gguf"
    gguf_without_tokenizer(path)
    with pytest.raises(clone_core.ModelFormatError, match="tokenizer metadata"):
        clone_core.Tokenizer.from_gguf(path)


def test_not_a_gguf_and_missing_file(tmp_path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(clone_core.ModelFormatError, match=r"not a GGUF v2\+ file"):
        clone_core.Tokenizer.from_gguf(bad)
    with pytest.raises(clone_core.ModelFormatError, match=r"missing\.gguf"):
        clone_core.Tokenizer.from_gguf(tmp_path / "missing.gguf")
    with pytest.raises(clone_core.CoreError):
        clone_core.Tokenizer.from_file(bad)


def test_the_header_reader_says_the_bare_reason_and_the_tokenizer_shares_its_bounds(tmp_path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(clone_core.ModelFormatError, match=r"^not a GGUF v2\+ file$"):
        clone_core.read_gguf_header(bad)
    with pytest.raises(FileNotFoundError, match=r"missing\.gguf"):  # as open() would raise it
        clone_core.read_gguf_header(tmp_path / "missing.gguf")
    nested = nested_arrays(tmp_path)  # the tokenizer loads its vocabulary through the same scan
    with pytest.raises(clone_core.ModelFormatError, match=r"'evil\.nested' nests arrays more than 3 deep"):
        clone_core.read_gguf_header(nested)
    with pytest.raises(clone_core.ModelFormatError, match=r"'evil\.nested' nests arrays more than 3 deep"):
        clone_core.Tokenizer.from_gguf(nested)


def test_invalid_ids_and_wrong_types(tok) -> None:
    for ids in ([-1], [tok.vocab_size], [2**40]):
        with pytest.raises(clone_core.InvalidInputError, match="invalid token id"):
            tok.decode(ids)
    with pytest.raises(OverflowError):
        tok.decode([2**70])
    with pytest.raises(TypeError):
        tok.encode(b"bytes are not text")  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        tok.encode("lone surrogate \udc80")
    with pytest.raises(clone_core.InvalidInputError):
        clone_core.StreamDecoder(tok).feed([-3])
    with pytest.raises(clone_core.InvalidInputError, match="empty"):
        clone_core.StreamDecoder(tok, stop=[""])


def test_empty_and_enormous_inputs(tok) -> None:
    assert tok.encode("") == [] and tok.count("") == 0 and tok.decode([]) == ""
    assert tok.count_batch([]) == [] and tok.count_batch(["", ""]) == [0, 0]
    big = "Большой текст, big text. " * 200_000  # ~5 MB
    assert tok.count(big) == sum(tok.count_batch(big.split("\n")))
    assert tok.chunk(big[:200_000], 256)[0].tokens <= 256


def test_panic_becomes_a_normal_exception() -> None:
    with pytest.raises(clone_core.InternalError, match="deliberate panic") as info:
        _core._debug_panic()
    assert isinstance(info.value, RuntimeError)
    assert issubclass(clone_core.InternalError, clone_core.CoreError)
