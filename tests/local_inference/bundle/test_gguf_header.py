"""The GGUF header reader against hostile files written here byte by byte: nested arrays, counts no
file could hold, counts that fit but would build huge lists. Each is a ``GgufHeaderError`` with the
reason, found without recursing and without allocating what the header claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from aiclone_agent.bundle.gguf_header import MAX_ARRAY_DEPTH, GgufHeaderError, read_gguf_header
from tests.support.gguf_files import (
    ARRAY,
    FLOAT32,
    STRING,
    UINT8,
    array,
    gguf_with,
    nested_arrays,
)


def test_arrays_nested_10000_deep_are_refused_without_recursing(tmp_path: Path) -> None:
    with pytest.raises(GgufHeaderError, match=f"'evil.nested' nests arrays more than {MAX_ARRAY_DEPTH} deep"):
        read_gguf_header(nested_arrays(tmp_path))
    shallow = gguf_with(tmp_path / "ok.gguf", "ok.nested", ARRAY, array(ARRAY, 1) + array(UINT8, 2) + b"\1\2")
    assert read_gguf_header(shallow) == ({"ok.nested": 1}, [])  # one level of nesting still reads


@pytest.mark.parametrize(
    ("item_kind", "count", "says"),
    [
        (UINT8, 2**40, "declares 1,099,511,627,776 items in the array 'evil.huge'"),
        (STRING, 2**40, "declares 1,099,511,627,776 items in the array 'evil.huge'"),
        (ARRAY, 2**40, "declares 1,099,511,627,776 items in the array 'evil.huge'"),
        # below the cap, but the items cannot fit in the 64 bytes left in the file
        (
            FLOAT32,
            1 << 20,
            r"1,048,576 items in the array 'evil.huge' at byte \d+ runs past the end of the file",
        ),
        (
            STRING,
            1 << 20,
            r"1,048,576 items in the array 'evil.huge' at byte \d+ runs past the end of the file",
        ),
    ],
)
def test_counts_the_file_cannot_hold_are_refused_before_any_item_is_read(
    tmp_path: Path, item_kind: int, count: int, says: str
) -> None:
    path = gguf_with(tmp_path / "huge.gguf", "evil.huge", ARRAY, array(item_kind, count) + bytes(64))
    with pytest.raises(GgufHeaderError, match=says):
        read_gguf_header(path)


def test_a_long_array_is_returned_as_its_length_not_built(tmp_path: Path) -> None:
    # 4 Mi one-byte items that are really in the file: reading them is fine, listing them is not.
    # The reader is Rust, out of tracemalloc's sight: a fresh interpreter's peak resident memory
    # (its high-water mark, in KiB) is what shows an array that was built.
    count = 1 << 22
    path = gguf_with(
        tmp_path / "long.gguf", "tokenizer.ggml.token_type", ARRAY, array(UINT8, count) + bytes(count)
    )
    probe = (
        "import resource, sys\n"
        "from aiclone_agent.bundle.gguf_header import read_gguf_header\n"
        "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "before = peak()\n"
        "fields, _ = read_gguf_header(sys.argv[1])\n"
        "print(repr(fields), peak() - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    fields, grown_kib = done.stdout.rsplit(" ", 1)
    assert fields == repr({"tokenizer.ggml.token_type": count})
    assert int(grown_kib) < 8 << 10  # its items as a list: 32 MiB in Python, 128 MiB as Rust values


def test_the_real_models_per_token_tables_are_read_as_their_lengths(model_path: Path) -> None:
    fields, tensors = read_gguf_header(model_path)
    assert fields["tokenizer.ggml.tokens"] == fields["tokenizer.ggml.token_type"] == 49_152
    assert fields["llama.block_count"] == 30 and len(tensors) == 272
