"""llama.cpp backend: GGUF models on CPU (optional GPU offload) with continuous batching.

One llama.cpp context holds ``model.parallel`` running sequences (finished conversations wait in
RAM for their next turn, ``model.cache_ram_mib``); one decode-loop thread (``DecodeLoop``) runs
every step, so the event loop never blocks. ``generate`` tokenizes with the Rust core, queues the
request in the Rust scheduler at once (a full queue raises ``EngineBusyError``) and returns the
stream the decode loop fills.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_cpp

import clone_core
from aiclone_agent.engine.base import (
    EngineBusyError,
    EngineClient,
    EngineError,
    EngineInfo,
    ModelLoadError,
    PromptTooLongError,
    SamplingParams,
    T,
    merge_stops,
)
from aiclone_agent.engine.llama_batch.context import LlamaContext
from aiclone_agent.engine.llama_batch.decode_loop import DecodeLoop
from aiclone_agent.engine.llama_batch.kv_slots import CACHE_RAM_MIB
from aiclone_agent.engine.llama_batch.requests import BatchRequest, RequestStream
from aiclone_agent.engine.llama_batch.scheduling import QueueFullError, Scheduler
from aiclone_agent.engine.llama_batch.step_policy import PROMPT_SHARE, TARGET_STEP_MS


class LlamaBatchEngine(EngineClient):
    def __init__(
        self,
        context: LlamaContext,
        info: EngineInfo,
        tokenizer: clone_core.Tokenizer,
        *,
        max_queue: int,
        channel_weights: dict[str, int],
        cache_ram_mib: int = CACHE_RAM_MIB,
        step_target_ms: float = TARGET_STEP_MS,
        step_prompt_share: float = PROMPT_SHARE,
        prompt_lane: bool = True,
    ) -> None:
        self.info = info
        self.tokenizer = tokenizer
        self.chat_template = context.chat_template()
        self._context = context
        shape = context.shape
        self._scheduler = Scheduler(
            max_running=shape.parallel,
            max_waiting=max_queue,
            step_tokens=shape.n_batch,
            channel_weights=dict(channel_weights),
        )
        self._max_queue = max_queue
        self._loop = DecodeLoop(
            context,
            self._scheduler,
            cache_ram_bytes=cache_ram_mib * 2**20,
            step_target_ms=step_target_ms,
            step_prompt_share=step_prompt_share,
            prompt_lane=prompt_lane,
        )
        self._ids = itertools.count(1)
        self._by_key: dict[str, BatchRequest] = {}

    @classmethod
    def load(
        cls,
        model_path: Path,
        *,
        n_ctx: int,
        n_batch: int,
        parallel: int,
        n_gpu_layers: int,
        n_threads: int,
        max_queue: int,
        channel_weights: dict[str, int],
        reason: str,
        cache_ram_mib: int = CACHE_RAM_MIB,
        step_target_ms: float = TARGET_STEP_MS,
        step_prompt_share: float = PROMPT_SHARE,
        prompt_lane: bool = True,
    ) -> LlamaBatchEngine:
        context = LlamaContext.load(
            model_path,
            n_ctx=n_ctx,
            n_batch=n_batch,
            parallel=parallel,
            n_gpu_layers=n_gpu_layers,
            n_threads=n_threads,
        )
        try:
            tokenizer = clone_core.Tokenizer.from_gguf(model_path)
        except clone_core.CoreError as exc:
            context.close()
            raise ModelLoadError(
                f"cannot read the tokenizer of {model_path.name}: {exc}",
                code="model_load_failed",
                params={"file": model_path.name},
            ) from exc
        shape = context.shape
        info = EngineInfo(
            backend="llama_cpp",
            reason=reason,
            model_name=context.metadata.get("general.name") or model_path.stem,
            model_path=str(model_path),
            n_ctx=shape.n_ctx,
            n_gpu_layers=n_gpu_layers,
            details={
                "llama_cpp_version": llama_cpp.__version__,
                "architecture": context.metadata.get("general.architecture", ""),
                "gpu_offload_supported": str(bool(llama_cpp.llama_supports_gpu_offload())),
                "parallel": str(shape.parallel),
                "n_batch": str(shape.n_batch),
            },
        )
        try:
            return cls(
                context,
                info,
                tokenizer,
                max_queue=max_queue,
                channel_weights=channel_weights,
                cache_ram_mib=cache_ram_mib,
                step_target_ms=step_target_ms,
                step_prompt_share=step_prompt_share,
                prompt_lane=prompt_lane,
            )
        except (EngineError, clone_core.CoreError) as exc:  # e.g. channel weights the scheduler refuses
            context.close()
            raise EngineError(str(exc)) from exc

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text))

    def _tokenize(self, text: str) -> list[int]:
        # The Rust core's tokenizer is built from the GGUF's vocabulary and yields llama.cpp's ids.
        tokens = self.tokenizer.encode(text, add_special=False, parse_special=True)
        bos = self.tokenizer.bos_id
        if self.tokenizer.add_bos and bos is not None and (not tokens or tokens[0] != bos):
            tokens.insert(0, bos)
        return tokens

    def generate(
        self, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"
    ) -> RequestStream:
        tokens = self._tokenize(prompt)
        if not tokens:
            raise EngineError("the prompt is empty")
        room = self.info.n_ctx - len(tokens)
        if room <= 0:
            raise PromptTooLongError(
                f"prompt is {len(tokens)} tokens; the context window is {self.info.n_ctx}"
            )
        request = BatchRequest(
            id=next(self._ids),
            key=request_id,
            channel=channel,
            prompt=tokens,
            params=params,
            max_tokens=min(params.max_tokens, room),
            decoder=clone_core.StreamDecoder(
                self.tokenizer, stop=merge_stops(params.stop, self.chat_template.stop)
            ),
            loop=asyncio.get_running_loop(),
        )
        try:
            self._loop.submit(request)
        except QueueFullError:
            retry = self.retry_after_s()
            raise EngineBusyError(
                f"the clone is busy ({self._max_queue} requests are waiting); retry in {retry} s", retry
            ) from None
        except clone_core.InvalidInputError as exc:  # an unknown channel: a programming error, said plainly
            raise EngineError(str(exc)) from exc
        self._by_key[request_id] = request
        return RequestStream(request, self._closed)

    def _closed(self, request: BatchRequest) -> None:
        if self._by_key.get(request.key) is request:
            del self._by_key[request.key]
        if not request.done:
            self._loop.abort(request)

    def retry_after_s(self) -> int:
        """When a slot is likely free for one more request: the queue ahead times a request's time."""
        stats = self._scheduler_stats()
        per_slot = self._loop.counters.request_seconds / self._context.shape.parallel
        return max(1, min(120, math.ceil(per_slot * (stats.waiting + 1))))

    async def set_adapter(self, path: Path, scale: float) -> None:
        def attach(_model, _ctx) -> None:
            self._context.load_lora(path)
            with self._loop.lock:
                self._loop.lora_scale = scale

        await self.run_in_engine(attach)

    async def run_in_engine(self, fn: Callable[[Any, Any], T]) -> T:
        result: T = await asyncio.wrap_future(self._loop.call(fn))
        return result

    async def abort(self, request_id: str) -> None:
        request = self._by_key.get(request_id)
        if request is not None:
            self._loop.abort(request)

    async def check_health(self) -> None:
        if self._context.ctx is None:
            raise EngineError("the model is not loaded")

    async def close(self) -> None:
        if self._context.ctx is None:
            return
        await asyncio.to_thread(self._loop.close)
        self._context.close()

    def _scheduler_stats(self):
        with self._loop.lock:
            return self._scheduler.stats()

    def stats(self) -> dict[str, object]:
        scheduler = self._scheduler_stats()
        loop = self._loop
        counters = loop.counters
        slots = loop.slots
        cache = slots.counters
        shape = self._context.shape
        return {
            "parallel": shape.parallel,
            "n_batch": shape.n_batch,
            "max_queue": self._max_queue,
            "waiting": scheduler.waiting,
            "waiting_by_channel": dict(scheduler.waiting_by_channel),
            "running": scheduler.running,
            "prefilling": scheduler.prefilling,
            "rejected": scheduler.rejected,
            "admitted_by_channel": dict(scheduler.admitted_by_channel),
            "steps": counters.steps,
            "last_batch_tokens": counters.last_batch_tokens,
            "last_batch_sequences": counters.last_batch_sequences,
            "prompt_tokens_computed": counters.prompt_tokens_computed,
            "decoded_tokens": counters.decoded_tokens,
            "adapter_scale_switches": counters.adapter_scale_switches,
            "preemptions": counters.preemptions,
            "priority_prompt_steps": counters.priority_prompt_steps,
            "interrupted_steps": counters.interrupted_steps,
            "last_prompt_budget": counters.last_prompt_budget,
            "prompt_lane": _lane_stats(loop),
            # a long prompt's chunks beside answers: an attention tile per KV cell, in rows' worth
            "attention_per_tile_cell": round(loop.step_shape.attention_per_tile_cell, 6),
            "step_ms": {
                "per_prompt_token": _rounded(loop.step_cost.per_prompt_token),
                "per_sequence": _rounded(loop.step_cost.per_sequence),
            },
            "kv_cells_used": slots.cells_in_use,
            "kv_cells_total": shape.n_ctx,
            "cached_sequences": slots.cached_sequences,
            "cache_ram_bytes": slots.cache_ram_used,
            "cache_ram_limit_bytes": slots.cache_ram_bytes,
            "prefix_cache": {
                "hit_tokens": cache.hit_tokens,
                "miss_tokens": cache.miss_tokens,
                "hits": cache.hits,
                "misses": cache.misses,
                "restored": cache.restored,
                "restore_failures": cache.restore_failures,
                "dropped": cache.dropped,
            },
            "wait_seconds_by_channel": {
                channel: {"count": int(n), "sum": round(total, 4), "max": round(worst, 4)}
                for channel, (n, total, worst) in list(counters.waits.items())
            },
        }


def _lane_stats(loop: DecodeLoop) -> dict[str, object]:
    """The prompt lane: whether this engine has one (CPU attention, ``model.prompt_lane``), the
    long prompts handed to it, those it did not finish (the rest read in the main context), the
    prompts and tokens it read and how long it was paused for the answers' steps."""
    lane, counters = loop.lane, loop.counters
    return {
        "enabled": loop.lane_enabled,
        "handoffs": counters.lane_handoffs,
        "taken_back": counters.lane_taken_back,
        "reads": lane.reads if lane else 0,
        "tokens": lane.tokens if lane else 0,
        "pauses": lane.pauses if lane else 0,
        "paused_s": round(lane.paused_s, 3) if lane else 0.0,
    }


def _rounded(ms: float | None) -> float | None:
    return None if ms is None else round(ms, 3)
