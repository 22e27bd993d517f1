"""The engine interface every backend implements, in the spirit of vLLM's ``EngineClient``.

``generate`` takes a fully rendered prompt and the channel it came from, queues the request at
once (raising ``EngineBusyError`` when the queue is full, before anything streams) and returns an
async iterator of chunks; the last chunk has ``finish_reason`` set. ``abort`` stops a request by
id; closing the iterator (the client went away) aborts it too.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import clone_core
from aiclone_agent.engine.gpu_offload import OffloadPlan
from aiclone_wire.errors import Problem, ProblemError

FinishReason = Literal["stop", "length", "abort"]
T = TypeVar("T")


class EngineError(ProblemError):
    """The engine could not serve a request (bad prompt, model failure)."""

    def problem(self) -> Problem:
        return Problem(503, str(self), "engine_error")


class ModelLoadError(EngineError):
    """A model file the engine could not load. ``code`` and ``params`` (``aiclone_wire.error_codes``)
    are what the admin page says after a failed reload; the message, with llama.cpp's view, is for
    the log."""

    def __init__(self, message: str, *, code: str, params: dict[str, str | int] | None = None) -> None:
        super().__init__(message)
        self.code, self.params = code, params or {}


class PromptTooLongError(EngineError):
    """The prompt does not fit the model's context window."""


class EngineBusyError(EngineError):
    """The request queue is full: answered with 503 and ``Retry-After: retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def problem(self) -> Problem:
        return Problem(503, str(self), "engine_busy", retry_after_s=self.retry_after_s)


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 0.7
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None
    adapter_scale: float | None = None  # the LoRA's strength for this request; None: the adapter's own


@dataclass(frozen=True)
class GenerationChunk:
    """Newly generated text; the final chunk carries the finish reason and token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason | None = None


class GenerationStream(Protocol):
    """What ``generate`` returns: an async iterator of chunks that ``aclose`` aborts (an async
    generator is one)."""

    def __aiter__(self) -> AsyncIterator[GenerationChunk]: ...

    async def __anext__(self) -> GenerationChunk: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ChatTemplate:
    """The model's own chat template (Jinja source) and the special tokens it refers to."""

    source: str
    bos_token: str
    eos_token: str
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class EngineInfo:
    backend: Literal["llama_cpp", "tensorrt"]
    reason: str
    model_name: str
    model_path: str
    n_ctx: int
    n_gpu_layers: int
    details: dict[str, str] = field(default_factory=dict)
    gpu: OffloadPlan | None = None  # llama.cpp: the GPU and how many layers went onto it, and why
    model_reason: str = ""  # why this model file (``bundle/base_model_choice``)
    # ``reason`` and ``model_reason`` as the Status page says them (``aiclone_wire.error_codes``)
    reason_code: str = ""
    reason_params: dict[str, str] = field(default_factory=dict)
    model_reason_code: str = ""
    model_reason_params: dict[str, str] = field(default_factory=dict)
    broken_models: tuple[tuple[str, str], ...] = ()  # (file, why) for unusable GGUFs beside it


class EngineClient(abc.ABC):
    """One loaded model. Implementations must never block the event loop."""

    info: EngineInfo
    chat_template: ChatTemplate
    tokenizer: clone_core.Tokenizer  # the model's own vocabulary, in the Rust core

    @abc.abstractmethod
    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` as the engine will see it (special tokens parsed)."""

    @abc.abstractmethod
    def generate(
        self, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"
    ) -> GenerationStream:
        """Queue ``prompt`` now (``EngineBusyError`` when full) and stream its continuation.

        ``channel`` is who asks: ``owner``, ``web``, ``telegram`` or ``api``.
        """

    @abc.abstractmethod
    async def abort(self, request_id: str) -> None:
        """Stop ``request_id`` at the next token; unknown ids are ignored."""

    @abc.abstractmethod
    async def check_health(self) -> None:
        """Raise ``EngineError`` if the engine cannot serve."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the model."""

    def stats(self) -> dict[str, object] | None:
        """Live scheduler and cache numbers (queue, running, KV use, ...); None if the backend has none."""
        return None

    async def set_adapter(self, path: Path, scale: float) -> None:
        """Load the GGUF LoRA at ``path`` (once) and make ``scale`` the strength of requests that do
        not choose their own (``SamplingParams.adapter_scale``); 0 leaves it out of the graph.
        Requests at different scales are never decoded in one step. Engines that cannot change
        adapters at run time raise ``EngineError``."""
        raise EngineError(f"the {self.info.backend} engine cannot change its adapter at run time")

    async def run_in_engine(self, fn: Callable[[Any, Any], T]) -> T:
        """Run ``fn(model_ptr, ctx_ptr)`` on the engine's own thread, between decode steps.

        For the llama.cpp engine the arguments are llama-cpp-python's raw ``llama_model_p`` and
        ``llama_context_p``; its ``set_adapter`` loads a LoRA and sets the default scale this way
        (the adapter service calls ``set_adapter``, never this). ``fn`` may change what the model
        computes, so after it returns no request reuses a cached prompt prefix / KV cell computed
        before it (idle cells are cleared at once; running requests finish on their own cells,
        which are cleared when they end). Exceptions from ``fn`` propagate to the caller. Engines
        without raw pointers (TensorRT-LLM) raise ``EngineError``.
        """
        raise EngineError(f"the {self.info.backend} engine does not expose llama.cpp's model and context")


def merge_stops(*groups: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for stop in group:
            if stop:
                seen.setdefault(stop, None)
    return tuple(seen)
