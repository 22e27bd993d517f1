"""How many of a GGUF model's layers llama.cpp should put on the GPU (``model.n_gpu_layers: auto``).

The plan weighs what the model needs on the GPU against the free VRAM that ``nvidia-smi``
reports before the model loads:

* each repeating layer ``blk.N.*``: its tensors' bytes (read from the GGUF header, ``bundle.gguf_header``) plus
  its share of the KV cache, f16 keys and values for ``n_ctx x model.parallel`` tokens;
* the output layer (``output.weight``, or the tied ``token_embd.weight``), which llama.cpp
  offloads only when every repeating layer is offloaded too;
* a fixed reserve for the CUDA context and llama.cpp's compute buffers (an estimate).

llama.cpp offloads the *last* ``n`` repeating layers, so a partial plan counts from the end.
No NVIDIA GPU, or a llama.cpp built without CUDA, plans 0 layers and says so.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aiclone_agent.bundle.gguf_header import GgufHeaderError, GgufValue, gguf_int, gguf_str, read_gguf_header

MIB = 1024 * 1024
CUDA_RESERVE_MIB = 512  # CUDA context, cuBLAS workspace, allocator slack (measured ~300-500 MiB)
KV_BYTES_PER_ELEMENT = 2  # llama.cpp's default KV cache type is f16
N_BATCH = 512
NVIDIA_SMI_QUERY = (
    "--query-gpu=name,memory.total,memory.used,memory.free",
    "--format=csv,noheader,nounits",
)
_LAYER = re.compile(r"^blk\.(\d+)\.")

NGpuLayers = int | Literal["auto"]


@dataclass(frozen=True)
class GpuInfo:
    name: str
    total_mib: int
    used_mib: int
    free_mib: int


@dataclass(frozen=True)
class ModelFootprint:
    """What the model puts on the GPU, from the GGUF alone."""

    layer_bytes: tuple[int, ...]  # weights of blk.0 .. blk.N-1
    output_bytes: int
    kv_bytes_per_token: tuple[int, ...]  # per layer, keys + values
    n_vocab: int
    n_embd: int

    @property
    def n_layers(self) -> int:
        return len(self.layer_bytes)

    def compute_reserve_bytes(self) -> int:
        """CUDA context plus compute buffers: logits for one batch and a few activations per token."""
        return CUDA_RESERVE_MIB * MIB + N_BATCH * (self.n_vocab + 8 * self.n_embd) * 4

    def bytes_for(self, n_layers: int, kv_tokens: int, with_output: bool) -> int:
        """GPU bytes when the last ``n_layers`` repeating layers (and maybe the output) are offloaded."""
        first = self.n_layers - n_layers
        weights = sum(self.layer_bytes[first:]) + (self.output_bytes if with_output else 0)
        kv = kv_tokens * sum(self.kv_bytes_per_token[first:])
        return weights + kv + (self.compute_reserve_bytes() if n_layers else 0)


@dataclass(frozen=True)
class OffloadPlan:
    setting: str  # "auto" or the configured number
    n_gpu_layers: int  # what llama.cpp is given (-1: all)
    layers_offloaded: int  # as llama.cpp counts them: repeating layers + the output layer
    layers_total: int
    reason: str  # for the log and API clients (may hold nvidia-smi's words); a person reads reason_code
    gpu: GpuInfo | None
    needed_mib: int | None = None  # the estimate for the whole model on the GPU
    reason_code: str = ""  # ``aiclone_wire.error_codes``: the Status page says ``reason`` in its language
    reason_params: dict[str, str | int] = field(default_factory=dict)

    def as_status(self, now: GpuInfo | None = None) -> dict:
        """For ``/api/status``: VRAM figures from ``now`` (a fresh query) when given, else from load time."""
        gpu = now if now is not None and self.gpu is not None else self.gpu
        return {
            "name": gpu.name if gpu else None,
            "vram_total_mib": gpu.total_mib if gpu else None,
            "vram_used_mib": gpu.used_mib if gpu else None,
            "vram_free_mib": gpu.free_mib if gpu else None,
            "n_gpu_layers": self.setting,
            "layers_offloaded": self.layers_offloaded,
            "layers_total": self.layers_total,
            "needed_mib": self.needed_mib,
            "reason": self.reason,
            "reason_code": self.reason_code or None,
            "reason_params": self.reason_params,
        }


def parse_nvidia_smi(text: str) -> list[GpuInfo]:
    """Rows of ``nvidia-smi --query-gpu=name,memory.total,memory.used,memory.free --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        # The name may itself hold commas; the three numbers are always the last fields.
        name, *numbers = line.rsplit(",", 3)
        if len(numbers) != 3:
            raise ValueError(f"unexpected nvidia-smi line: {line!r}")
        try:
            total, used, free = (int(float(value.strip())) for value in numbers)
        except ValueError as exc:
            raise ValueError(f"unexpected nvidia-smi line: {line!r}") from exc
        gpus.append(GpuInfo(name.strip(), total, used, free))
    return gpus


