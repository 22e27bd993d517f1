"""A PEFT LoRA adapter folder as trained (``adapter_config.json`` + ``adapter_model.safetensors``).

Only what llama.cpp's runtime adapters can apply is accepted: LoRA (not DoRA, IA3, ...) on the
attention and MLP projections of the decoder layers. Trained embeddings or an ``lm_head`` are
refused by name, with the reason, instead of being silently dropped.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.adapter.module_patterns import ModulePatterns
from aiclone_agent.adapter.safetensors_file import read_safetensors
from aiclone_agent.bundle.model_files import PEFT_CONFIG_FILE as CONFIG_FILE

WEIGHTS_FILE = "adapter_model.safetensors"

# HF module name -> llama.cpp's tensor name inside ``blk.N.``
TARGETS = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}

_LORA_KEY = re.compile(
    r"^(?:base_model\.model\.)?(?:model\.)?layers\.(?P<layer>\d+)\.(?:self_attn|mlp)\."
    r"(?P<module>[a-z_]+)\.lora_(?P<half>[AB])(?:\.[A-Za-z0-9_-]+)?\.weight$"
)
_EMBEDDING_HINT = ("embed_tokens", "lora_embedding", "wte", "word_embeddings")


@dataclass(frozen=True)
class LoraPair:
    layer: int
    module: str  # q_proj, ..., down_proj
    a: np.ndarray  # [r, in]
    b: np.ndarray  # [out, r]
    scaling: float  # PEFT's alpha / r (or alpha / sqrt(r) with rsLoRA) for this module

    @property
    def rank(self) -> int:
        return int(self.a.shape[0])


@dataclass(frozen=True)
class PeftAdapter:
    folder: Path
    rank: int
    alpha: float
    use_rslora: bool
    base_model_name: str
    pairs: list[LoraPair] = field(repr=False)

    @property
    def targets(self) -> list[str]:
        return sorted({p.module for p in self.pairs}, key=list(TARGETS).index)

    @property
    def uniform_scaling(self) -> float | None:
        """The one scaling every module shares, or None when rank/alpha patterns vary it."""
        values = {p.scaling for p in self.pairs}
        return values.pop() if len(values) == 1 else None


def read_peft_adapter(folder: Path) -> PeftAdapter:
    config = _read_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        if (folder / "adapter_model.bin").is_file():
            raise AdapterError(
                "the adapter is saved as adapter_model.bin (a pickle, which is not loaded for safety): "
                "save it again with save_pretrained(..., safe_serialization=True)"
            )
        raise AdapterError(f"{folder} has {CONFIG_FILE} but no {WEIGHTS_FILE}")
    # compiled before any tensor is read: a key outside the bounded syntax refuses the adapter.
    # The rank comes from the tensors' shapes; rank_pattern keys are checked all the same, since
    # TensorRT-LLM (PEFT) would run them as regular expressions.
    ModulePatterns(config.get("rank_pattern"), "rank_pattern")
    alphas = ModulePatterns(config.get("alpha_pattern"), "alpha_pattern")
    tensors = read_safetensors(weights)
    if not tensors:
        raise AdapterError(f"{WEIGHTS_FILE} holds no tensors")
    halves: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        layer, module, half = _parse_key(key)
        halves.setdefault((layer, module), {})[half] = value
    pairs = []
    for (layer, module), parts in sorted(halves.items()):
        if set(parts) != {"A", "B"}:
            raise AdapterError(f"layer {layer} {module}: lora_A or lora_B is missing: the file is incomplete")
        a, b = parts["A"], parts["B"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise AdapterError(
                f"layer {layer} {module}: lora_A {list(a.shape)} and lora_B {list(b.shape)} do not "
                "form a low-rank pair ([r, in] and [out, r])"
            )
        name = f"model.layers.{layer}.{'mlp' if TARGETS[module].startswith('ffn') else 'self_attn'}.{module}"
        rank = int(a.shape[0])
        try:
            alpha = float(alphas.value_for(name, config["lora_alpha"]))
        except (TypeError, ValueError) as exc:
            raise AdapterError(
                f"adapter_config.json: alpha_pattern gives {name} a value that is not a number"
            ) from exc
        scaling = alpha / (math.sqrt(rank) if config["use_rslora"] else rank)
        pairs.append(LoraPair(layer, module, a, b, scaling))
    return PeftAdapter(
        folder=folder,
        rank=int(config["r"]),
        alpha=float(config["lora_alpha"]),
        use_rslora=bool(config["use_rslora"]),
        base_model_name=str(config.get("base_model_name_or_path") or ""),
        pairs=pairs,
    )


def _read_config(folder: Path) -> dict:
    path = folder / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AdapterError(f"cannot read {path}: {exc.strerror}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{CONFIG_FILE} is not valid JSON: the file is corrupt") from exc
    if not isinstance(config, dict):
        raise AdapterError(f"{CONFIG_FILE} must be a JSON object")
    peft_type = str(config.get("peft_type", "LORA")).upper()
    if peft_type != "LORA":
        raise AdapterError(
            f"the adapter is {peft_type}; only LoRA adapters can be applied", code="adapter_unsupported"
        )
    if config.get("use_dora"):
        raise AdapterError(
            "the adapter uses DoRA, which llama.cpp cannot apply at run time; train plain LoRA",
            code="adapter_unsupported",
        )
    modules_to_save = config.get("modules_to_save") or []
    if modules_to_save:
        raise AdapterError(
            f"the adapter trains whole modules ({', '.join(map(str, modules_to_save))}: modules_to_save); "
            "llama.cpp applies only LoRA matrices: retrain without modules_to_save or merge the adapter",
            code="adapter_unsupported",
        )
    if config.get("bias", "none") not in ("none", None):
        raise AdapterError(
            "the adapter trains biases (bias != 'none'), which llama.cpp cannot apply",
            code="adapter_unsupported",
        )
    try:
        config["r"] = int(config["r"])
        config["lora_alpha"] = float(config["lora_alpha"] if "lora_alpha" in config else config["r"])
    except (KeyError, TypeError, ValueError) as exc:
        raise AdapterError(f"{CONFIG_FILE} has no valid r / lora_alpha") from exc
    if config["r"] <= 0:
        raise AdapterError(f"{CONFIG_FILE}: r must be positive")
    config["use_rslora"] = bool(config.get("use_rslora", False))
    return config


def _parse_key(key: str) -> tuple[int, str, str]:
    match = _LORA_KEY.match(key)
    if match is None or match["module"] not in TARGETS:
        lowered = key.lower()
        if any(hint in lowered for hint in _EMBEDDING_HINT):
            raise AdapterError(
                "the adapter trains the token embeddings (embed_tokens); llama.cpp applies adapters only "
                "to attention and MLP layers: retrain with target_modules q/k/v/o/gate/up/down_proj",
                code="adapter_unsupported",
            )
        if "lm_head" in lowered:
            raise AdapterError(
                "the adapter trains lm_head (the output layer); llama.cpp applies adapters only to "
                "attention and MLP layers: retrain with target_modules q/k/v/o/gate/up/down_proj",
                code="adapter_unsupported",
            )
        if "magnitude" in lowered:
            raise AdapterError(
                "the adapter uses DoRA, which llama.cpp cannot apply at run time; train plain LoRA",
                code="adapter_unsupported",
            )
        raise AdapterError(
            f"unsupported tensor {key}: only LoRA on q/k/v/o_proj and gate/up/down_proj of the decoder "
            "layers can be applied",
            code="adapter_unsupported",
        )
    return int(match["layer"]), match["module"], match["half"]
