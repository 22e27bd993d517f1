"""Chooses and loads the engine: ``model.backend`` auto | tensorrt | llama_cpp.

``auto`` takes TensorRT-LLM only when the package is installed, an NVIDIA GPU is visible and
the configured model is an HF model folder (what TensorRT-LLM loads); otherwise llama.cpp.
The decision and its reason are reported in ``/api/status``.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from aiclone_agent.bundle.model_files import find_base_model, resolve_bundle_path
from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import EngineClient, EngineError
from aiclone_agent.engine.gpu_offload import plan_for_model


@dataclass(frozen=True)
class BackendChoice:
    backend: str
    reason: str


def tensorrt_available() -> tuple[bool, str]:
    if importlib.util.find_spec("tensorrt_llm") is None:
        return False, "TensorRT-LLM is not installed"
    if shutil.which("nvidia-smi") is None:
        return False, "no NVIDIA GPU driver found (nvidia-smi missing)"
    return True, "TensorRT-LLM is installed and an NVIDIA GPU is present"


def choose_backend(model: ModelSection) -> BackendChoice:
    if model.backend == "llama_cpp":
        return BackendChoice("llama_cpp", "model.backend is llama_cpp in the config")
    available, why = tensorrt_available()
    hf_folder = bool(model.base_model_path) and resolve_bundle_path(model.base_model_path).is_dir()
    if model.backend == "tensorrt":
        if not available:
            raise EngineError(f"model.backend is tensorrt but {why}; set it to auto or llama_cpp")
        return BackendChoice("tensorrt", "model.backend is tensorrt in the config")
    if available and hf_folder:
        return BackendChoice("tensorrt", f"auto: {why} and an HF model folder is configured")
    if available:
        return BackendChoice("llama_cpp", "auto: TensorRT-LLM is available but the model is a GGUF file")
    return BackendChoice("llama_cpp", f"auto: {why}")


def load_engine(model: ModelSection, models_dir: Path) -> EngineClient:
    choice = choose_backend(model)
    if choice.backend != "llama_cpp":
        # The TensorRT-LLM adapter plugs in here (engine/tensorrt_engine.py) with its own loader.
        raise EngineError(
            "this release runs GGUF models with llama.cpp only; set model.backend to auto or llama_cpp"
        )
    import llama_cpp

    from aiclone_agent.engine.llama_batch.engine import LlamaBatchEngine

    path = find_base_model(model.base_model_path, models_dir / "base")
    offload = plan_for_model(
        model.n_gpu_layers, path, n_ctx=model.n_ctx, parallel=model.parallel,
        gpu_offload_supported=bool(llama_cpp.llama_supports_gpu_offload()),
    )
    engine = LlamaBatchEngine.load(
        path,
        n_ctx=model.n_ctx,
        n_batch=model.n_batch,
        parallel=model.parallel,
        n_gpu_layers=offload.n_gpu_layers,
        n_threads=model.n_threads,
        max_queue=model.max_queue,
        channel_weights=dict(model.channel_weights),
        reason=choice.reason,
    )
    engine.info = replace(engine.info, gpu=offload)
    return engine
