"""Which GGUF in ``models/base/`` the agent runs when ``model.base_model_path`` is empty.

One broken file (a download cut short, an HTML error page saved as ``.gguf``, a LoRA put in the
wrong folder) must not stop the agent while a usable model lies beside it. Every ``*.gguf`` is
checked by its header (``model_catalog.describe_model_file``: bounded, never the weights); the
file chosen last time wins while it stays usable (a new download does not switch models behind the
owner's back), else the newest usable one. The choice is remembered in ``models/base/.last-chosen``
and explained (``BaseModelChoice.reason``, with the broken files and why) in the log and
``/api/status``. Only when no file is usable does the agent stop, with the one-line
``ModelMissingError`` it always had.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from aiclone_agent.bundle.model_catalog import NotAModelError, describe_model_file
from aiclone_agent.bundle.model_files import DEFAULT_MODEL_FILE, find_base_model, not_a_model

log = logging.getLogger(__name__)

LAST_CHOSEN_FILE = ".last-chosen"


@dataclass(frozen=True)
class BrokenModelFile:
    file: str
    error: str


@dataclass(frozen=True)
class BaseModelChoice:
    path: Path
    reason: str  # why this file, in a sentence for the log (a person reads ``code`` with ``params``)
    broken: tuple[BrokenModelFile, ...] = ()  # files in models/base/ that cannot be used, and why
    code: str = ""  # ``aiclone_wire.error_codes``: the Status page says the choice in its language
    params: dict[str, str] = field(default_factory=dict)


def choose_base_model(configured: str, base_dir: Path) -> BaseModelChoice:
    """The model to load and why; ``ModelMissingError`` (one line) when none is usable."""
    if configured:
        return BaseModelChoice(
            find_base_model(configured, base_dir),
            "model.base_model_path in config/config.yaml",
            code="model_configured",
        )
    usable: list[Path] = []
    broken: list[BrokenModelFile] = []
    for path in sorted(base_dir.glob("*.gguf")) if base_dir.is_dir() else []:
        try:
            describe_model_file(path)
        except NotAModelError as exc:
            broken.append(BrokenModelFile(path.name, str(exc)))
        else:
            usable.append(path)
    if not usable:
        if not broken:
            find_base_model("", base_dir)  # raises the one-line "no model in models/base/"
        log.error("model: no usable model in %s: %s", base_dir, "; ".join(b.error for b in broken))
        raise not_a_model(base_dir / broken[0].file)
    last = _last_chosen(base_dir)
    if last is not None and last in usable:
        path, reason = last, f"{last.name} was chosen last time and is still usable"
        code, params = "model_last_chosen", {"file": last.name}
    else:
        path = max(usable, key=_newest_first)
        reason = f"{path.name} is the newest usable model in models/base/"
        code = "model_newest"
        params = {"file": path.name}
        if last is not None:
            reason += f" ({last.name}, chosen last time, is gone or broken)"
            code = "model_newest_last_gone"
            params["last"] = last.name
    if broken:
        reason += "; skipped " + ", ".join(f"{b.file} ({b.error})" for b in broken)
    _remember(base_dir, path)
    choice = BaseModelChoice(path, reason, tuple(broken), code=code, params=params)
    (log.warning if broken else log.info)("model: %s", reason)
    return choice


def _newest_first(path: Path) -> tuple[float, bool, str]:
    """Newest by modification time; on a tie an owner's file before the default, then by name."""
    return (path.stat().st_mtime, path.name != DEFAULT_MODEL_FILE, path.name)


def _last_chosen(base_dir: Path) -> Path | None:
    try:
        name = (base_dir / LAST_CHOSEN_FILE).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return base_dir / name if name and "/" not in name and "\\" not in name else None


def _remember(base_dir: Path, path: Path) -> None:
    try:
        (base_dir / LAST_CHOSEN_FILE).write_text(path.name + "\n", encoding="utf-8")
    except OSError as exc:  # a read-only bundle still runs; it just cannot keep the choice
        log.warning("could not remember the chosen model in %s: %s", base_dir / LAST_CHOSEN_FILE, exc)
