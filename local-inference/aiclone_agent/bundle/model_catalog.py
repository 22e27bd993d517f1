"""The GGUF models an owner can pick: each file in ``models/base/`` with a name people can read.

A readable name comes from the file name the model was published under (``SmolLM2-135M-Instruct.Q4_1``
becomes ``SmolLM2 135M Instruct``), or from the GGUF's ``general.name`` when the file name says
nothing (``model.gguf``, ``ggml-model-q4_0.gguf``, a content hash), followed by the quantization
the GGUF declares in ``general.file_type`` (``· Q4_1``). Only the header is read
(``bundle/gguf_header.read_gguf_header``), never the weights.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from aiclone_agent.bundle.gguf_header import read_gguf_header
from aiclone_agent.bundle.model_files import resolve_bundle_path
from aiclone_agent.core.config import REPO_ROOT

# A quantization tag at the end of a file stem: Q4_1, Q4_K_M, IQ3_XXS, F16, BF16, fp32, TQ1_0, ...
_QUANT_TAG = re.compile(r"(?i)^(?:i?q\d\w*|tq\d\w*|b?f16|f32|fp16|fp32|mxfp4\w*)$")
_GENERIC_STEMS = {"", "model", "ggml model", "ggml model f16", "ggml model f32", "gguf", "weights"}
_HASH = re.compile(r"(?i)^(?:sha256[-:])?[0-9a-f]{32,}$")


class NotAModelError(ValueError):
    """The file is not a GGUF model llama.cpp can load; the message says what is wrong (for the log
    and API clients: it may carry the header reader's words), ``code`` says it to the admin page
    (``aiclone_wire.error_codes``)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class ModelFile(BaseModel):
    """One GGUF file as the admin lists it."""

    file: str  # the file's name
    path: str  # what ``model.base_model_path`` holds to pick it (relative to the bundle when inside it)
    size_bytes: int
    name: str | None  # readable name; None when the file is not a valid GGUF
    architecture: str | None = None
    quantization: str | None = None
    error: str | None = None  # why the file cannot be used (for the log: a person reads error_code)
    error_code: str | None = None  # the same, as the admin page says it (aiclone_wire.error_codes)


def quantization_label(file_type: object) -> str | None:
    """``general.file_type`` as people write it: 3 -> ``Q4_1``, 1 -> ``F16``."""
    from gguf import LlamaFileType

    try:
        kind = LlamaFileType(int(file_type))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    if kind == LlamaFileType.GUESSED:
        return None
    return kind.name.removeprefix("MOSTLY_").removeprefix("ALL_")


def readable_name(fields: Mapping[str, object], file_name: str) -> str:
    """``SmolLM2 135M Instruct · Q4_1`` from the file name (or ``general.name``) and the file type."""
    stem = Path(file_name).stem
    parts = re.split(r"[.]", stem)
    tag = None
    if len(parts) > 1 and _QUANT_TAG.match(parts[-1]):
        tag, stem = parts[-1], ".".join(parts[:-1])
    else:  # ``model-q4_0``: the tag after the last dash
        head, _, tail = stem.rpartition("-")
        if head and _QUANT_TAG.match(tail):
            tag, stem = tail, head
    base = " ".join(re.split(r"[-_\s]+", stem)).strip()
    general = str(fields.get("general.name") or "").strip()
    if (base.lower() in _GENERIC_STEMS or _HASH.match(stem)) and general:
        base = general
    base = base or Path(file_name).stem
    quant = quantization_label(fields.get("general.file_type")) or (tag.upper() if tag else None)
    return f"{base} · {quant}" if quant else base


def bundle_path(path: Path) -> str:
    """How config.yaml names ``path``: relative to the bundle when inside it, else absolute."""
    for candidate, root in ((path.absolute(), REPO_ROOT.absolute()), (path.resolve(), REPO_ROOT.resolve())):
        if candidate.is_relative_to(root):
            return candidate.relative_to(root).as_posix()
    return str(path.absolute())


def describe_model_file(path: Path) -> ModelFile:
    """The file's readable name and quantization; ``NotAModelError`` when it is no GGUF model."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise NotAModelError(f"{path} cannot be read: {exc.strerror}", code="model_file_unreadable") from exc
    except ValueError as exc:  # e.g. a NUL byte in the name
        raise NotAModelError(
            f"{path!r} is not a usable file name ({exc})", code="model_file_unreadable"
        ) from exc
    if not path.is_file():
        raise NotAModelError(f"{path} is not a file", code="model_file_unreadable")
    try:
        fields, tensors = read_gguf_header(path)
    except (OSError, ValueError) as exc:
        raise NotAModelError(
            f"{path.name} is not a valid GGUF model ({exc}): pick another file or replace it with a .gguf "
            "model that llama.cpp can load",
            code="model_not_gguf",
        ) from exc
    if not tensors:
        raise NotAModelError(
            f"{path.name} holds no tensors (a GGUF without weights, e.g. a vocabulary only)",
            code="model_without_weights",
        )
    if fields.get("general.type") == "adapter":
        raise NotAModelError(
            f"{path.name} is a LoRA adapter, not a base model: put it in models/lora/",
            code="model_is_adapter",
        )
    return ModelFile(
        file=path.name,
        path=bundle_path(path),
        size_bytes=size,
        name=readable_name(fields, path.name),
        architecture=str(fields.get("general.architecture") or "") or None,
        quantization=quantization_label(fields.get("general.file_type")),
    )


def list_models(base_dir: Path) -> list[ModelFile]:
    """Every ``*.gguf`` in ``base_dir``, by name; files that are no GGUF model carry their ``error``."""
    found = []
    for path in sorted(base_dir.glob("*.gguf")) if base_dir.is_dir() else []:
        try:
            found.append(describe_model_file(path))
        except NotAModelError as exc:
            size = path.stat().st_size if path.is_file() else 0
            found.append(
                ModelFile(
                    file=path.name,
                    path=bundle_path(path),
                    size_bytes=size,
                    name=None,
                    error=str(exc),
                    error_code=exc.code,
                )
            )
    return found


def same_file(a: str, b: str) -> bool:
    """Whether two ``base_model_path`` values name the same file."""
    return bool(a and b) and resolve_bundle_path(a).resolve() == resolve_bundle_path(b).resolve()
