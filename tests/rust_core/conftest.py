"""Fixtures for the Rust core tests: the bundled model's tokenizer, its pure-Python reference,
and llama.cpp (vocab only) as the ground truth for token ids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import clone_core
from tests.rust_core import reference

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models/base/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def model_path() -> Path:
    path = Path(os.environ.get("AICLONE_TEST_MODEL", DEFAULT_MODEL))
    if not path.is_file():
        pytest.fail(f"test model not found at {path}: set AICLONE_TEST_MODEL or fetch the default model")
    return path


@pytest.fixture(scope="session")
def tok(model_path: Path) -> clone_core.Tokenizer:
    return clone_core.Tokenizer.from_gguf(model_path)


@pytest.fixture(scope="session")
def ref(model_path: Path) -> reference.ReferenceTokenizer:
    return reference.ReferenceTokenizer.from_gguf(model_path)


@pytest.fixture(scope="session")
def llama(model_path: Path):
    import llama_cpp  # installed with the agent (requirements-local.txt); parity needs it

    return llama_cpp.Llama(str(model_path), vocab_only=True, verbose=False)


CHATML_ROLES = ("system", "user", "assistant")


@pytest.fixture(scope="session")
def chatml() -> clone_core.ChatTemplate:
    return clone_core.ChatTemplate(
        {r: f"<|im_start|>{r}\n" for r in CHATML_ROLES},
        dict.fromkeys(CHATML_ROLES, "<|im_end|>\n"),
        "<|im_start|>assistant\n",
    )


@pytest.fixture(scope="session")
def chatml_ref() -> reference.ReferenceTemplate:
    return reference.ReferenceTemplate(
        {r: f"<|im_start|>{r}\n" for r in CHATML_ROLES},
        dict.fromkeys(CHATML_ROLES, "<|im_end|>\n"),
        "<|im_start|>assistant\n",
    )
