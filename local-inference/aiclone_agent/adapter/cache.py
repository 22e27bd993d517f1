"""Converted adapters, kept in the data dir and keyed by the adapter's content hash.

The key covers the PEFT files' bytes, what the conversion depends on in the base model
(architecture, layer and head counts) and the converter's format version, so a retrained adapter
or another base model gets a fresh conversion and a restart reuses the old one in milliseconds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from aiclone_agent.adapter.checks import BaseModelInfo, check_peft_against_base
from aiclone_agent.adapter.gguf_lora import write_gguf_lora
from aiclone_agent.adapter.peft import CONFIG_FILE, WEIGHTS_FILE, PeftAdapter, read_peft_adapter

CONVERTER_VERSION = "1"
_CHUNK = 1 << 20


def adapter_digest(folder: Path, base: BaseModelInfo) -> str:
    digest = hashlib.sha256(f"aiclone-lora:{CONVERTER_VERSION}:{base.identity}\n".encode())
    for name in (CONFIG_FILE, WEIGHTS_FILE):
        digest.update(name.encode() + b"\0")
        with (folder / name).open("rb") as handle:
            while block := handle.read(_CHUNK):
                digest.update(block)
    return digest.hexdigest()


def converted_adapter(
    folder: Path, base: BaseModelInfo, cache_dir: Path, *, progress: bool = True
) -> tuple[Path, PeftAdapter]:
    """The GGUF LoRA for the PEFT ``folder`` (converted now or found in ``cache_dir``)."""
    adapter = read_peft_adapter(folder)  # read and checked every time: it is small and says what it is
    check_peft_against_base(adapter, base)
    target = cache_dir / f"{adapter_digest(folder, base)[:32]}.gguf"
    if not target.is_file():
        write_gguf_lora(adapter, base, target, progress=progress)
    return target, adapter
