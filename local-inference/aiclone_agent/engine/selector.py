"""Chooses and loads the engine: ``model.backend`` auto | tensorrt | llama_cpp.

``auto`` prefers TensorRT-LLM when the package imports, an NVIDIA GPU is visible and
``model.hf_model_path`` names an HF model folder; whenever it cannot serve (not installed, no GPU,
no HF model, a GGUF-only adapter, a load error) the agent runs llama.cpp instead and says why in
``/api/status`` (``backend_reason``). Only an explicit ``model.backend: tensorrt`` fails loudly.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiclone_agent.bundle.base_model_choice import choose_base_model
from aiclone_agent.bundle.model_files import AdapterFileError, find_adapter, resolve_bundle_path
from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import EngineClient, EngineError
from aiclone_agent.engine.gpu_offload import plan_for_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendChoice:
    backend: str
    reason: str  # for the log and API clients; a person reads ``code`` with ``params``
    code: str = ""  # ``aiclone_wire.error_codes``: what the Status page says in its language
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Blocker:
    """Why TensorRT-LLM cannot serve: the English sentence and its catalogue code."""

    text: str
    code: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HostFacts:
    """What the machine offers TensorRT-LLM; ``detect`` looks, tests may state facts directly."""

    tensorrt_installed: bool
    nvidia_gpu: bool

    @classmethod
    def detect(cls) -> HostFacts:
        gpu = shutil.which("nvidia-smi") is not None or Path("/proc/driver/nvidia/version").exists()
        return cls(importlib.util.find_spec("tensorrt_llm") is not None, gpu)


def tensorrt_blocker(model: ModelSection, host: HostFacts) -> str | None:
    """Why TensorRT-LLM cannot serve this config on this host, or None if it can try."""
    blocker = _blocker(model, host)
    return blocker.text if blocker else None


def _blocker(model: ModelSection, host: HostFacts) -> _Blocker | None:
    if not host.tensorrt_installed:
        return _Blocker("TensorRT-LLM is not installed", code="backend_tensorrt_missing")
    if not host.nvidia_gpu:
        return _Blocker("no NVIDIA GPU found (no nvidia-smi, no /proc/driver/nvidia)", code="backend_no_gpu")
    if not model.hf_model_path:
        return _Blocker(
            "model.hf_model_path is empty (TensorRT-LLM loads an HF model folder, not a GGUF)",
            code="backend_no_hf_model",
        )
    folder = resolve_bundle_path(model.hf_model_path)
    if not (folder / "config.json").is_file():
        return _Blocker(
            f"model.hf_model_path {folder} is not an HF model folder (no config.json)",
            code="backend_hf_not_a_folder",
            params={"path": str(folder)},
        )
    return None


def choose_backend(model: ModelSection, host: HostFacts) -> BackendChoice:
    if model.backend == "llama_cpp":
        return BackendChoice(
            "llama_cpp",
            "model.backend is llama_cpp in the config",
            code="backend_configured",
            params={"backend": "llama_cpp"},
        )
    blocker = _blocker(model, host)
    if model.backend == "tensorrt":
        if blocker:
            raise EngineError(f"model.backend is tensorrt but {blocker.text}; set it to auto or llama_cpp")
        return BackendChoice(
            "tensorrt",
            "model.backend is tensorrt in the config",
            code="backend_configured",
            params={"backend": "tensorrt"},
        )
    if blocker:
        return BackendChoice(
            "llama_cpp", f"auto: {blocker.text}; running llama.cpp", code=blocker.code, params=blocker.params
        )
    return BackendChoice(
        "tensorrt",
        "auto: TensorRT-LLM is installed, an NVIDIA GPU is present and an HF model is set",
        code="backend_auto_tensorrt",
    )


def _peft_dir_for_tensorrt(model: ModelSection, models_dir: Path) -> tuple[Path | None, _Blocker | None]:
    """The PEFT folder TensorRT-LLM should load, or a reason it cannot take the adapter."""
    try:
        source = find_adapter(model.lora_path, models_dir / "lora")
    except AdapterFileError:
        return None, None  # the adapter service reports it; the base model still serves
    if source is None:
        return None, None
    if not source.is_peft:
        return None, _Blocker(
            f"the adapter {source.path.name} is a GGUF LoRA, which only llama.cpp loads",
            code="backend_adapter_gguf",
            params={"file": source.path.name},
        )
    return source.path, None


def load_engine(model: ModelSection, models_dir: Path, host: HostFacts | None = None) -> EngineClient:
    choice = choose_backend(model, host or HostFacts.detect())
    reason = choice.reason
    if choice.backend == "tensorrt":
        lora_dir, blocker = _peft_dir_for_tensorrt(model, models_dir)
        try:
            if blocker:
                raise EngineError(blocker.text)
            from aiclone_agent.engine.tensorrt_engine import TensorRTEngine

            trt = TensorRTEngine.load(
                resolve_bundle_path(model.hf_model_path), n_ctx=model.n_ctx, lora_dir=lora_dir, reason=reason
            )
            trt.info = replace(trt.info, reason_code=choice.code, reason_params=choice.params)
            return trt
        except EngineError as exc:
            if model.backend == "tensorrt":
                raise
            reason = f"auto: TensorRT-LLM could not serve ({exc}); running llama.cpp"
            # the exception's words stay in ``reason`` (the log); the page names the cause it can
            choice = BackendChoice(
                "llama_cpp",
                reason,
                code=blocker.code if blocker else "backend_tensorrt_failed",
                params=blocker.params if blocker else {},
            )
            log.warning("%s", reason)
    import llama_cpp

    from aiclone_agent.engine.llama_batch.engine import LlamaBatchEngine

    base = choose_base_model(model.base_model_path, models_dir / "base")
    path = base.path
    offload = plan_for_model(
        model.n_gpu_layers,
        path,
        n_ctx=model.n_ctx,
        parallel=model.parallel,
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
        cache_ram_mib=model.cache_ram_mib,
        channel_weights=dict(model.channel_weights.items()),  # a copy: its Channel keys widen to str
        step_target_ms=model.step_target_ms,
        step_prompt_share=model.step_prompt_share,
        prompt_lane=model.prompt_lane,
        reason=reason,
    )
    engine.info = replace(
        engine.info,
        reason_code=choice.code,
        reason_params=choice.params,
        gpu=offload,
        model_reason=base.reason,
        model_reason_code=base.code,
        model_reason_params=base.params,
        broken_models=tuple((b.file, b.error) for b in base.broken),
    )
    return engine
