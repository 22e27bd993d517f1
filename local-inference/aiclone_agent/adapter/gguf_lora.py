"""Writes a PEFT adapter as a GGUF LoRA that llama.cpp's ``llama_adapter_lora_init`` loads.

Layout (what llama.cpp expects): ``general.type = adapter``, ``adapter.type = lora``,
``adapter.lora.alpha``, and per targeted weight ``blk.N.<name>.weight.lora_a`` holding PEFT's
A as ``[r, in]`` and ``.lora_b`` holding B as ``[out, r]`` (numpy order; GGUF stores dims
reversed). llama.cpp scales each pair by ``alpha / r`` with r read from the tensor, or by 1 when
alpha is 0.

Two things PEFT and llama.cpp disagree on are settled here:
- The q/k row order. llama.cpp's converter reorders the rows of q_proj/k_proj of llama-family
  models head by head, from HF's "half split" RoPE layout (dims i and i + d/2 rotate together)
  to interleaved pairs (2i, 2i + 1). The base weight W was reordered that way, so B (whose rows
  are W's rows) must be too; A (columns) is untouched. Qwen2 is not reordered.
- The scale. When every module shares one rank and one PEFT scaling (alpha / r, or alpha / sqrt(r)
  with rsLoRA), alpha is written so that llama.cpp's alpha / r gives that scaling. Otherwise
  (rank_pattern / alpha_pattern) each module's scaling is folded into its B and alpha is 0.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from aiclone_agent.adapter.checks import BaseModelInfo, check_peft_against_base
from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.adapter.peft import TARGETS, LoraPair, PeftAdapter, read_peft_adapter
from aiclone_agent.bundle.default_model import ProgressBar


def rope_rows_to_interleaved(rows: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the rows of a q/k projection (or of its LoRA B) from HF's layout to llama.cpp's.

    Within each head of d rows, row ``j * d/2 + i`` (half j, pair i) moves to row ``2i + j``.
    """
    out = rows.shape[0]
    head_dim = out // n_heads
    grouped = rows.reshape(n_heads, 2, head_dim // 2, *rows.shape[1:])
    return np.ascontiguousarray(grouped.swapaxes(1, 2).reshape(rows.shape))


def gguf_alpha(adapter: PeftAdapter) -> float | None:
    """The ``adapter.lora.alpha`` that reproduces PEFT's scaling, or None if it must be folded."""
    ranks = {p.rank for p in adapter.pairs}
    scaling = adapter.uniform_scaling
    if len(ranks) != 1 or scaling is None or scaling == 0.0:
        return None
    return scaling * ranks.pop()


def lora_tensors(adapter: PeftAdapter, base: BaseModelInfo) -> list[tuple[str, np.ndarray]]:
    """The (name, float32 array) pairs of the GGUF LoRA, in file order."""
    fold = gguf_alpha(adapter) is None
    tensors = []
    for pair in adapter.pairs:
        b = pair.b * np.float32(pair.scaling) if fold else pair.b
        b = _reorder_b(pair, b, base)
        name = f"blk.{pair.layer}.{TARGETS[pair.module]}.weight"
        tensors.append((f"{name}.lora_a", np.ascontiguousarray(pair.a, dtype=np.float32)))
        tensors.append((f"{name}.lora_b", np.ascontiguousarray(b, dtype=np.float32)))
    return tensors


def _reorder_b(pair: LoraPair, b: np.ndarray, base: BaseModelInfo) -> np.ndarray:
    if not base.permutes_qk or pair.module not in ("q_proj", "k_proj"):
        return b
    heads = base.head_count if pair.module == "q_proj" else base.head_count_kv
    return rope_rows_to_interleaved(b, heads)


def write_gguf_lora(
    adapter: PeftAdapter, base: BaseModelInfo, out_path: Path, *, progress: bool = True
) -> Path:
    """Check ``adapter`` against ``base`` and write it to ``out_path`` atomically."""
    import gguf

    check_peft_against_base(adapter, base)
    alpha = gguf_alpha(adapter)
    tensors = lora_tensors(adapter, base)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.part")
    writer = gguf.GGUFWriter(partial, base.architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha or 0.0))
        writer.add_name(adapter.folder.name)
        for name, array in tensors:
            writer.add_tensor_info(name, array.shape, array.dtype, array.nbytes)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        label = f"Converting the adapter {adapter.folder.name}"
        bar = ProgressBar(label, sum(a.nbytes for _, a in tensors)) if progress else None
        for _, array in tensors:
            writer.write_tensor_data(array)
            if bar is not None:
                bar.advance(array.nbytes)
        writer.flush()
        assert writer.fout is not None  # opened by write_header_to_file
        os.fsync(writer.fout[0].fileno())
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise AdapterError(
            f"cannot write the converted adapter {out_path}: {exc.strerror}", code="adapter_failed"
        ) from exc
    finally:
        writer.close()
    os.replace(partial, out_path)
    return out_path


def convert_peft_to_gguf(peft_dir: Path, out_path: Path, base_gguf: Path, *, progress: bool = True) -> Path:
    """The library form of ``python -m aiclone_agent convert-lora``."""
    from aiclone_agent.adapter.checks import read_base_model

    return write_gguf_lora(
        read_peft_adapter(peft_dir), read_base_model(base_gguf), out_path, progress=progress
    )
