"""The metadata and tensors a GGUF file declares in its header, read with bounds: the agent's one
GGUF reader (the model list, the GPU offload plan, the adapter checks all read through it), which is
the Rust core's (``clone_core.read_gguf_header``, ``rust-core/core/src/gguf.rs``), the same code that
loads the tokenizer.

Any file in ``models/base/`` is read here (``GET /api/engine/models`` lists them all), so a hostile
one must cost no more than a real one: arrays nest at most ``MAX_ARRAY_DEPTH`` deep, every count and
length must fit in the bytes left in the file (and below a cap no real model comes near), only the
first 256 MiB are ever looked at, and long arrays are skipped, not built. The tensors the header
declares must end within the file (a download cut short after its header is refused here, not by
llama.cpp at load time). Anything else is a ``GgufHeaderError`` saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple, TypeAlias

import clone_core

MAX_ARRAY_DEPTH = 3  # llama.cpp reads no nested arrays at all (the core's gguf::MAX_ARRAY_DEPTH)


# A metadata value: a scalar, a string, a short array of scalars, or (string arrays, nested arrays
# and arrays of more than 4,096 scalars) the array's length.
GgufValue: TypeAlias = int | float | bool | str | list[int] | list[float] | list[bool]


class GgufHeaderError(ValueError):
    """The file's GGUF header is cut short, unknown, or asks for more than any model needs."""


class GgufTensor(NamedTuple):
    name: str
    n_bytes: int
    shape: tuple[int, ...]  # GGML order: ``shape[0]`` is the row length


def read_gguf_header(model_path: Path) -> tuple[dict[str, GgufValue], list[GgufTensor]]:
    """The GGUF's metadata (string arrays and long arrays as their length) and its tensors;
    ``GgufHeaderError`` when the header cannot be read within the bounds above, ``OSError`` when
    the file cannot be opened.

    ``gguf.GGUFReader`` would take 15-30 s here: it builds a numpy view per vocabulary string. The
    core walks the same layout through a read buffer and skips the strings: well under a second.
    """
    try:
        fields, tensors = clone_core.read_gguf_header(model_path)
    except clone_core.ModelFormatError as exc:
        raise GgufHeaderError(str(exc)) from None
    return fields, [GgufTensor._make(tensor) for tensor in tensors]


def gguf_int(fields: Mapping[str, GgufValue], key: str, default: int) -> int:
    """The number stored at ``key`` (``default`` when absent or zero), or ``GgufHeaderError`` for a
    string or an array, which no model stores there."""
    raw = fields.get(key)
    if raw is None:
        return default
    if isinstance(raw, (list, str)):
        raise GgufHeaderError(f"GGUF metadata key {key!r} holds {type(raw).__name__}, not a number")
    return int(raw) or default


def gguf_float(fields: Mapping[str, GgufValue], key: str, default: float) -> float:
    """The number stored at ``key`` as a float (``default`` when absent or zero)."""
    raw = fields.get(key)
    if raw is None:
        return default
    if isinstance(raw, (list, str)):
        raise GgufHeaderError(f"GGUF metadata key {key!r} holds {type(raw).__name__}, not a number")
    return float(raw) or default


def gguf_str(fields: Mapping[str, GgufValue], key: str, default: str = "") -> str:
    """The string at ``key`` (``default`` when absent or not a string)."""
    raw = fields.get(key)
    return raw if isinstance(raw, str) else default
