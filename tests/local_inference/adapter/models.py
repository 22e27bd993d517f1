"""Test fixtures written from scratch: PEFT adapters, F32 and merged copies of a GGUF, a tiny qwen2.

The merge below is written independently of the converter: the q/k row order is derived here
from what RoPE pairs up (HF rotates dims i and i + d/2 of a head together, llama.cpp's llama
layout rotates 2i and 2i + 1), as an explicit index map, not by calling the converter's code.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np
from gguf.quants import dequantize
from safetensors.numpy import save_file

HF_NAME = {
    "q_proj": "self_attn.q_proj",
    "k_proj": "self_attn.k_proj",
    "v_proj": "self_attn.v_proj",
    "o_proj": "self_attn.o_proj",
    "gate_proj": "mlp.gate_proj",
    "up_proj": "mlp.up_proj",
    "down_proj": "mlp.down_proj",
}
GGUF_NAME = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}
ALL_TARGETS = tuple(HF_NAME)


@dataclass(frozen=True)
class TestAdapter:
    folder: Path
    rank: int
    alpha: float
    rslora: bool
    layers: tuple[int, ...]
    pairs: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]  # (layer, module) -> (A [r,in], B [out,r])

    @property
    def scaling(self) -> float:
        return self.alpha / (math.sqrt(self.rank) if self.rslora else self.rank)


def gguf_reader(path: Path) -> gguf.GGUFReader:
    """``gguf.GGUFReader`` of ``path``, read once per run: it takes about 3 s on a file with the test
    model's 49k-token vocabulary (a numpy view per string), and the test models are never changed
    in place (a file rewritten since is read again: the key holds its size and mtime)."""
    stat = path.stat()
    return _read_gguf(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_gguf(path: str, _size: int, _mtime_ns: int) -> gguf.GGUFReader:
    return gguf.GGUFReader(path)


def tensor_shapes(gguf_path: Path) -> dict[str, tuple[int, int]]:
    reader = gguf_reader(gguf_path)
    return {t.name: (int(t.shape[1]), int(t.shape[0])) for t in reader.tensors if len(t.shape) == 2}


def write_peft_adapter(
    folder: Path,
    gguf_path: Path,
    *,
    layers,
    rank: int,
    alpha: float,
    rslora: bool = False,
    targets=ALL_TARGETS,
    seed: int = 0,
    magnitude: float = 0.05,
    extra_tensors: dict | None = None,
    base_model_name: str = "HuggingFaceTB/SmolLM2-135M-Instruct",
) -> TestAdapter:
    """A PEFT folder as ``peft.save_pretrained`` writes it, with random A and B."""
    shapes = tensor_shapes(gguf_path)
    rng = np.random.default_rng(seed)
    pairs, tensors = {}, {}
    for layer in layers:
        for module in targets:
            out_dim, in_dim = shapes[f"blk.{layer}.{GGUF_NAME[module]}.weight"]
            a = (rng.standard_normal((rank, in_dim)) * magnitude).astype(np.float32)
            b = (rng.standard_normal((out_dim, rank)) * magnitude).astype(np.float32)
            pairs[(layer, module)] = (a, b)
            prefix = f"base_model.model.model.layers.{layer}.{HF_NAME[module]}"
            tensors[f"{prefix}.lora_A.weight"] = a
            tensors[f"{prefix}.lora_B.weight"] = b
    tensors.update(extra_tensors or {})
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model_name,
        "r": rank,
        "lora_alpha": alpha,
        "use_rslora": rslora,
        "use_dora": False,
        "bias": "none",
        "lora_dropout": 0.0,
        "target_modules": list(targets),
        "modules_to_save": None,
        "fan_in_fan_out": False,
        "rank_pattern": {},
        "alpha_pattern": {},
    }
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return TestAdapter(folder, rank, float(alpha), rslora, tuple(layers), pairs)


def hf_to_llama_rows(n_rows: int, n_heads: int) -> np.ndarray:
    """index[k] = the HF row that lands at llama.cpp row k (llama-family q/k)."""
    head_dim = n_rows // n_heads
    index = np.empty(n_rows, dtype=np.int64)
    for head in range(n_heads):
        for pair in range(head_dim // 2):
            for member in range(2):  # member 0 is HF dim `pair`, member 1 is HF dim `pair + d/2`
                index[head * head_dim + 2 * pair + member] = head * head_dim + member * head_dim // 2 + pair
    return index


def _copy_metadata(reader: gguf.GGUFReader, writer: gguf.GGUFWriter) -> None:
    for field in reader.fields.values():
        if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)


def rewrite_gguf(source: Path, target: Path, replace: dict[str, np.ndarray]) -> Path:
    """Copy ``source`` with the named tensors replaced by float32 arrays (numpy order), the rest raw."""
    reader = gguf_reader(source)
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(target, arch)
    _copy_metadata(reader, writer)
    for tensor in reader.tensors:
        if tensor.name in replace:
            writer.add_tensor(tensor.name, np.ascontiguousarray(replace[tensor.name], dtype=np.float32))
        else:
            writer.add_tensor(tensor.name, tensor.data, raw_dtype=tensor.tensor_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return target


def dequantized(source: Path, names) -> dict[str, np.ndarray]:
    reader = gguf_reader(source)
    wanted = set(names)
    out = {}
    for tensor in reader.tensors:
        if tensor.name in wanted:
            out[tensor.name] = (
                dequantize(tensor.data, tensor.tensor_type)
                .astype(np.float32)
                .reshape(int(tensor.shape[1]), int(tensor.shape[0]))
            )
    return out


def merged_weights(
    base: dict[str, np.ndarray], adapter: TestAdapter, heads: tuple[int, int] | None
) -> dict[str, np.ndarray]:
    """W + scaling * B @ A for every adapted weight; ``heads`` = (n_head, n_head_kv) to reorder q/k."""
    merged = {}
    for (layer, module), (a, b) in adapter.pairs.items():
        name = f"blk.{layer}.{GGUF_NAME[module]}.weight"
        delta = (b.astype(np.float64) @ a.astype(np.float64)) * adapter.scaling
        if heads is not None and module in ("q_proj", "k_proj"):
            n = heads[0] if module == "q_proj" else heads[1]
            delta = delta[hf_to_llama_rows(delta.shape[0], n)]
        merged[name] = (base[name].astype(np.float64) + delta).astype(np.float32)
    return merged


def write_tiny_qwen2(path: Path, tokenizer_source: Path, *, seed: int = 1) -> Path:
    return write_tiny_model(path, tokenizer_source, "qwen2", seed=seed)


def write_tiny_llama(path: Path, tokenizer_source: Path, *, seed: int = 2) -> Path:
    return write_tiny_model(path, tokenizer_source, "llama", seed=seed)


def write_tiny_model(path: Path, tokenizer_source: Path, arch: str, *, seed: int) -> Path:
    """A random 2-layer ``arch`` GGUF, all F32, that borrows its tokenizer from ``tokenizer_source``
    (qwen2 gets its q/k/v biases)."""
    src = gguf_reader(tokenizer_source)
    writer = gguf.GGUFWriter(path, arch)
    for field in src.fields.values():
        if field.name.startswith("tokenizer."):
            value_type = field.types[0]
            sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    n_vocab = len(src.fields["tokenizer.ggml.tokens"].data)
    embd, layers, heads, kv_heads, ffn = 64, 2, 4, 2, 128
    head_dim = embd // heads
    writer.add_name(f"tiny-random-{arch}")
    writer.add_context_length(256)
    writer.add_embedding_length(embd)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    rng = np.random.default_rng(seed)

    def rand(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer.add_tensor("token_embd.weight", rand(n_vocab, embd, scale=1.0))
    writer.add_tensor("output_norm.weight", np.ones(embd, np.float32))
    writer.add_tensor("output.weight", rand(n_vocab, embd))
    for i in range(layers):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(embd, np.float32))
        writer.add_tensor(f"blk.{i}.attn_q.weight", rand(heads * head_dim, embd))
        writer.add_tensor(f"blk.{i}.attn_k.weight", rand(kv_heads * head_dim, embd))
        writer.add_tensor(f"blk.{i}.attn_v.weight", rand(kv_heads * head_dim, embd))
        if arch == "qwen2":
            writer.add_tensor(f"blk.{i}.attn_q.bias", rand(heads * head_dim))
            writer.add_tensor(f"blk.{i}.attn_k.bias", rand(kv_heads * head_dim))
            writer.add_tensor(f"blk.{i}.attn_v.bias", rand(kv_heads * head_dim))
        writer.add_tensor(f"blk.{i}.attn_output.weight", rand(embd, heads * head_dim))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(embd, np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", rand(ffn, embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", rand(ffn, embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", rand(embd, ffn))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
