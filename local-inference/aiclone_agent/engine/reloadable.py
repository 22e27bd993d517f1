"""An engine that can be reloaded in-process: ``POST /api/engine/reload`` applies saved settings
(``parallel``, ``n_ctx``, the model file, ...) without restarting the agent.

Every part of the agent holds this one ``EngineClient``; it forwards to the engine loaded now.
A reload closes the gate (new requests wait), lets the running answers finish, loads the new engine
on a worker thread, and only then swaps it in and closes the old one. If the load fails the old
engine keeps serving and ``ReloadStatus.error`` says why (``/api/status.engine_reload``). The old
engine stays loaded while the new one loads, so a failure costs no second load (and a model must fit
twice in memory for that moment).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anyio

from aiclone_agent.bundle.model_files import ModelMissingError
from aiclone_agent.engine.base import (
    EngineClient,
    EngineError,
    GenerationChunk,
    GenerationStream,
    ModelLoadError,
    SamplingParams,
    T,
)

log = logging.getLogger(__name__)

ReloadState = Literal["idle", "draining", "loading", "done", "failed"]


@dataclass
class ReloadStatus:
    state: ReloadState = "idle"
    error: str | None = None  # why the last reload failed (the previous engine kept serving): for the log
    error_code: str | None = None  # the same, as the admin page says it (aiclone_wire.error_codes)
    error_params: dict[str, str | int] | None = None
    running: int = 0  # answers still streaming while draining
    started_at: float | None = None
    finished_at: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "error": self.error,
            "error_code": self.error_code,
            "error_params": self.error_params,
            "running": self.running,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class ReloadableEngine(EngineClient):
    def __init__(self, engine: EngineClient) -> None:
        self._engine = engine
        self._open = asyncio.Event()
        self._open.set()
        self._idle = asyncio.Event()
        self._idle.set()
        self._streams = 0
        self.reload_status = ReloadStatus()
        self._task: asyncio.Task[ReloadStatus] | None = None

    # -- what the engine loaded now says ------------------------------------------------------
    @property
    def info(self):
        return self._engine.info

    @info.setter
    def info(self, value) -> None:
        self._engine.info = value

    @property
    def chat_template(self):  # type: ignore[override]
        return self._engine.chat_template

    @property
    def tokenizer(self):  # type: ignore[override]
        return self._engine.tokenizer

    def count_tokens(self, text: str) -> int:
        return self._engine.count_tokens(text)

    def stats(self) -> dict[str, object] | None:
        return self._engine.stats()

    # -- requests -----------------------------------------------------------------------------
    def generate(
        self, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"
    ) -> GenerationStream:
        if self._open.is_set():
            return self._track(self._engine.generate(prompt, params, request_id, channel))
        return _Deferred(self, prompt, params, request_id, channel)  # queued once the reload is over

    def _track(self, stream: GenerationStream) -> GenerationStream:
        self._streams += 1
        self._idle.clear()
        return _Tracked(stream, self._stream_ended)

    def _stream_ended(self) -> None:
        self._streams -= 1
        self.reload_status.running = self._streams if self.reload_status.state == "draining" else 0
        if not self._streams:
            self._idle.set()

    async def abort(self, request_id: str) -> None:
        await self._engine.abort(request_id)

    async def check_health(self) -> None:
        await self._engine.check_health()

    async def close(self) -> None:
        await self._engine.close()

    async def set_adapter(self, path: Path, scale: float) -> None:
        await self._engine.set_adapter(path, scale)

    async def run_in_engine(self, fn: Callable[[Any, Any], T]) -> T:
        return await self._engine.run_in_engine(fn)

    # -- reloading ----------------------------------------------------------------------------
    @property
    def reloading(self) -> bool:
        return self.reload_status.state in ("draining", "loading")

    def start_reload(
        self, load: Callable[[], EngineClient], after: Callable[[], Awaitable[None]]
    ) -> ReloadStatus:
        """``reload`` in the background; its status at once (``draining``)."""
        if self.reloading:
            raise EngineError("the engine is reloading already")
        self._task = asyncio.create_task(self.reload(load, after), name="engine-reload")
        self.reload_status = ReloadStatus("draining", started_at=time.time(), running=self._streams)
        return self.reload_status

    async def reload(
        self, load: Callable[[], EngineClient], after: Callable[[], Awaitable[None]]
    ) -> ReloadStatus:
        """Swap in the engine ``load()`` builds (on a worker thread) once the running answers have
        finished; ``after()`` runs with the new engine in place (the adapter, the settings' view).
        ``EngineError`` when a reload is running already."""
        status = self.reload_status = ReloadStatus("draining", started_at=time.time(), running=self._streams)
        self._open.clear()
        try:
            await self._idle.wait()
            status.state, status.running = "loading", 0
            try:
                engine = await anyio.to_thread.run_sync(load)
            except Exception as exc:  # noqa: BLE001 - any load failure leaves the old engine serving
                log.error("engine reload failed, the previous engine keeps serving: %s", exc)
                status.state, status.error = "failed", str(exc) or type(exc).__name__
                status.error_code = load_error_code(exc)
                status.error_params = exc.params if isinstance(exc, ModelLoadError) else {}
                return status
            old, self._engine = self._engine, engine
            await old.close()
            await after()
            status.state = "done"
            log.info("engine reloaded: %s", engine.info.model_path)
            return status
        finally:
            status.finished_at = time.time()
            self._open.set()


def load_error_code(exc: BaseException) -> str:
    """Why a reload's engine could not load, as a code the Engine page says in its language (the
    exception's words, llama.cpp's or the file system's, stay in ``error`` and the log)."""
    if isinstance(exc, ModelLoadError):
        return exc.code
    if isinstance(exc, MemoryError):
        return "not_enough_memory"
    if isinstance(exc, ModelMissingError):
        return "model_file_missing"
    return "engine_reload_failed"


class _Tracked(AsyncIterator[GenerationChunk]):
    """A stream of the engine loaded now; ``ended`` runs once when it is done or dropped."""

    def __init__(self, inner: GenerationStream, ended: Callable[[], None]) -> None:
        self._inner = inner
        self._ended: Callable[[], None] | None = ended

    def __aiter__(self) -> _Tracked:
        return self

    async def __anext__(self) -> GenerationChunk:
        try:
            return await self._inner.__anext__()
        except BaseException:
            self._end()
            raise

    async def aclose(self) -> None:
        self._end()
        await self._inner.aclose()

    def _end(self) -> None:
        ended, self._ended = self._ended, None
        if ended is not None:
            ended()

    def __del__(self) -> None:
        self._end()


class _Deferred(AsyncIterator[GenerationChunk]):
    """A request that arrived during a reload: queued in the engine the reload leaves in place."""

    def __init__(self, owner: ReloadableEngine, *args: Any) -> None:
        self._owner = owner
        self._args = args
        self._stream: GenerationStream | None = None

    def __aiter__(self) -> _Deferred:
        return self

    async def __anext__(self) -> GenerationChunk:
        if self._stream is None:
            await self._owner._open.wait()
            self._stream = self._owner.generate(*self._args)
        return await self._stream.__anext__()

    async def aclose(self) -> None:
        if self._stream is not None:
            await self._stream.aclose()
