"""``model.backend: auto`` prefers TensorRT-LLM and falls back to llama.cpp whenever it cannot
serve, with the reason; the agent never fails to start because of the preferred backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import EngineError
from aiclone_agent.engine.selector import HostFacts, choose_backend, load_engine

READY = HostFacts(tensorrt_installed=True, nvidia_gpu=True)


@pytest.fixture
def hf_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "hf-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"architectures": ["LlamaForCausalLM"]}')
    return folder


def test_this_machine_has_no_tensorrt() -> None:
    assert HostFacts.detect().tensorrt_installed is False  # the honest fact the fallbacks below rely on


@pytest.mark.parametrize(
    ("host", "hf", "says", "code"),
    [
        (
            HostFacts(False, True),
            True,
            "auto: TensorRT-LLM is not installed; running llama.cpp",
            "backend_tensorrt_missing",
        ),
        (HostFacts(True, False), True, "auto: no NVIDIA GPU found", "backend_no_gpu"),
        (READY, False, "auto: model.hf_model_path is empty", "backend_no_hf_model"),
    ],
)
def test_auto_falls_back_with_the_reason(
    host: HostFacts, hf: bool, says: str, code: str, hf_folder: Path
) -> None:
    choice = choose_backend(ModelSection(hf_model_path=str(hf_folder) if hf else ""), host)
    assert choice.backend == "llama_cpp" and choice.reason.startswith(says)
    assert choice.code == code  # what the Status page says, in its language


def test_auto_refuses_a_folder_that_is_not_an_hf_model(tmp_path: Path) -> None:
    choice = choose_backend(ModelSection(hf_model_path=str(tmp_path)), READY)
    assert choice.backend == "llama_cpp" and "is not an HF model folder (no config.json)" in choice.reason
    assert (choice.code, choice.params) == ("backend_hf_not_a_folder", {"path": str(tmp_path)})


def test_auto_prefers_tensorrt_when_everything_is_there(hf_folder: Path) -> None:
    choice = choose_backend(ModelSection(hf_model_path=str(hf_folder)), READY)
    assert (choice.backend, choice.code) == ("tensorrt", "backend_auto_tensorrt")
    configured = choose_backend(ModelSection(backend="llama_cpp"), READY)
    assert (configured.code, configured.params) == ("backend_configured", {"backend": "llama_cpp"})


def test_explicit_tensorrt_fails_loudly(hf_folder: Path) -> None:
    with pytest.raises(EngineError, match=r"model\.backend is tensorrt but TensorRT-LLM is not installed"):
        choose_backend(ModelSection(backend="tensorrt", hf_model_path=str(hf_folder)), HostFacts(False, True))


def test_a_load_error_falls_back_to_llama_cpp(hf_folder: Path, model_path: Path) -> None:
    """The host looks ready, but TensorRT-LLM really cannot load here: auto still starts, on llama.cpp."""
    model = ModelSection(base_model_path=str(model_path), hf_model_path=str(hf_folder), n_ctx=512)
    engine = load_engine(model, model_path.parent, host=READY)
    assert engine.info.backend == "llama_cpp"
    assert engine.info.reason.startswith("auto: TensorRT-LLM could not serve (TensorRT-LLM does not import")
    assert engine.info.reason.endswith("; running llama.cpp")
    assert engine.info.reason_code == "backend_tensorrt_failed"  # the import error stays in the log


def test_a_gguf_only_adapter_keeps_llama_cpp(tmp_path: Path, hf_folder: Path, model_path: Path) -> None:
    (tmp_path / "lora").mkdir()
    (tmp_path / "lora" / "clone.gguf").write_bytes(b"GGUF")
    model = ModelSection(base_model_path=str(model_path), hf_model_path=str(hf_folder), n_ctx=512)
    engine = load_engine(model, tmp_path, host=READY)
    assert engine.info.backend == "llama_cpp"
    assert "clone.gguf is a GGUF LoRA, which only llama.cpp loads" in engine.info.reason
    assert (engine.info.reason_code, engine.info.reason_params) == (
        "backend_adapter_gguf",
        {"file": "clone.gguf"},
    )