def query_gpu(timeout_s: float = 10.0) -> tuple[GpuInfo | None, str, str]:
    """The first NVIDIA GPU (the one llama.cpp uses first) and, when there is none, why: the text
    and its catalogue code, ``gpu_not_found`` when there is no nvidia-smi or it lists none,
    ``gpu_query_failed`` when it fails (its words stay in the text)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None, "no NVIDIA GPU (nvidia-smi not found)", "gpu_not_found"
    try:
        done = subprocess.run(
            [smi, *NVIDIA_SMI_QUERY], capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"no NVIDIA GPU (nvidia-smi failed: {exc})", "gpu_query_failed"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        why = detail[0] if detail else f"exit {done.returncode}"
        return None, f"no NVIDIA GPU (nvidia-smi: {why})", "gpu_query_failed"
    try:
        gpus = parse_nvidia_smi(done.stdout)
    except ValueError as exc:
        return None, f"no NVIDIA GPU ({exc})", "gpu_query_failed"
    if not gpus:
        return None, "no NVIDIA GPU (nvidia-smi lists none)", "gpu_not_found"
    return gpus[0], "", ""


def read_footprint(model_path: Path) -> ModelFootprint:
    """Tensor sizes and KV dimensions from the GGUF header (the weights are not read)."""
    fields, tensors_info = read_gguf_header(model_path)
    arch = gguf_str(fields, "general.architecture", "llama")
    n_layers = gguf_int(fields, f"{arch}.block_count", 0)
    if not 0 <= n_layers <= len(tensors_info):  # every layer has tensors: a bigger count is a lie
        raise GgufHeaderError(
            f"{arch}.block_count is {n_layers} but the file has {len(tensors_info)} tensors"
        )
    layer_bytes = [0] * n_layers
    tensors: dict[str, int] = {}
    for tensor in tensors_info:
        match = _LAYER.match(tensor.name)
        if match and int(match.group(1)) < n_layers:
            layer_bytes[int(match.group(1))] += tensor.n_bytes
        else:
            tensors[tensor.name] = tensor.n_bytes
    # Tied embeddings: llama.cpp duplicates token_embd as the output matrix on the GPU.
    output = tensors.get("output.weight", tensors.get("token_embd.weight", 0))
    output += tensors.get("output_norm.weight", 0)

    n_embd = gguf_int(fields, f"{arch}.embedding_length", 0)
    n_head = _per_layer(fields.get(f"{arch}.attention.head_count"), [1] * n_layers)
    n_head_kv = _per_layer(fields.get(f"{arch}.attention.head_count_kv"), n_head)
    kv_per_token = []
    for layer in range(n_layers):
        head_dim = n_embd // max(1, n_head[layer])
        k = gguf_int(fields, f"{arch}.attention.key_length", head_dim)
        v = gguf_int(fields, f"{arch}.attention.value_length", head_dim)
        kv_per_token.append((k + v) * n_head_kv[layer] * KV_BYTES_PER_ELEMENT)
    n_vocab = gguf_int(fields, "tokenizer.ggml.tokens", gguf_int(fields, f"{arch}.vocab_size", 32_000))
    return ModelFootprint(tuple(layer_bytes), output, tuple(kv_per_token), n_vocab, n_embd)


def _per_layer(value: GgufValue | None, default: list[int]) -> list[int]:
    """A per-layer count stored as one number or as an array with one per layer; ``default``
    when absent or zero."""
    if isinstance(value, list):
        if len(value) != len(default):
            raise GgufHeaderError(f"a per-layer array has {len(value)} values for {len(default)} layers")
        return [int(v) for v in value]
    if isinstance(value, str):
        raise GgufHeaderError(f"a per-layer count is the string {value[:40]!r}, not a number")
    return [int(value)] * len(default) if value else list(default)


def layers_that_fit(footprint: ModelFootprint, kv_tokens: int, free_bytes: int) -> int:
    """Repeating layers (counted from the last) that fit; ``n_layers + 1`` means the output too."""
    if footprint.bytes_for(footprint.n_layers, kv_tokens, with_output=True) <= free_bytes:
        return footprint.n_layers + 1
    fitting = 0
    for n in range(1, footprint.n_layers + 1):
        if footprint.bytes_for(n, kv_tokens, with_output=False) > free_bytes:
            break
        fitting = n
    return fitting


def plan_offload(
    setting: NGpuLayers,
    footprint: ModelFootprint,
    *,
    n_ctx: int,
    parallel: int,
    gpu: GpuInfo | None,
    no_gpu_reason: str = "no NVIDIA GPU",
    no_gpu_code: str = "gpu_not_found",
    gpu_offload_supported: bool = True,
) -> OffloadPlan:
    total = footprint.n_layers + 1
    kv_tokens = n_ctx * parallel
    needed = footprint.bytes_for(footprint.n_layers, kv_tokens, with_output=True)
    needed_mib = -(-needed // MIB)
    if setting != "auto":
        offloaded = total if setting < 0 else min(setting, total)
        if gpu is None or not gpu_offload_supported:
            offloaded = 0
        return OffloadPlan(
            str(setting),
            setting,
            offloaded,
            total,
            f"model.n_gpu_layers is {setting} in the config",
            gpu,
            needed_mib,
            reason_code="gpu_layers_configured",
            reason_params={"setting": setting},
        )
    if gpu is None:
        return OffloadPlan("auto", 0, 0, total, no_gpu_reason, None, needed_mib, reason_code=no_gpu_code)
    if not gpu_offload_supported:
        return OffloadPlan(
            "auto",
            0,
            0,
            total,
            "llama.cpp was built without CUDA: install the CUDA toolkit and run the setup again",
            gpu,
            needed_mib,
            reason_code="gpu_no_cuda",
        )
    fit = layers_that_fit(footprint, kv_tokens, gpu.free_mib * MIB)
    context = f"{kv_tokens} tokens of KV cache ({n_ctx} x {parallel} sequences)"
    fits: dict[str, str | int] = {
        "total": total,
        "needed_mib": needed_mib,
        "free_mib": gpu.free_mib,
        "kv_tokens": kv_tokens,
    }
    if fit == total:
        return OffloadPlan(
            "auto",
            -1,
            total,
            total,
            f"all {total} layers fit: about {needed_mib} MiB with {context}, {gpu.free_mib} MiB free",
            gpu,
            needed_mib,
            reason_code="gpu_all_fit",
            reason_params=fits,
        )
    if fit == 0:
        return OffloadPlan(
            "auto",
            0,
            0,
            total,
            f"no layer fits in {gpu.free_mib} MiB free VRAM with {context}; running on the CPU",
            gpu,
            needed_mib,
            reason_code="gpu_none_fit",
            reason_params=fits,
        )
    return OffloadPlan(
        "auto",
        fit,
        fit,
        total,
        f"{fit} of {total} layers fit in {gpu.free_mib} MiB free VRAM (the whole model needs about "
        f"{needed_mib} MiB with {context}); the rest run on the CPU",
        gpu,
        needed_mib,
        reason_code="gpu_some_fit",
        reason_params={**fits, "fit": fit},
    )


def plan_for_model(
    setting: NGpuLayers, model_path: Path, *, n_ctx: int, parallel: int, gpu_offload_supported: bool
) -> OffloadPlan:
    """The plan for this machine's GPU (asked with ``nvidia-smi``) and this GGUF file.

    A header this reader does not understand never stops the agent: ``auto`` then stays on the CPU
    and says why; a configured number is used as it is.
    """
    gpu, no_gpu_reason, no_gpu_code = query_gpu()
    try:
        footprint = read_footprint(model_path)
    except (OSError, ValueError) as exc:
        layers = 0 if setting == "auto" else setting
        why = f"cannot read the layer sizes of {model_path.name} ({exc})"
        return OffloadPlan(
            str(setting),
            layers,
            0,
            0,
            f"{why}; model.n_gpu_layers is {setting}",
            gpu,
            reason_code="gpu_header_unreadable",
            reason_params={"file": model_path.name, "setting": str(setting)},
        )
    return plan_offload(
        setting,
        footprint,
        n_ctx=n_ctx,
        parallel=parallel,
        gpu=gpu,
        no_gpu_reason=no_gpu_reason,
        no_gpu_code=no_gpu_code,
        gpu_offload_supported=gpu_offload_supported,
    )


def live_status(plan: OffloadPlan) -> dict:
    """The plan with VRAM as it is now (the model loaded); blocking: ``nvidia-smi`` runs once."""
    now = query_gpu()[0] if plan.gpu is not None else None
    return plan.as_status(now)
