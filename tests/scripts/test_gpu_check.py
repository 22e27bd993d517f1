"""scripts/gpu_check.py runs: its CPU path, as a real process on the small test model.

There is no GPU here or in CI, so ``--cpu`` takes the path the script takes on any machine without
one: llama.cpp through the agent's own engine loader and adapter service, no transformers reference.
It is the llama.cpp half of the GPU check, so an import or a call the agent's code no longer has
fails here instead of on the day someone has a GPU to run it on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.local_inference.adapter.models import write_peft_adapter

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gpu_check.py"
LLAMA_CPP = "llama.cpp (converted GGUF LoRA)"

pytestmark = pytest.mark.process  # each run loads the model in a process of its own


@pytest.fixture(scope="module")
def model_path() -> Path:
    path = Path(os.environ.get("AICLONE_TEST_MODEL", ROOT / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"))
    if not path.is_file():
        pytest.fail(
            f"test model {path} is missing: run ./scripts/test.sh (it fetches it) or set AICLONE_TEST_MODEL"
        )
    return path


def run_cpu_check(peft: Path, model_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--cpu",
            "--peft",
            str(peft),
            "--gguf",
            str(model_path),
            "--tokens",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=float(os.environ.get("AICLONE_TEST_START_TIMEOUT_S", "120")) * 2,
        check=False,
    )


def report(stdout: str) -> dict:
    """The JSON document the script prints before its one-line verdicts."""
    return json.loads(stdout[: stdout.rindex("}") + 1])


def test_cpu_path_answers_with_the_adapter_applied(tmp_path: Path, model_path: Path) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(0, 1), rank=4, alpha=8)
    done = run_cpu_check(tmp_path / "peft", model_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = report(done.stdout)
    assert result["path"] == "cpu" and result["why"] == "--cpu"
    assert result["engines"][LLAMA_CPP]["ok"] is True
    assert result["engines"][LLAMA_CPP]["text"].strip()
    assert "SKIPPED  reference (transformers + peft): --cpu" in done.stdout
    assert f"ANSWERED  {LLAMA_CPP}" in done.stdout


def test_cpu_path_fails_when_the_adapter_is_not_applied(tmp_path: Path, model_path: Path) -> None:
    write_peft_adapter(tmp_path / "peft", model_path, layers=(0, 1), rank=4, alpha=8)
    weights = tmp_path / "peft" / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    done = run_cpu_check(tmp_path / "peft", model_path)
    assert done.returncode == 1, done.stdout + done.stderr
    result = report(done.stdout)
    assert result["engines"][LLAMA_CPP]["ok"] is False
    assert "adapter not applied" in result["engines"][LLAMA_CPP]["error"]
    assert "truncated or corrupt" in result["engines"][LLAMA_CPP]["error"]
    assert f"FAILED    {LLAMA_CPP}" in done.stdout
