"""The metadata and tensors a GGUF file declares in its header, read with bounds: the agent's one
GGUF reader (the model list, the GPU offload plan, the adapter checks all read through it).

Any file in ``models/base/`` is read here (``GET /api/engine/models`` lists them all), so a hostile
one must cost no more than a real one: arrays nest at most ``MAX_ARRAY_DEPTH`` deep, every count and
length must fit in the bytes left in the file (and below a cap no real model comes near), and only
the first ``MAX_HEADER_BYTES`` are ever looked at. The tensors the header declares must end within
the file (a download cut short after its header is refused here, not by llama.cpp at load time).
Anything else is a ``GgufHeaderError`` saying why.
"""

from __future__ import annotations

import math
import mmap
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, TypeAlias

MAX_ARRAY_DEPTH = 3  # llama.cpp reads no nested arrays at all
MAX_ARRAY_ITEMS = 1 << 22  # vocabularies and merges: a few 100,000 in today's models
MAX_ARRAY_KEPT = 1 << 12  # longer arrays (vocabulary scores, token types) are returned as their length
MAX_FIELDS = 1 << 16  # real models: a few dozen
MAX_TENSORS = 1 << 20  # real models: a few thousand
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_HEADER_BYTES = 1 << 28  # a 262k-token vocabulary with its merges is ~15 MiB


# A metadata value: a scalar, a string, a short array of scalars, or (string arrays, nested arrays
# and arrays longer than ``MAX_ARRAY_KEPT``) the array's length.
GgufValue: TypeAlias = int | float | bool | str | list[int] | list[float] | list[bool]


class GgufHeaderError(ValueError):
    """The file's GGUF header is cut short, unknown, or asks for more than any model needs."""


class GgufTensor(NamedTuple):
    name: str
    n_bytes: int
    shape: tuple[int, ...]  # GGML order: ``shape[0]`` is the row length


