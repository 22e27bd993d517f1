"""A bad adapter is refused before llama.cpp sees it, with a reason an owner can act on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from aiclone_agent.adapter.checks import check_peft_against_base, read_base_model, read_gguf_lora
from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.adapter.gguf_lora import convert_peft_to_gguf
from aiclone_agent.adapter.peft import read_peft_adapter
from tests.local_inference.adapter.models import write_peft_adapter, write_tiny_qwen2
from tests.support.gguf_files import huge_count, nested_arrays


@pytest.fixture(scope="module")
def tiny_qwen2(tmp_path_factory, model_path: Path) -> Path:
    return write_tiny_qwen2(tmp_path_factory.mktemp("qwen2") / "tiny-qwen2.gguf", model_path)


def refusal(folder: Path, base_gguf: Path) -> str:
    with pytest.raises(AdapterError) as caught:
        check_peft_against_base(read_peft_adapter(folder), read_base_model(base_gguf))
    return str(caught.value)


@pytest.mark.slow
def test_adapter_for_another_model_is_refused_by_shape(
    tmp_path: Path, model_path: Path, tiny_qwen2: Path
) -> None:
    write_peft_adapter(
        tmp_path / "peft", tiny_qwen2, layers=(0,), rank=4, alpha=8, base_model_name="Qwen/Qwen2.5-0.5B"
    )
    reason = refusal(tmp_path / "peft", model_path)
    assert "layer 0 " in reason and "576" in reason and "trained for another base model" in reason
    assert "Qwen/Qwen2.5-0.5B" in reason


@pytest.mark.slow
def test_adapter_with_more_layers_than_the_base_is_refused(
    tmp_path: Path, model_path: Path, tiny_qwen2: Path
) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(29,), rank=4, alpha=8, targets=("v_proj",))
    assert "the base model has 2 layers" in refusal(tmp_path / "peft", tiny_qwen2)
    with pytest.raises(AdapterError) as caught:
        check_peft_against_base(read_peft_adapter(tmp_path / "peft"), read_base_model(tiny_qwen2))
    assert caught.value.reason_code == "adapter_wrong_base"


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (
            {"base_model.model.model.embed_tokens.lora_embedding_A": np.zeros((4, 49152), np.float32)},
            "token embeddings",
        ),
        ({"base_model.model.lm_head.lora_A.weight": np.zeros((4, 576), np.float32)}, "lm_head"),
        (
            {
                "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector": np.zeros(
                    576, np.float32
                )
            },
            "DoRA",
        ),
    ],
)
def test_unsupported_targets_are_named(tmp_path: Path, model_path: Path, extra: dict, says: str) -> None:
    write_peft_adapter(
        tmp_path / "peft", model_path, layers=(0,), rank=4, alpha=8, targets=("q_proj",), extra_tensors=extra
    )
    with pytest.raises(AdapterError, match=says) as caught:
        read_peft_adapter(tmp_path / "peft")
    assert caught.value.reason_code == "adapter_unsupported"


def test_truncated_weights_are_called_corrupt(tmp_path: Path, model_path: Path) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(0, 1), rank=4, alpha=8)
    weights = tmp_path / "peft" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    with pytest.raises(AdapterError, match="truncated or corrupt") as caught:
        read_peft_adapter(tmp_path / "peft")
    assert caught.value.reason_code == "adapter_invalid"


def test_garbage_config_is_called_corrupt(tmp_path: Path, model_path: Path) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(0,), rank=4, alpha=8)
    (tmp_path / "peft" / "adapter_config.json").write_bytes(b"\x00\xff{not json")
    with pytest.raises(AdapterError, match="not valid JSON") as caught:
        read_peft_adapter(tmp_path / "peft")
    assert caught.value.reason_code == "adapter_invalid"


@pytest.mark.slow
def test_gguf_lora_for_another_architecture_is_refused(
    tmp_path: Path, model_path: Path, tiny_qwen2: Path
) -> None:
    write_peft_adapter(tmp_path / "peft", tiny_qwen2, layers=(0,), rank=4, alpha=8)
    lora = convert_peft_to_gguf(tmp_path / "peft", tmp_path / "qwen2-lora.gguf", tiny_qwen2, progress=False)
    assert read_gguf_lora(lora, read_base_model(tiny_qwen2)).architecture == "qwen2"
    with pytest.raises(
        AdapterError, match="LoRA for the qwen2 architecture but the base model is llama"
    ) as caught:
        read_gguf_lora(lora, read_base_model(model_path))
    assert caught.value.reason_code == "adapter_wrong_base"


@pytest.mark.parametrize(
    ("hostile", "says"),
    [(nested_arrays, "nests arrays more than 3 deep"), (huge_count, "declares 1,099,511,627,776 items")],
)
def test_a_hostile_gguf_lora_is_called_corrupt_before_ggufs_reader_sees_it(
    tmp_path: Path, hostile, says: str
) -> None:
    # gguf.GGUFReader alone: RecursionError on the first, memory exhausted on the second
    path = hostile(tmp_path)
    with pytest.raises(AdapterError, match=f"{path.name} is not a readable GGUF file: .*{says}"):
        read_gguf_lora(path)
    with pytest.raises(AdapterError, match=f"cannot read the base model {path.name}: .*{says}"):
        read_base_model(path)


@pytest.mark.slow
def test_convert_lora_cli(tmp_path: Path, model_path: Path) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(0, 3), rank=8, alpha=16, rslora=True)
    out = tmp_path / "clone-lora.gguf"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiclone_agent",
            "convert-lora",
            str(tmp_path / "peft"),
            str(out),
            "--base",
            str(model_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    info = read_gguf_lora(out, read_base_model(model_path))
    assert (info.rank, info.architecture) == (8, "llama")
    assert info.targets == ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    assert info.alpha == pytest.approx(16 / np.sqrt(8) * 8)  # rsLoRA: alpha/sqrt(r) expressed as alpha'/r

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiclone_agent",
            "convert-lora",
            str(tmp_path),
            str(out),
            "--base",
            str(model_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "cannot convert" in bad.stderr and "Traceback" not in bad.stderr
