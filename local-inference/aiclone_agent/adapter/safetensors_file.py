"""Reads a ``.safetensors`` file into numpy arrays, BF16 included (numpy has no bfloat16).

The format is an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
shape and byte range, then the data. Every range is checked against the file so a truncated or
corrupt download is refused with a clear message instead of a crash.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

from aiclone_agent.adapter.errors import AdapterError

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "BF16": np.uint16}
_MAX_HEADER = 100 * 1024 * 1024


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of ``path`` as float32 numpy arrays (memory-mapped reads, then converted)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise AdapterError(f"{path.name} is not a safetensors file (too short): the file is corrupt")
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > min(size - 8, _MAX_HEADER):
                raise AdapterError(
                    f"{path.name} is not a valid safetensors file (bad header): the file is corrupt"
                )
            header = json.loads(handle.read(header_len))
    except OSError as exc:
        raise AdapterError(f"cannot read {path}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{path.name} has an unreadable header: the file is corrupt") from exc
    if not isinstance(header, dict):
        raise AdapterError(f"{path.name} has an unreadable header: the file is corrupt")
    data_start = 8 + header_len
    raw = np.memmap(path, dtype=np.uint8, mode="r") if size > data_start else np.zeros(0, np.uint8)
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor(path.name, name, entry, raw, data_start, size)
    return tensors


def _tensor(file: str, name: str, entry: Any, raw: np.ndarray, data_start: int, size: int) -> np.ndarray:
    # ``entry`` is unvalidated JSON (any shape): the ``try`` below is its check
    try:
        dtype_name, shape, (begin, end) = (
            entry["dtype"],
            [int(d) for d in entry["shape"]],
            entry["data_offsets"],
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise AdapterError(f"{file}: tensor {name} has a malformed entry: the file is corrupt") from exc
    dtype = _DTYPES.get(dtype_name)
    if dtype is None:
        raise AdapterError(
            f"{file}: tensor {name} is {dtype_name}; only F32, F16 and BF16 adapters are supported"
        )
    count = int(np.prod(shape)) if shape else 1
    if end - begin != count * np.dtype(dtype).itemsize or begin < 0 or data_start + end > size:
        raise AdapterError(f"{file}: tensor {name} lies outside the file: the file is truncated or corrupt")
    values = raw[data_start + begin : data_start + end].view(dtype).reshape(shape)
    if dtype_name == "BF16":  # bfloat16 is the top half of a float32
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32)
