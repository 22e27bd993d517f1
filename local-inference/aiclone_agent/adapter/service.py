"""The clone's adapter in the running agent: found, converted, checked, applied, rescaled live.

Nothing here can take the agent down or hold it up: the agent starts serving with the base model
while the adapter loads in the background (``state = "loading"``), every problem ends as
``state = "failed"`` with a reason, and the base model keeps serving. Reading and converting the
PEFT folder runs in a daemon thread bounded by ``model.lora_timeout_s``: past it the adapter is
given up, and shutdown never waits for that thread (a SIGTERM stops the agent at once). The engine
loads the LoRA on its own thread (``EngineClient.set_adapter``). Channel profiles may set their own
scale per request (``SamplingParams.adapter_scale``); the engine never mixes scales in a step.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, Field

from aiclone_agent.adapter.checks import read_base_model, read_gguf_lora
from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.bundle.model_files import AdapterFileError, AdapterSource, find_adapter
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.engine.base import EngineClient, EngineError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_SCALE = 4.0


class AdapterStatus(BaseModel):
    """``/api/status``'s ``adapter`` and ``GET``/``PUT /api/adapter`` (only ``scale`` is changeable)."""

    state: Literal["loading", "applied", "failed", "none"] = "none"
    reason: str = ""
    # a failure the admin page says from the catalogue (aiclone_wire.error_codes) instead of
    # ``reason``, which then carries a library's words; None: ``reason`` is the owner's sentence
    reason_code: str | None = None
    path: str = ""
    name: str = ""
    rank: int | None = None
    alpha: float | None = None
    scale: float = Field(default=1.0, ge=0.0, le=MAX_SCALE)
    targets: list[str] = Field(default_factory=list)


