"""GGUF files written by the tests: a small valid model, and hostile headers byte by byte."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np

STRING, ARRAY, UINT8, FLOAT32 = 8, 9, 0, 6


def write_gguf(path: Path, *, name: str, file_type: int | None, kind: str = "model") -> Path:
    """A small but valid GGUF: its metadata and one tensor (enough for the header reader)."""
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name(name)
    writer.add_type(kind)
    if file_type is not None:
        writer.add_file_type(file_type)
    writer.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def gguf_with(path: Path, key: str, kind: int, value: bytes) -> Path:
    """A GGUF v3 header with no tensors and one metadata key of type ``kind`` (layout per the spec)."""
    name = key.encode()
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", len(name)) + name
    path.write_bytes(header + struct.pack("<I", kind) + value)
    return path


def array(item_kind: int, count: int) -> bytes:
    return struct.pack("<IQ", item_kind, count)


def nested_arrays(tmp_path: Path, depth: int = 10_000) -> Path:
    """``depth`` arrays, each holding the next; the innermost is an empty UINT8 array."""
    return gguf_with(
        tmp_path / "nested.gguf", "evil.nested", ARRAY, array(ARRAY, 1) * depth + array(UINT8, 0)
    )


def huge_count(tmp_path: Path) -> Path:
    """An array that declares 2**40 items in a file of a few dozen bytes."""
    return gguf_with(tmp_path / "huge.gguf", "evil.huge", ARRAY, array(UINT8, 2**40) + bytes(64))
