"""What the base GGUF says about itself, and the checks an adapter must pass against it.

Everything is checked before llama.cpp sees the adapter: llama.cpp reports a bad adapter only in
its log, so the reason the owner reads comes from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.adapter.peft import TARGETS, PeftAdapter
from aiclone_agent.bundle.gguf_header import gguf_float, gguf_int, gguf_str, read_gguf_header

# GGUF architectures whose adapters we convert, and whether llama.cpp's converter permuted the
# q/k rows of their attention (llama-family models use llama.cpp's "normal" RoPE layout; Qwen2
# keeps HF's NeoX layout). HF Mistral and Llama 3 models convert to the ``llama`` architecture.
PERMUTES_QK = {"llama": True, "qwen2": False}


@dataclass(frozen=True)
class BaseModelInfo:
    path: Path
    architecture: str
    block_count: int
    head_count: int
    head_count_kv: int
    shapes: dict[str, tuple[int, int]]  # tensor name -> (out, in), numpy order

    @property
    def identity(self) -> str:
        """What a converted adapter depends on (not the weights): part of the cache key."""
        return f"{self.architecture}:{self.block_count}:{self.head_count}:{self.head_count_kv}"

    @property
    def permutes_qk(self) -> bool:
        return PERMUTES_QK[self.architecture]


def read_base_model(path: Path) -> BaseModelInfo:
    """The base GGUF's architecture, attention heads and 2-D tensor shapes, from its header only
    (the bounded reader: a hostile file is refused with its reason, never followed)."""
    try:
        fields, tensors = read_gguf_header(path)
        arch = gguf_str(fields, "general.architecture")
        if arch not in PERMUTES_QK:
            raise AdapterError(
                f"the base model's architecture is {arch or 'unknown'}; adapters can be converted for "
                f"{', '.join(sorted(PERMUTES_QK))} (Llama, SmolLM2, Mistral, Qwen2/2.5) base models",
                code="adapter_unsupported",
            )
        heads = gguf_int(fields, f"{arch}.attention.head_count", 0)
        head_count_kv = gguf_int(fields, f"{arch}.attention.head_count_kv", heads)
        block_count = gguf_int(fields, f"{arch}.block_count", 0)
    except (OSError, ValueError) as exc:
        raise AdapterError(f"cannot read the base model {path.name}: {exc}") from exc
    shapes = {t.name: (t.shape[1], t.shape[0]) for t in tensors if len(t.shape) == 2}
    return BaseModelInfo(
        path=path,
        architecture=arch,
        block_count=block_count,
        head_count=heads,
        head_count_kv=head_count_kv,
        shapes=shapes,
    )


def check_peft_against_base(adapter: PeftAdapter, base: BaseModelInfo) -> None:
    for pair in adapter.pairs:
        where = f"layer {pair.layer} {pair.module}"
        if pair.layer >= base.block_count:
            raise AdapterError(
                f"the adapter has {where} but the base model has {base.block_count} layers: "
                f"it was trained for another base model{_trained_for(adapter)}",
                code="adapter_wrong_base",
            )
        name = f"blk.{pair.layer}.{TARGETS[pair.module]}.weight"
        expected = base.shapes.get(name)
        if expected is None:
            raise AdapterError(
                f"the base model has no {name} for the adapter's {where}", code="adapter_wrong_base"
            )
        got = (int(pair.b.shape[0]), int(pair.a.shape[1]))
        if got != expected:
            raise AdapterError(
                f"{where}: the adapter maps {got[1]} -> {got[0]} but the base model's {name} maps "
                f"{expected[1]} -> {expected[0]}: it was trained for another base model{_trained_for(adapter)}",
                code="adapter_wrong_base",
            )
        if pair.module in ("q_proj", "k_proj") and base.permutes_qk:
            heads = base.head_count if pair.module == "q_proj" else base.head_count_kv
            if heads <= 0 or got[0] % (2 * heads):
                raise AdapterError(
                    f"{where}: {got[0]} rows cannot be split into {heads} attention heads",
                    code="adapter_wrong_base",
                )


def _trained_for(adapter: PeftAdapter) -> str:
    return f" ({adapter.base_model_name})" if adapter.base_model_name else ""


@dataclass(frozen=True)
class GgufLoraInfo:
    path: Path
    architecture: str
    alpha: float
    rank: int
    targets: list[str]
    name: str


def read_gguf_lora(path: Path, base: BaseModelInfo | None = None) -> GgufLoraInfo:
    """A GGUF LoRA file's header, checked against ``base`` when given."""
    try:
        fields, tensors = read_gguf_header(path)
        alpha = gguf_float(fields, "adapter.lora.alpha", 0.0)
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{path.name} is not a readable GGUF file: the file is corrupt ({exc})") from exc

    if fields.get("general.type") != "adapter" or fields.get("adapter.type") != "lora":
        raise AdapterError(
            f"{path.name} is a GGUF file but not a LoRA adapter (general.type is {fields.get('general.type')})"
        )
    arch = gguf_str(fields, "general.architecture")
    if base is not None and arch != base.architecture:
        raise AdapterError(
            f"{path.name} is a LoRA for the {arch} architecture but the base model is {base.architecture}",
            code="adapter_wrong_base",
        )
    by_suffix = {v: k for k, v in TARGETS.items()}
    targets: set[str] = set()
    rank = 0
    for tensor in tensors:
        stem, _, half = tensor.name.rpartition(".")
        parts = stem.split(".")  # blk, N, attn_q, weight
        if (
            half not in ("lora_a", "lora_b")
            or len(parts) != 4
            or parts[2] not in by_suffix
            or len(tensor.shape) != 2
        ):
            raise AdapterError(
                f"{path.name}: tensor {tensor.name} is not a LoRA on an attention or MLP weight",
                code="adapter_unsupported",
            )
        targets.add(by_suffix[parts[2]])
        shape = (tensor.shape[1], tensor.shape[0])
        if half == "lora_a":
            rank = max(rank, shape[0])
        if base is not None:
            expected = base.shapes.get(stem)
            if expected is None:
                raise AdapterError(f"{path.name}: the base model has no {stem}")
            if (half == "lora_a" and shape[1] != expected[1]) or (
                half == "lora_b" and shape[0] != expected[0]
            ):
                raise AdapterError(
                    f"{path.name}: {tensor.name} has shape {list(shape)}, which does not fit the base model's "
                    f"{stem} {list(expected)}: it was made for another base model"
                )
    return GgufLoraInfo(
        path=path,
        architecture=arch,
        alpha=alpha,
        rank=rank,
        targets=sorted(targets, key=list(TARGETS).index),
        name=gguf_str(fields, "general.name", path.stem),
    )
