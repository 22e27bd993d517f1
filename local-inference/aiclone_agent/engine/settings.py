"""The engine settings an owner edits in the admin: generation defaults and how the model is loaded.

Sampling defaults (``temperature``, ``top_p``, ``max_tokens``) apply to the next request: the chat
service reads them from the config for every request. The rest (``n_ctx``, ``n_threads``,
``n_gpu_layers``, ``parallel``, ``base_model_path``) shape the loaded llama.cpp context, so they are
saved and take effect when the agent restarts or ``POST /api/engine/reload`` reloads the engine
in-process (``applied``); ``pending_restart`` lists those saved but not running.
Values are checked with the config's own constraints (``core/config.py``), then by ``ConfigStore``.
"""

from __future__ import annotations

from pathlib import Path

import anyio
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.bundle.model_catalog import (
    ModelFile,
    NotAModelError,
    describe_model_file,
    list_models,
    same_file,
)
from aiclone_agent.bundle.model_files import resolve_bundle_path
from aiclone_agent.core.config import (
    ConfigStore,
    ContextSize,
    GpuLayers,
    MaxTokens,
    ModelSection,
    Parallel,
    Temperature,
    Threads,
    TopP,
)
from aiclone_agent.engine.base import EngineClient
from aiclone_wire.errors import Problem, ProblemError

LIVE_FIELDS = ("temperature", "top_p", "max_tokens")
RESTART_FIELDS = ("base_model_path", "n_ctx", "n_threads", "n_gpu_layers", "parallel")


class SettingRefusedError(ProblemError, ValueError):
    """A value that passes its own range check but cannot be used; ``field`` names it, ``code`` and
    ``params`` say why for the admin to translate (``aiclone_wire.error_codes.FIELD_CODES``)."""

    def __init__(
        self, field: str, message: str, code: str = "refused", params: dict[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.field, self.code, self.params = field, code, params or {}

    def problem(self) -> Problem:
        return Problem(
            400,
            f"{self.field}: {self}",
            "invalid_setting",
            self.field,
            fields={self.field: str(self)},
            params={"field": self.field},
            field_codes={self.field: {"code": self.code, "params": self.params}},
        )


class EngineSettings(BaseModel):
    """``GET /api/engine/settings``; ``PUT`` takes the same shape back (``pending_restart`` and
    ``restart_fields`` are read-only and ignored there)."""

    temperature: Temperature
    top_p: TopP
    max_tokens: MaxTokens
    n_ctx: ContextSize
    n_threads: Threads
    n_gpu_layers: GpuLayers
    parallel: Parallel
    base_model_path: str
    pending_restart: list[str] = Field(description="saved, but the running engine still uses the old value")
    restart_fields: list[str] = Field(
        default_factory=lambda: list(RESTART_FIELDS), description="apply on restart"
    )


class EngineSettingsUpdate(BaseModel):
    """The fields to change; a field left out (or null) keeps its value."""

    model_config = ConfigDict(extra="forbid")
    temperature: Temperature | None = None
    top_p: TopP | None = None
    max_tokens: MaxTokens | None = None
    n_ctx: ContextSize | None = None
    n_threads: Threads | None = None
    n_gpu_layers: GpuLayers | None = None
    parallel: Parallel | None = None
    base_model_path: str | None = Field(default=None, max_length=4_096)
    pending_restart: list[str] | None = None  # read-only
    restart_fields: list[str] | None = None  # read-only


class ModelChoice(ModelFile):
    saved: bool  # what model.base_model_path names
    running: bool  # what the engine serves now


class ModelList(BaseModel):
    models: list[ModelChoice]
    base_dir: str
    base_model_path: str  # the saved choice ("" = the agent picks in models/base/: base_model_choice)
    running_path: str


class EngineSettingsService:
    def __init__(self, config: ConfigStore, engine: EngineClient, models_dir: Path) -> None:
        self.config = config
        self.engine = engine
        self.base_dir = models_dir / "base"
        self.loaded = config.current.model  # what the running engine was started with
        self.display_name = self._readable_name(engine)

    @staticmethod
    def _readable_name(engine: EngineClient) -> str:
        """The running model's readable name (``SmolLM2 135M Instruct · Q4_1``)."""
        info = engine.info
        if info.backend == "llama_cpp":
            try:
                return describe_model_file(Path(info.model_path)).name or info.model_name
            except NotAModelError:
                pass
        return info.model_name

    def applied(self, model: ModelSection) -> None:
        """The engine was reloaded with ``model`` (``POST /api/engine/reload``)."""
        self.loaded = model
        self.display_name = self._readable_name(self.engine)

    def pending_restart(self, model: ModelSection) -> list[str]:
        pending = []
        for field in RESTART_FIELDS:
            saved, loaded = getattr(model, field), getattr(self.loaded, field)
            if field == "base_model_path":
                running = self.engine.info.model_path
                if same_file(saved or running, loaded or running):
                    continue
            if saved != loaded:
                pending.append(field)
        return pending

    def current(self) -> EngineSettings:
        model = self.config.current.model
        values = model.model_dump(include=set(LIVE_FIELDS + RESTART_FIELDS))
        return EngineSettings(**values, pending_restart=self.pending_restart(model))

    async def update(self, change: EngineSettingsUpdate) -> EngineSettings:
        values = change.model_dump(include=set(LIVE_FIELDS + RESTART_FIELDS), exclude_none=True)
        model = self.config.current.model
        path = values.get("base_model_path")
        if path is not None:
            values["base_model_path"] = path = path.strip()
            if path and path != model.base_model_path:
                await anyio.to_thread.run_sync(self._check_model, path)
        self._check_answer_fits(values.get("max_tokens", model.max_tokens), values.get("n_ctx", model.n_ctx))

        def apply(data: dict) -> None:
            data["model"].update(values)

        self.config.update(apply)
        return self.current()

    def _check_answer_fits(self, max_tokens: int, n_ctx: int) -> None:
        model = self.config.current.model
        if (max_tokens, n_ctx) == (model.max_tokens, model.n_ctx):
            return  # unchanged: a round trip of what GET returned always saves
        running = self.engine.info.n_ctx
        if max_tokens >= n_ctx:
            raise SettingRefusedError(
                "max_tokens",
                f"must be below the context size ({n_ctx} tokens), which also holds the prompt",
                "must_be_below",
                {"limit": n_ctx},
            )
        if max_tokens >= running:
            raise SettingRefusedError(
                "max_tokens",
                f"must be below the context size the engine runs with now ({running} tokens) until a "
                "restart applies the new n_ctx",
                "below_running_context",
                {"limit": running},
            )

    @staticmethod
    def _check_model(path: str) -> None:
        try:
            describe_model_file(resolve_bundle_path(path))
        except NotAModelError as exc:
            raise SettingRefusedError("base_model_path", str(exc), "not_a_model", {"path": path}) from exc
        except RuntimeError as exc:  # ``~someone/...`` whose home directory is unknown
            raise SettingRefusedError(
                "base_model_path", f"{path} cannot be resolved ({exc})", "path_unresolved", {"path": path}
            ) from exc

    def models(self) -> ModelList:
        saved = self.config.current.model.base_model_path
        running = self.engine.info.model_path
        choices = [
            ModelChoice(
                **found.model_dump(),
                saved=same_file(saved, found.path),
                running=same_file(running, found.path),
            )
            for found in list_models(self.base_dir)
        ]
        return ModelList(
            models=choices, base_dir=str(self.base_dir), base_model_path=saved, running_path=running
        )
