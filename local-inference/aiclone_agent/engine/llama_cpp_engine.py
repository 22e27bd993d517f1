"""llama.cpp backend (llama-cpp-python): GGUF models on CPU, with optional GPU offload.

The model runs on one dedicated worker thread (a llama.cpp context is not thread-safe), so
the event loop never blocks; tokens cross back to the loop through an ``asyncio.Queue``.
Requests queue in arrival order; an aborted request stops at its next token.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import clone_core

from aiclone_agent.engine.base import (
    ChatTemplate,
    EngineClient,
    EngineError,
    EngineInfo,
    GenerationChunk,
    PromptTooLongError,
    SamplingParams,
    merge_stops,
)

_DONE = object()
T = TypeVar("T")


class LlamaCppEngine(EngineClient):
    def __init__(
        self, llama: object, info: EngineInfo, chat_template: ChatTemplate, tokenizer: clone_core.Tokenizer
    ) -> None:
        self._llama = llama
        self.tokenizer = tokenizer
        self.info = info
        self.chat_template = chat_template
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-cpp")
        self._aborts: dict[str, threading.Event] = {}
        import llama_cpp

        vocab = llama._model.vocab
        self._is_eog = lambda token: bool(llama_cpp.llama_vocab_is_eog(vocab, token))

    @classmethod
    def load(
        cls, model_path: Path, *, n_ctx: int, n_gpu_layers: int, n_threads: int, reason: str
    ) -> LlamaCppEngine:
        import llama_cpp  # imported here: the module loads native code

        try:
            llama = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_gpu_layers=n_gpu_layers,
                n_threads=n_threads or os.cpu_count() or 1,
                n_batch=min(512, n_ctx),
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineError(f"llama.cpp could not load {model_path.name}: {exc}") from exc
        metadata = dict(llama.metadata)
        template = _chat_template_from_metadata(llama, metadata)
        try:
            tokenizer = clone_core.Tokenizer.from_gguf(model_path)
        except clone_core.CoreError as exc:
            raise EngineError(f"cannot read the tokenizer of {model_path.name}: {exc}") from exc
        info = EngineInfo(
            backend="llama_cpp",
            reason=reason,
            model_name=metadata.get("general.name") or model_path.stem,
            model_path=str(model_path),
            n_ctx=llama.n_ctx(),
            n_gpu_layers=n_gpu_layers,
            details={
                "llama_cpp_version": llama_cpp.__version__,
                "architecture": metadata.get("general.architecture", ""),
                "gpu_offload_supported": str(bool(llama_cpp.llama_supports_gpu_offload())),
            },
        )
        return cls(llama, info, template, tokenizer)

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text))

    def _tokenize(self, text: str) -> list[int]:
        # The Rust core's tokenizer is built from the GGUF's vocabulary and yields llama.cpp's ids.
        tokens = self.tokenizer.encode(text, add_special=False, parse_special=True)
        bos = self.tokenizer.bos_id
        if self.tokenizer.add_bos and bos is not None and (not tokens or tokens[0] != bos):
            tokens.insert(0, bos)
        return tokens

    async def generate(
        self, prompt: str, params: SamplingParams, request_id: str
    ) -> AsyncIterator[GenerationChunk]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        abort = threading.Event()
        self._aborts[request_id] = abort

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        future = loop.run_in_executor(self._worker, self._run, prompt, params, abort, put)
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            # No await here: a cancelled caller must not wait for the worker, which stops
            # at its next token and then takes the next queued request.
            abort.set()
            self._aborts.pop(request_id, None)
            future.add_done_callback(_consume_result)

    def _run(self, prompt, params: SamplingParams, abort: threading.Event, put) -> None:
        try:
            if abort.is_set():
                return
            self._generate_blocking(prompt, params, abort, put)
        except BaseException as exc:  # handed to the awaiting coroutine
            put(exc if isinstance(exc, EngineError) else EngineError(f"generation failed: {exc}"))
        finally:
            put(_DONE)

    def _generate_blocking(self, prompt: str, params: SamplingParams, abort, put) -> None:
        llama = self._llama
        prompt_tokens = self._tokenize(prompt)
        n_prompt = len(prompt_tokens)
        room = self.info.n_ctx - n_prompt
        if room <= 0:
            raise PromptTooLongError(
                f"prompt is {n_prompt} tokens; the context window is {self.info.n_ctx}"
            )
        max_tokens = min(params.max_tokens, room)
        stream = clone_core.StreamDecoder(self.tokenizer, stop=merge_stops(params.stop, self.chat_template.stop))
        if params.seed is not None:
            llama.set_seed(params.seed)
        else:
            llama.set_seed(time.time_ns() & 0xFFFFFFFF)
        completion = 0
        finish = "length"
        for token in llama.generate(
            prompt_tokens,
            temp=params.temperature,
            top_p=params.top_p,
            top_k=40,
            min_p=0.05,
            repeat_penalty=1.1,
        ):
            if abort.is_set():
                finish = "abort"
                break
            if self._is_eog(token):
                finish = "stop"
                break
            completion += 1
            text = stream.feed([token])
            if stream.stopped:
                if text:
                    put(GenerationChunk(text, n_prompt, completion))
                finish = "stop"
                break
            if text:
                put(GenerationChunk(text, n_prompt, completion))
            if completion >= max_tokens:
                break
        tail = "" if finish == "stop" and stream.stopped else stream.finish()
        put(GenerationChunk(tail, n_prompt, completion, finish_reason=finish))

    async def abort(self, request_id: str) -> None:
        event = self._aborts.get(request_id)
        if event is not None:
            event.set()

    async def run_in_engine(self, fn: Callable[[Any, Any], T]) -> T:
        """On the worker thread, between requests; then the reused prompt prefix is dropped."""

        def call() -> T:
            llama = self._llama
            if llama is None:
                raise EngineError("the model is not loaded")
            try:
                return fn(llama._model.model, llama._ctx.ctx)
            finally:
                llama.reset()  # the next request evaluates its whole prompt with the new weights

        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    async def check_health(self) -> None:
        if self._llama is None:
            raise EngineError("the model is not loaded")

    async def close(self) -> None:
        for event in self._aborts.values():
            event.set()
        self._worker.shutdown(wait=True)
        llama, self._llama = self._llama, None
        if llama is not None:
            llama.close()


def _consume_result(future) -> None:
    if not future.cancelled():
        future.exception()


def _chat_template_from_metadata(llama, metadata: dict[str, str]) -> ChatTemplate:
    source = metadata.get("tokenizer.chat_template")
    if not source:
        raise EngineError(
            "the GGUF has no chat template (tokenizer.chat_template); use an instruct/chat model"
        )

    def piece(token_id: int) -> str:
        if token_id < 0:
            return ""
        return llama.detokenize([token_id], special=True).decode("utf-8", errors="ignore")

    eos = piece(llama.token_eos())
    return ChatTemplate(
        source=source, bos_token=piece(llama.token_bos()), eos_token=eos, stop=(eos,) if eos else ()
    )
