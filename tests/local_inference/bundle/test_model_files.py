"""Which model runs, and the one-line explanations when there is none or it is broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiclone_agent.bundle.model_files import DEFAULT_MODEL_FILE, ModelMissingError, find_base_model


def gguf(path: Path) -> Path:
    path.write_bytes(b"GGUF" + b"\0" * 64)
    return path


def test_owner_gguf_is_preferred_over_the_default(tmp_path):
    gguf(tmp_path / DEFAULT_MODEL_FILE)
    owner = gguf(tmp_path / "my-finetune.Q8_0.gguf")
    assert find_base_model("", tmp_path) == owner


def test_default_is_used_when_alone(tmp_path):
    default = gguf(tmp_path / DEFAULT_MODEL_FILE)
    assert find_base_model("", tmp_path) == default


def test_configured_path_wins(tmp_path):
    gguf(tmp_path / "a.gguf")
    chosen = gguf(tmp_path / "elsewhere.gguf")
    assert find_base_model(str(chosen), tmp_path / "empty") == chosen


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        (lambda d: None, "no model in"),
        (lambda d: (d / "broken.gguf").write_bytes(b"<html>not a model</html>"), "not a GGUF"),
        (lambda d: (d / "empty.gguf").write_bytes(b""), "not a GGUF"),
    ],
)
def test_missing_or_corrupt_model_is_explained(tmp_path, setup, needle):
    setup(tmp_path)
    with pytest.raises(ModelMissingError) as info:
        find_base_model("", tmp_path)
    assert needle in str(info.value)
    assert "./run.sh" in str(info.value)


def test_configured_path_that_does_not_exist(tmp_path):
    with pytest.raises(ModelMissingError, match="does not exist"):
        find_base_model(str(tmp_path / "nope.gguf"), tmp_path)


@pytest.mark.parametrize("content", [None, b"GGUF" + os.urandom(4096)])
def test_serve_without_a_usable_model_prints_one_line_not_a_traceback(tmp_path, content):
    (tmp_path / "models" / "base").mkdir(parents=True)
    if content is not None:
        (tmp_path / "models" / "base" / "garbage.gguf").write_bytes(content)
    env = {**os.environ, "AICLONE_CONFIG": str(tmp_path / "config.yaml"), "AICLONE_DATA_DIR": str(tmp_path / "data"),
           "AICLONE_MODELS_DIR": str(tmp_path / "models"), "AICLONE_PORT": "1"}
    result = subprocess.run([sys.executable, "-m", "aiclone_agent", "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("aiclone:")]
    assert len(lines) == 1, result.stderr
    assert "model" in lines[0]
