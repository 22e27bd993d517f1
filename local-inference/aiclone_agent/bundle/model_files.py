"""Finds the model the agent should run (the configured path, else a GGUF in ``models/base/``) and
the adapter to put on it (``model.lora_path``, else what ``models/lora/`` holds)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aiclone_agent.core.config import REPO_ROOT

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"
PEFT_CONFIG_FILE = "adapter_config.json"  # what makes a folder a PEFT adapter


class ModelMissingError(Exception):
    """No usable model; the message is one line telling the owner what to do."""


class AdapterFileError(Exception):
    """The configured adapter location holds no usable adapter; the message says what to fix (for
    the log and API clients: it names paths), ``reason_code`` says it on the admin page."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.reason_code = code


def resolve_bundle_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


def find_base_model(configured: str, base_dir: Path) -> Path:
    """The GGUF to load: ``model.base_model_path`` if set, else the owner's GGUF in base_dir,
    else the default model there."""
    if configured:
        path = resolve_bundle_path(configured)
        if not path.is_file():
            raise ModelMissingError(
                f"model.base_model_path points to {path}, which does not exist: fix the path "
                "in config/config.yaml or clear it to use models/base/"
            )
        _check_gguf(path)
        return path
    candidates = sorted(base_dir.glob("*.gguf")) if base_dir.is_dir() else []
    owners = [p for p in candidates if p.name != DEFAULT_MODEL_FILE]
    for path in owners or candidates:
        _check_gguf(path)
        return path
    raise ModelMissingError(
        f"no model in {base_dir}: run ./run.sh to fetch the default model, or put a .gguf "
        "file there, or set model.base_model_path in config/config.yaml"
    )


def _check_gguf(path: Path) -> None:
    if not is_gguf(path):
        raise not_a_model(path)


def not_a_model(path: Path) -> ModelMissingError:
    """The one-line error for a model file that cannot be used."""
    return ModelMissingError(
        f"{path} is not a GGUF model (corrupt or wrong format): delete it and run ./run.sh "
        "to fetch the default model again, or replace it with a valid .gguf file"
    )


@dataclass(frozen=True)
class AdapterSource:
    path: Path  # a PEFT folder or a GGUF LoRA file
    is_peft: bool


def is_peft_folder(path: Path) -> bool:
    return path.is_dir() and (path / PEFT_CONFIG_FILE).is_file()


def find_adapter(configured: str, lora_dir: Path) -> AdapterSource | None:
    """What ``model.lora_path`` (or, when empty, ``models/lora/``) holds; None when nothing.

    Both the engine's loader (TensorRT-LLM takes a PEFT folder at load) and the adapter service
    look here, so it sits below both of them."""
    if configured:
        path = resolve_bundle_path(configured)
        if not path.exists():
            raise AdapterFileError(
                f"model.lora_path points to {path}, which does not exist", code="adapter_not_found"
            )
        return _source_in(path, explicit=True)
    if not lora_dir.is_dir() or not any(lora_dir.iterdir()):
        return None
    return _source_in(lora_dir, explicit=False)


def _source_in(path: Path, *, explicit: bool) -> AdapterSource | None:
    if path.is_file():
        return AdapterSource(path, is_peft=False)
    if is_peft_folder(path):
        return AdapterSource(path, is_peft=True)
    ggufs = sorted(p for p in path.glob("*.gguf") if p.is_file())
    if len(ggufs) == 1:
        return AdapterSource(ggufs[0], is_peft=False)
    if len(ggufs) > 1:
        raise AdapterFileError(
            f"{path} holds several .gguf files: set model.lora_path to the one to use",
            code="adapter_ambiguous",
        )
    if explicit or any(p.name != ".gitkeep" for p in path.iterdir()):
        raise AdapterFileError(
            f"{path} holds neither a PEFT adapter (adapter_config.json + adapter_model.safetensors) nor a .gguf LoRA",
            code="adapter_not_recognised",
        )
    return None