def read_gguf_header(model_path: Path) -> tuple[dict[str, GgufValue], list[GgufTensor]]:
    """The GGUF's metadata (string arrays and long arrays as their length) and its tensors;
    ``GgufHeaderError`` when the header cannot be read within the bounds above.

    ``gguf.GGUFReader`` would take 15-30 s here: it builds a numpy view per vocabulary string.
    This walks the same layout (gguf's own type tables) with ``struct`` over a memory map and
    skips the strings, so only the header's pages are read: well under a second.
    """
    from gguf import GGML_QUANT_SIZES, GGUF_MAGIC, GGMLQuantizationType, GGUFValueType

    scalars = {
        GGUFValueType.UINT8: "B",
        GGUFValueType.INT8: "b",
        GGUFValueType.UINT16: "H",
        GGUFValueType.INT16: "h",
        GGUFValueType.UINT32: "I",
        GGUFValueType.INT32: "i",
        GGUFValueType.FLOAT32: "f",
        GGUFValueType.BOOL: "?",
        GGUFValueType.UINT64: "Q",
        GGUFValueType.INT64: "q",
        GGUFValueType.FLOAT64: "d",
    }
    with open(model_path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = min(len(data), MAX_HEADER_BYTES)
        pos = 0

        def need(n_bytes: int, what: str) -> None:
            if n_bytes > end - pos:
                beyond = (
                    "the end of the file"
                    if end == len(data)
                    else f"the first {end >> 20} MiB, where every GGUF header ends"
                )
                raise GgufHeaderError(
                    f"truncated or unknown GGUF header ({what} at byte {pos} runs past {beyond})"
                )

        def take(fmt: str, what: str = "a value") -> tuple[Any, ...]:
            nonlocal pos
            size = struct.calcsize("<" + fmt)
            need(size, what)
            values = struct.unpack_from("<" + fmt, data, pos)
            pos += size
            return values

        def count(limit: int, item_bytes: int, what: str) -> int:
            (n,) = take("Q", f"the count of {what}")
            if n > limit:
                raise GgufHeaderError(
                    f"the GGUF header declares {n:,} {what}; no model has more than {limit:,}"
                )
            need(n * item_bytes, f"{n:,} {what}")
            return n

        def string(decode: bool = True) -> str:
            nonlocal pos
            (length,) = take("Q", "the length of a string")
            need(length, f"a string of {length:,} bytes")
            pos += length
            return data[pos - length : pos].decode("utf-8", "replace") if decode else ""

        def value_type(raw: int) -> GGUFValueType:
            try:
                return GGUFValueType(raw)
            except ValueError:
                raise GgufHeaderError(f"unknown GGUF value type {raw}") from None

        def value(kind: GGUFValueType, key: str, depth: int = 0) -> GgufValue:
            nonlocal pos
            if kind == GGUFValueType.STRING:
                return string()
            if kind != GGUFValueType.ARRAY:
                return take(scalars[kind], f"the value of {key!r}")[0]
            if depth == MAX_ARRAY_DEPTH:
                raise GgufHeaderError(
                    f"GGUF metadata key {key!r} nests arrays more than {MAX_ARRAY_DEPTH} deep"
                )
            (raw,) = take("I", f"the item type of {key!r}")
            item = value_type(raw)
            if item == GGUFValueType.STRING:
                smallest = 8  # its length
            elif item == GGUFValueType.ARRAY:
                smallest = 12  # its item type and count
            else:
                smallest = struct.calcsize("<" + scalars[item])
            n = count(MAX_ARRAY_ITEMS, smallest, f"items in the array {key!r}")
            if item in scalars:
                if n > MAX_ARRAY_KEPT:
                    pos += n * smallest  # a per-token table: its length is all that is needed here
                    return n
                return list(take(f"{n}{scalars[item]}"))
            if item == GGUFValueType.STRING:  # the vocabulary: only its size matters here
                skip_strings(n)
                return n
            for _ in range(n):  # nested arrays
                value(item, key, depth + 1)
            return n

        def skip_strings(n: int) -> None:
            """``string(decode=False)`` ``n`` times, inlined: a vocabulary is 50,000-250,000
            strings, and the calls cost more than the reading (0.3 s a start on this machine)."""
            nonlocal pos
            length_at = struct.Struct("<Q").unpack_from
            at = pos
            for _ in range(n):
                if end - at < 8 or (length := length_at(data, at)[0]) > end - at - 8:
                    pos = at
                    string(decode=False)  # raises with the reason (a cut length, or a string past the end)
                at += 8 + length
            pos = at

        try:
            magic, version = take("II", "the magic number")
            if magic != GGUF_MAGIC or version < 2:
                raise GgufHeaderError("not a GGUF v2+ file")
            (n_tensors,) = take("Q", "the tensor count")
            n_fields = count(MAX_FIELDS, 12, "metadata keys")
            if n_tensors > MAX_TENSORS:
                raise GgufHeaderError(
                    f"the GGUF header declares {n_tensors:,} tensors; no model has more than {MAX_TENSORS:,}"
                )
            fields: dict[str, GgufValue] = {}
            for _ in range(n_fields):
                key = string()
                (raw,) = take("I", f"the type of {key!r}")
                fields[key] = value(value_type(raw), key)
            need(n_tensors * 24, f"{n_tensors:,} tensor descriptions")
            tensors: list[GgufTensor] = []
            data_end = 0  # where the last tensor's bytes end, counted from the data section
            for _ in range(n_tensors):
                name = string()
                (n_dims,) = take("I", f"the rank of tensor {name!r}")
                if n_dims > MAX_DIMS:
                    raise GgufHeaderError(f"tensor {name!r} has {n_dims} dimensions; GGML allows {MAX_DIMS}")
                shape = take(f"{n_dims}Q", f"the shape of tensor {name!r}")
                (kind,) = take("I", f"the type of tensor {name!r}")
                (offset,) = take("Q", f"the data offset of tensor {name!r}")
                block, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(kind)]
                tensors.append(GgufTensor(name, math.prod(shape) // block * block_bytes, shape))
                data_end = max(data_end, offset + tensors[-1].n_bytes)
            alignment = fields.get("general.alignment", 32)
            if not isinstance(alignment, int) or alignment <= 0:
                raise GgufHeaderError(f"general.alignment is {alignment!r}, not a positive integer")
            needed = -(-pos // alignment) * alignment + data_end
            if tensors and needed > len(data):  # cut short after its header: llama.cpp would refuse it
                raise GgufHeaderError(
                    f"truncated GGUF file: its tensors end at byte {needed:,}, the file has {len(data):,}"
                )
        except GgufHeaderError:
            raise
        except (KeyError, ValueError) as exc:  # a tensor type gguf does not know
            raise GgufHeaderError(f"truncated or unknown GGUF header ({type(exc).__name__}: {exc})") from exc
    return fields, tensors


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
