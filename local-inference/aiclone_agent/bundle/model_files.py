"""Finds the model the agent should run: the configured path, else a GGUF in ``models/base/``."""

from __future__ import annotations

from pathlib import Path

from aiclone_agent.core.config import REPO_ROOT

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_MAGIC = b"GGUF"


class ModelMissingError(Exception):
    """No usable model; the message is one line telling the owner what to do."""


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