class AdapterService:
    def __init__(self, engine: EngineClient, config: ConfigStore, lora_dir: Path, cache_dir: Path) -> None:
        self.engine = engine
        self.config = config
        self.lora_dir = lora_dir
        self.cache_dir = cache_dir
        self.status = AdapterStatus(scale=config.current.model.lora_scale)
        self._gguf: Path | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[AdapterStatus] | None = None

    def begin(self) -> None:
        """Load the adapter in the background (the agent serves the base model meanwhile)."""
        self.status = AdapterStatus(
            state="loading",
            reason="reading and converting the adapter; the base model is serving meanwhile",
            scale=self.config.current.model.lora_scale,
        )
        self._task = asyncio.create_task(self.start(), name="adapter")

    async def loaded(self) -> AdapterStatus:
        """The status once the background load has ended (at once when none is running)."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.status

    async def close(self) -> None:
        """Stop waiting for a load in progress (its daemon thread is left to die with the process)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def start(self) -> AdapterStatus:
        """Find, convert, check and apply the adapter; failures are recorded, never raised."""
        async with self._lock:
            scale = self.config.current.model.lora_scale
            timeout = self.config.current.model.lora_timeout_s
            try:
                source = find_adapter(self.config.current.model.lora_path, self.lora_dir)
                if source is None:
                    self.status = AdapterStatus(
                        state="none",
                        reason=f"no adapter in {self.lora_dir}",
                        scale=scale,
                        reason_code="adapter_none",
                    )
                    return self.status
                if self.engine.info.backend == "tensorrt":
                    self.status = await _bounded(self._tensorrt_status, source, timeout=timeout)
                    return self.status
                prepared, self._gguf = await _bounded(self._prepare, source, scale, timeout=timeout)
                await self._attach(prepared.scale)
                self.status = prepared.model_copy(update={"state": "applied", "reason": ""})
                log.info("adapter %s applied at scale %s", prepared.name, prepared.scale)
            except TimeoutError:
                self._fail(
                    f"reading and converting the adapter took longer than {timeout:g} s (model.lora_timeout_s)",
                    scale,
                    code="adapter_timeout",
                )
            except AdapterError as exc:  # its words name tensors and shapes: the page says its code
                self._fail(str(exc), scale, code=exc.reason_code)
            except AdapterFileError as exc:  # its words name paths: the page says its code
                self._fail(str(exc), scale, code=exc.reason_code)
            except EngineError as exc:
                self._fail(str(exc), scale, code="adapter_failed")
            except Exception as exc:
                log.exception("adapter could not be applied")
                self._fail(
                    f"the adapter could not be applied: {type(exc).__name__}: {exc}",
                    scale,
                    code="adapter_failed",
                )
            return self.status

    def _fail(self, reason: str, scale: float, code: str | None = None) -> None:
        log.warning("adapter not applied: %s; serving the base model", reason)
        self.status = AdapterStatus(
            state="failed", reason=f"{reason}; the base model is serving", scale=scale, reason_code=code
        )

    def _tensorrt_status(self, source: AdapterSource) -> AdapterStatus:
        """TensorRT-LLM was given the PEFT folder at load (selector); here we only describe it."""
        from aiclone_agent.adapter.peft import read_peft_adapter

        if getattr(self.engine, "lora_dir", None) != source.path:
            raise AdapterError(
                "TensorRT-LLM was started without this adapter (it loads PEFT folders only)",
                code="adapter_unsupported",
            )
        adapter = read_peft_adapter(source.path)
        return AdapterStatus(
            state="applied",
            reason="TensorRT-LLM applies the adapter at scale 1",
            path=str(source.path),
            name=source.path.name,
            rank=adapter.rank,
            alpha=adapter.alpha,
            scale=1.0,
            targets=adapter.targets,
        )

    def _prepare(self, source: AdapterSource, scale: float) -> tuple[AdapterStatus, Path]:
        """The adapter's status and its GGUF LoRA; runs in the worker thread, so it sets nothing."""
        base = read_base_model(Path(self.engine.info.model_path))
        if source.is_peft:
            from aiclone_agent.adapter.cache import converted_adapter

            gguf, adapter = converted_adapter(source.path, base, self.cache_dir)
            return AdapterStatus(
                path=str(source.path),
                name=source.path.name,
                rank=adapter.rank,
                alpha=adapter.alpha,
                scale=scale,
                targets=adapter.targets,
            ), gguf
        info = read_gguf_lora(source.path, base)
        return AdapterStatus(
            path=str(source.path),
            name=info.name,
            rank=info.rank,
            alpha=info.alpha or None,
            scale=scale,
            targets=info.targets,
        ), source.path

    async def _attach(self, scale: float) -> None:
        """Load the GGUF LoRA into the engine (once) at ``scale``, the strength of every request
        whose channel profile does not set its own."""
        assert self._gguf is not None
        try:
            await self.engine.set_adapter(self._gguf, scale)
        except EngineError as exc:
            raise AdapterError(str(exc), code="adapter_failed") from exc  # llama.cpp's words

    async def set_scale(self, scale: float) -> AdapterStatus:
        """Change the scale live (0 = off) and keep it in ``model.lora_scale``."""
        if self.status.state == "loading":  # before the lock, which the load holds
            raise AdapterError("the adapter is still loading; change its scale once it is applied")
        async with self._lock:
            if self.status.state != "applied":
                raise AdapterError(f"no adapter is applied ({self.status.reason or self.status.state})")
            if self.engine.info.backend == "tensorrt":
                raise AdapterError(
                    "TensorRT-LLM applies the adapter at scale 1; the scale changes on llama.cpp only"
                )
            await self._attach(scale)
            self.config.update(lambda data: data["model"].__setitem__("lora_scale", scale))
            self.status = self.status.model_copy(update={"scale": scale})
            return self.status


async def _bounded(work: Callable[..., T], *args: object, timeout: float) -> T:
    """``work(*args)`` in a daemon thread, given up after ``timeout`` seconds (``TimeoutError``).

    Not ``asyncio.to_thread``: the default executor's threads are joined when the event loop and
    the interpreter shut down, so a conversion that does not end would hold a SIGTERM'd agent
    until it did. A daemon thread is never joined; a late result is dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            outcome: tuple[T | None, BaseException | None] = (work(*args), None)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting task, which records it as the reason
            outcome = (None, exc)
        try:
            loop.call_soon_threadsafe(settle, *outcome)
        except RuntimeError:  # the loop closed while this thread worked: nobody waits any more
            pass

    threading.Thread(target=run, name="adapter-prepare", daemon=True).start()
    return await asyncio.wait_for(future, timeout)
