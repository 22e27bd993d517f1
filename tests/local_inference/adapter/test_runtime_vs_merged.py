"""The converter is numerically right: llama.cpp running the converted adapter at run time gives
the logits of a model whose weights were merged with the same adapter in numpy.

The models are tiny random llama and qwen2 GGUFs written by the tests, all F32 (they borrow the
test model's tokenizer), so llama.cpp computes in float everywhere. On the quantized test model
itself the two paths agree only to a few percent: activations are quantized to 8 bits before every
Q4_1/Q8_0 matmul, which magnifies float-rounding differences; the agent tests cover that model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiclone_agent.adapter.gguf_lora import convert_peft_to_gguf
from tests.local_inference.adapter.logits import LowLevelModel
from tests.local_inference.adapter.models import (
    GGUF_NAME,
    TestAdapter,
    dequantized,
    merged_weights,
    rewrite_gguf,
    write_peft_adapter,
    write_tiny_llama,
    write_tiny_qwen2,
)

# each builds small models and compares runtime LoRA with merged weights: ~11 s apiece
pytestmark = pytest.mark.slow

TINY_HEADS = (4, 2)  # the tiny models: 4 query heads, 2 key/value heads
PROMPT = "<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n"
STEPS = 4


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def run(path: Path, lora: Path | None = None, scale: float = 1.0, forced=None):
    model = LowLevelModel(path)
    try:
        model.set_lora(lora, scale)
        return model.greedy(model.tokenize(PROMPT), STEPS, forced)
    finally:
        model.close()


def merged_model(tmp: Path, base: Path, adapter: TestAdapter, heads, name: str = "merged.gguf") -> Path:
    names = [f"blk.{layer}.{GGUF_NAME[m]}.weight" for (layer, m) in adapter.pairs]
    return rewrite_gguf(base, tmp / name, merged_weights(dequantized(base, names), adapter, heads))


def check_runtime_equals_merged(tmp: Path, base: Path, adapter: TestAdapter, heads) -> None:
    merged = merged_model(tmp, base, adapter, heads)
    lora = convert_peft_to_gguf(adapter.folder, tmp / "adapter.gguf", base, progress=False)

    tokens, runtime = run(base, lora, 1.0)
    _, merged_logits = run(merged, forced=tokens)
    _, base_logits = run(base, forced=tokens)
    _, off_logits = run(base, lora, 0.0, forced=tokens)

    error = relative_error(runtime, merged_logits)
    effect = relative_error(base_logits, merged_logits)
    assert error < 1e-3, f"runtime LoRA differs from the merged weights by {error:.2e} (relative)"
    assert effect > 100 * error, (
        f"the adapter barely changes the logits ({effect:.2e}): the test proves nothing"
    )
    assert [int(np.argmax(row)) for row in merged_logits] == tokens  # the same greedy answer
    np.testing.assert_array_equal(off_logits, base_logits)  # scale 0 is the base model exactly


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory, model_path: Path) -> Path:
    return write_tiny_llama(tmp_path_factory.mktemp("llama") / "tiny-llama.gguf", model_path)


@pytest.fixture(scope="module")
def tiny_qwen2(tmp_path_factory, model_path: Path) -> Path:
    return write_tiny_qwen2(tmp_path_factory.mktemp("qwen2") / "tiny-qwen2.gguf", model_path)


def test_llama_all_targets_runtime_equals_merged(tmp_path: Path, tiny_llama: Path) -> None:
    adapter = write_peft_adapter(tmp_path / "peft", tiny_llama, layers=(0, 1), rank=4, alpha=8, magnitude=0.3)
    check_runtime_equals_merged(tmp_path, tiny_llama, adapter, TINY_HEADS)


def test_llama_rslora_runtime_equals_merged(tmp_path: Path, tiny_llama: Path) -> None:
    adapter = write_peft_adapter(
        tmp_path / "peft",
        tiny_llama,
        layers=(1,),
        rank=16,
        alpha=6,
        rslora=True,
        seed=3,
        magnitude=0.3,
        targets=("q_proj", "k_proj", "down_proj"),
    )
    check_runtime_equals_merged(tmp_path, tiny_llama, adapter, TINY_HEADS)


def test_llama_q_k_rows_are_reordered(tmp_path: Path, tiny_llama: Path) -> None:
    """Control: merging without llama.cpp's q/k row order gives clearly different logits, so the
    equality above would catch a converter that skipped (or botched) the reordering."""
    adapter = write_peft_adapter(
        tmp_path / "peft",
        tiny_llama,
        layers=(0, 1),
        rank=4,
        alpha=8,
        targets=("q_proj", "k_proj"),
        magnitude=0.3,
    )
    unordered = merged_model(tmp_path, tiny_llama, adapter, None, "unordered.gguf")
    lora = convert_peft_to_gguf(adapter.folder, tmp_path / "adapter.gguf", tiny_llama, progress=False)
    tokens, runtime = run(tiny_llama, lora)
    _, wrong = run(unordered, forced=tokens)
    assert relative_error(runtime, wrong) > 1e-1


def test_qwen2_runtime_equals_merged_without_reordering(tmp_path: Path, tiny_qwen2: Path) -> None:
    adapter = write_peft_adapter(
        tmp_path / "peft",
        tiny_qwen2,
        layers=(0, 1),
        rank=4,
        alpha=8,
        magnitude=0.3,
        base_model_name="tiny-random-qwen2",
    )
    check_runtime_equals_merged(tmp_path, tiny_qwen2, adapter, None)


def test_real_model_adapter_scale_zero_is_the_base_model(tmp_path: Path, model_path: Path) -> None:
    """On the quantized test model: the converted adapter loads, changes the logits, and at scale 0
    gives the base logits bit for bit."""
    adapter = write_peft_adapter(
        tmp_path / "peft", model_path, layers=(0, 15, 29), rank=8, alpha=16, magnitude=0.1
    )
    lora = convert_peft_to_gguf(adapter.folder, tmp_path / "adapter.gguf", model_path, progress=False)
    model = LowLevelModel(model_path)
    try:
        prompt = model.tokenize(PROMPT)
        tokens, base = model.greedy(prompt, STEPS)
        model.set_lora(lora, 1.0)
        _, adapted = model.greedy(prompt, STEPS, forced=tokens)
        model.set_lora(lora, 0.0)
        _, off = model.greedy(prompt, STEPS, forced=tokens)
    finally:
        model.close()
    assert relative_error(adapted, base) > 1e-2
    np.testing.assert_array_equal(off, base)
