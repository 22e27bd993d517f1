"""Our sampling parameters and adapter, translated into TensorRT-LLM's objects.

TensorRT-LLM cannot be installed on these machines (no NVIDIA GPU), so this test alone puts a
stand-in package named ``tensorrt_llm`` on ``sys.path`` — written below into
``fake_tensorrt_llm_for_translation_test/`` — whose classes only record their arguments. It checks
the translation and the import paths we use, not TensorRT-LLM itself; scripts/gpu_check.py runs
the real engine on a GPU machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.engine.tensorrt_engine import (
    LORA_NAME,
    import_tensorrt_llm,
    lora_config_for,
    lora_request_for,
    to_sampling_params,
)

RECORDER = (
    "class {name}:\n    def __init__(self, *args, **kwargs):\n        self.args, self.kwargs = args, kwargs\n"
)
FAKE_FILES = {
    "tensorrt_llm/__init__.py": RECORDER.format(name="LLM"),
    "tensorrt_llm/sampling_params.py": RECORDER.format(name="SamplingParams"),
    "tensorrt_llm/lora_manager.py": RECORDER.format(name="LoraConfig"),
    "tensorrt_llm/executor/__init__.py": "",
    "tensorrt_llm/executor/request.py": RECORDER.format(name="LoRARequest"),
}


@pytest.fixture
def trt(tmp_path: Path, monkeypatch):
    root = tmp_path / "fake_tensorrt_llm_for_translation_test"
    for name, text in FAKE_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    monkeypatch.syspath_prepend(str(root))
    yield import_tensorrt_llm()
    for name in [m for m in sys.modules if m == "tensorrt_llm" or m.startswith("tensorrt_llm.")]:
        del sys.modules[name]


def test_sampling_params(trt) -> None:
    params = SamplingParams(max_tokens=200, temperature=0.6, top_p=0.9, stop=("\nUser:",), seed=7)
    made = to_sampling_params(trt, params, ("\nUser:", "<|im_end|>"), max_tokens=120)
    assert made.kwargs == {
        "max_tokens": 120,
        "temperature": 0.6,
        "top_p": 0.9,
        "stop": ["\nUser:", "<|im_end|>"],
        "seed": 7,
    }


def test_greedy_becomes_top_k_1(trt) -> None:
    made = to_sampling_params(trt, SamplingParams(max_tokens=5, temperature=0.0), (), max_tokens=5)
    assert made.kwargs == {"max_tokens": 5, "temperature": 0.0, "top_p": 1.0, "top_k": 1, "stop": None}


def test_adapter_objects(trt, tmp_path: Path) -> None:
    peft = tmp_path / "lora"
    peft.mkdir()
    (peft / "adapter_config.json").write_text(json.dumps({"r": 16, "lora_alpha": 32}))
    config = lora_config_for(trt, peft)
    assert config.kwargs == {"lora_dir": [str(peft)], "max_lora_rank": 16, "max_loras": 1, "max_cpu_loras": 1}
    request = lora_request_for(trt, peft)
    assert request.args == (LORA_NAME, 1, str(peft))
