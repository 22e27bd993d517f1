"""The decode loop: one thread that owns the llama.cpp context and runs continuous batching.

Each step: drop aborted requests, admit waiting ones into free slots (the scheduler picks by
channel weight; the prefix cache lends each its longest cached prefix), ask the scheduler for the
step's plan (one token for every decoding sequence, the rest of ``n_batch`` in prompt chunks of
prefilling ones), run one ``llama_decode`` and sample one token per sequence that has logits.

llama.cpp applies one LoRA scale to a whole decode, so each request's adapter scale is its
scheduler group (scale in thousandths): a plan names one group, whose scale is set on the context
before the step, and groups take steps in turn (as llama-server only batches equal LoRA settings).
Tokens reach the event loop through ``loop.call_soon_threadsafe``, one call per loop and step.

Before admitting, a step may pause a running sequence for a heavier channel's waiting request
(``step_policy.pick_victim``): the scheduler queues it again at the front of its channel, its
cells are kept in RAM as a finished conversation's are, and when it is admitted again it takes them
back (the prefix cache finds them; if they were dropped meanwhile they are recomputed) and decodes
the token it had sampled: its client sees a pause, never another text. While answers decode, a
step carries at most ``step_policy.prompt_budget`` prompt tokens, from the step cost measured
here. The step
that ends the prompt of a request heavier than every decoding one (the owner's beside API answers)
decodes none of them: its first token comes a step of a few prompt tokens later, not one carrying
a token for each stranger too (with 16 answers streaming: 0.10-0.14 s instead of 0.19-0.23 s).
Nor does it wait for the step in flight: a request of the heaviest channel (the owner's), heavier
than every one in that step, that would start now (a free slot, or a lighter answer to pause),
interrupts it (``LlamaContext.interrupt``); llama.cpp drops the step's cells, nothing of it was
accepted, and the next step is planned with the new request, which is then in it: the step planned
again runs to its end.

On a CPU, a prompt more than a batch long that arrives while anything else runs goes to the prompt
lane (``prompt_lane.py``): a second context reads it in whole batches on a thread of its own, the
scheduler holds it out of the plans (``set_held``), and every step here first pauses the lane
between two of its graph nodes, then lets it read for 0.18 of a whole batch's time
(``step_policy.lane_gap_s``). Its cells come back into the request's sequence when it is done (or
as far as it got, when the request is paused for the owner or the model is about to change), and
the last prompt token is computed here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from aiclone_agent.engine.base import EngineError, FinishReason, GenerationChunk
from aiclone_agent.engine.llama_batch.context import DecodeError, LlamaContext
from aiclone_agent.engine.llama_batch.kv_slots import KvSlots
from aiclone_agent.engine.llama_batch.prompt_lane import LaneRead, PromptLane
from aiclone_agent.engine.llama_batch.requests import END, BatchRequest
from aiclone_agent.engine.llama_batch.sampling import SamplerChain
from aiclone_agent.engine.llama_batch.scheduling import QueueFullError, Scheduler
from aiclone_agent.engine.llama_batch.step_policy import (
    PROMPT_SHARE,
    TARGET_STEP_MS,
    PromptRead,
    RunningSequence,
    StepCost,
    StepShape,
    attention_per_tile_cell,
    cpu_attention_tiles,
    lane_gap_s,
    linear_tiles,
    pick_victim,
    prompt_budget,
)

log = logging.getLogger(__name__)


def step_shape(context: LlamaContext) -> StepShape:
    """What a step costs on ``context``'s model and backend: attention tiles as a table for every
    batch size (the budget asks for each candidate chunk), weighed by the model's shape."""
    weight = attention_per_tile_cell(
        context.n_layer, context.n_embd, context.n_head, context.n_params, context.n_vocab
    )
    if not context.attention_on_cpu:
        return StepShape(linear_tiles, weight)
    table = [
        cpu_attention_tiles(rows, context.n_head, context.threads)
        for rows in range(context.shape.n_batch + 1)
    ]
    return StepShape(table.__getitem__, weight)


@dataclass
class LoopCounters:
    steps: int = 0
    last_batch_tokens: int = 0
    last_batch_sequences: int = 0
    prompt_tokens_computed: int = 0  # prefill work actually done (cached prefixes excluded)
    decoded_tokens: int = 0
    waits: dict[str, list[float]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0.0, 0.0])
    )  # n, sum, max
    request_seconds: float = 5.0  # moving average of a request's time in its slot (for Retry-After)
    adapter_scale_switches: int = 0  # steps that set another LoRA scale on the context than the step before
    preemptions: int = 0  # running sequences paused for a heavier channel's request
    priority_prompt_steps: int = 0  # steps that ended a heavier prompt and decoded no lighter answer
    interrupted_steps: int = 0  # steps stopped in flight for the owner's request (planned again)
    lane_handoffs: int = 0  # long prompts given to the prompt lane
    lane_taken_back: int = 0  # of those, the rest read here (a heavier request, a model change, an error)
    last_prompt_budget: int = 0  # the prompt-token cap of the last step that decoded


class DecodeLoop:
    def __init__(
        self,
        context: LlamaContext,
        scheduler: Scheduler,
        *,
        cache_ram_bytes: int = 0,
        step_target_ms: float = TARGET_STEP_MS,
        step_prompt_share: float = PROMPT_SHARE,
        prompt_lane: bool = True,
    ) -> None:
        self.context = context
        self.scheduler = scheduler
        self.slots = KvSlots(context, context.shape.n_seq, cache_ram_bytes)
        self.counters = LoopCounters()
        self.step_cost = StepCost()
        self.step_shape = step_shape(context)
        self.step_target_ms = step_target_ms
        self.step_prompt_share = step_prompt_share
        self._weights = dict(scheduler.channel_weights)
        self._heaviest = max(self._weights.values())
        self.lock = (
            threading.RLock()
        )  # guards the scheduler and ``waiting`` (``submit`` runs on the event loop)
        self._wake = threading.Condition(self.lock)
        self.waiting: dict[int, BatchRequest] = {}
        self.running: dict[int, BatchRequest] = {}
        self._admitted: list[BatchRequest] = []  # admitted, slot not set up yet (decode thread does it)
        self._calls: list[tuple[Callable[[Any, Any], Any], Future]] = []  # run_in_engine, between steps
        self._closing = False
        self._step_weight: int | None = None  # the heaviest channel in the step in flight (lock held)
        self.lora_scale: float | None = None  # the adapter's own scale; None: no adapter loaded
        # long prompts beside running answers read in whole batches elsewhere (CPU attention only)
        self.lane_enabled = prompt_lane and context.attention_on_cpu
        self.lane: PromptLane | None = None  # made at its first use
        self._lane_read: LaneRead | None = None  # in flight (lock held to change)
        self._lane_request: BatchRequest | None = None
        self._lane_done: LaneRead | None = None  # finished, not landed yet
        self._lane_step_ms = 0.0  # the last step beside a lane read, its wait for the lane to hold included
        self._thread = threading.Thread(target=self._run, name="llama-decode", daemon=True)
        self._thread.start()

    # -- event-loop side ----------------------------------------------------------------------
    def submit(self, request: BatchRequest) -> None:
        """Queue ``request``; ``QueueFullError`` when the queue is full."""
        with self.lock:
            if self._closing:
                raise EngineError("the engine is shutting down")
            request.group = self.group_of(request.params.adapter_scale)
            self.scheduler.submit(request.id, request.channel, len(request.prompt), request.group)
            self.waiting[request.id] = request
            self._admit()  # a free slot takes it now: only requests without one count as waiting
            self._interrupt_for(request)
            self._wake.notify()

    def _interrupt_for(self, request: BatchRequest) -> None:
        """(lock held) Stop the step in flight when ``request`` is of the heaviest channel (the
        owner's), heavier than every request in that step, and would start at once: it took a free
        slot, or a lighter answer would give way. Only the heaviest channel: an interrupt throws away
        the step's work for all in it, which a stream of web visitors would do step after step."""
        weight = self._weights[request.channel]
        if self._step_weight is None or weight <= self._step_weight or weight < self._heaviest:
            return
        if request.id in self.running or self._victim() is not None:
            self.context.interrupt()

    def group_of(self, adapter_scale: float | None) -> int:
        """The scheduler group of a request at ``adapter_scale`` (lock held): the scale in
        thousandths; every request is group 0 while no adapter is loaded."""
        if self.lora_scale is None:
            return 0
        scale = self.lora_scale if adapter_scale is None else adapter_scale
        return round(scale * 1000)

    def call(self, fn: Callable[[Any, Any], Any]) -> Future:
        """Run ``fn(model, ctx)`` on the decode thread between two steps; cached prefixes are
        forgotten afterwards (``fn`` may change what the model computes)."""
        future: Future = Future()
        with self.lock:
            if self._closing:
                raise EngineError("the engine is shutting down")
            self._calls.append((fn, future))
            self._wake.notify()
        return future

    def abort(self, request: BatchRequest) -> None:
        request.aborted = True
        with self.lock:
            self._wake.notify()

    def close(self) -> None:
        with self.lock:
            self._closing = True
            self._wake.notify()
        self._thread.join()

    # -- decode thread ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                with self.lock:
                    while not self._closing and not self._calls and not self._has_work():
                        self._wake.wait()
                    if self._closing:
                        break
                    calls, self._calls = self._calls, []
                self._run_calls(calls)
                out: dict = defaultdict(list)
                stepped = False
                try:
                    stepped = self._step(out)
                except Exception as exc:  # a bug must not kill the loop: fail what runs, go on
                    log.exception("decode step failed")
                    self._fail_running(out, EngineError(f"generation failed: {exc}"))
                finally:
                    self._step_ended()
                    _deliver(out)
                if stepped:
                    self._let_lane_read()
        finally:
            self._close_lane()
            for _, future in self._calls:
                future.set_exception(EngineError("the engine shut down"))
            out = defaultdict(list)
            for request in [*self.waiting.values(), *self.running.values()]:
                self._end(request, out, error=EngineError("the engine shut down"))
            _deliver(out)

    def _has_work(self) -> bool:
        """(lock held) Whether a step could run: a request to start or one running here (not in
        the prompt lane), or a lane read to take back."""
        if self._lane_done is not None:
            return True
        if any(r is not self._lane_request for r in self.running.values()):
            return True
        # a request to admit, or one heavier than the prompt in the lane (which then gives way)
        return bool(self.waiting) and (
            len(self.running) < self.context.shape.parallel or self._victim() is not None
        )

    def _let_lane_read(self) -> None:
        """While the lane reads, the cores are its between two steps of the loop: for
        ``LANE_GAP_SHARE`` of a whole batch (``lane_gap_s``), or until a request comes."""
        with self.lock:
            read = self._lane_read
            if read is None or self._closing or self._calls or self._lane_done is not None:
                return
            assert self.lane is not None
            # before the lane's first step, ``step_target_ms``: this context's own per-token cost
            # comes from mixed steps, and after 16 answers it said 1.4 s, not 0.3 (gaps of 1.4 s)
            gap = lane_gap_s(
                self.lane.last_step, self.context.shape.n_batch, self._lane_step_ms, self.step_target_ms
            )
            self._wake.wait(gap)

    def _step_ended(self) -> None:
        """No step in flight: nothing to interrupt, not the next ``call`` either (a flag set after
        the step's decode returned is stale: the request it was for is in the next plan)."""
        with self.lock:
            self._step_weight = None
            self.context.clear_interrupt()

    def _run_calls(self, calls: list[tuple[Callable[[Any, Any], Any], Future]]) -> None:
        if calls:
            self._take_back_lane()  # ``fn`` may change the model the lane computes with
        for fn, future in calls:
            try:
                result = fn(self.context.model, self.context.ctx)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, who awaits the future
                self.slots.forget_cached()
                future.set_exception(exc)
                continue
            self.slots.forget_cached()  # before the caller resumes: it sees the cache forgotten
            future.set_result(result)

    def _step(self, out: dict) -> bool:
        """One step; False when there was none to run."""
        with self.lock:
            for request in [r for r in self.waiting.values() if r.aborted]:
                self.scheduler.cancel(request.id)
                del self.waiting[request.id]
                self._end(request, out, finish="abort", release=False)
            for request in [r for r in self.running.values() if r.aborted]:
                self._finish(request, out, "abort")
            self._preempt()
            self._admit()
            admitted, self._admitted = self._admitted, []
            for request in admitted:  # under the lock: a plan never names a request without its slot
                if not request.done:
                    self._start(request)
            self._land_lane_read()
            self._hand_to_lane()
            decoding = sum(1 for r in self.running.values() if r.seq >= 0 and r.prefilled == len(r.feed))
            budget = prompt_budget(
                self.step_cost,
                decoding,
                self.context.shape.n_batch,
                self.step_target_ms,
                self.step_prompt_share,
                read=self._longest_read(),
                shape=self.step_shape,
            )
            plan = self.scheduler.plan(budget)
            decode_ids, prefill = plan.decode, plan.prefill
            weights, running = self._weights, self.running
            # from here to the step's end (``_step_ended``) the owner's request may interrupt it
            self._step_weight = max(
                (weights[running[i].channel] for i in [*decode_ids, *(i for i, _ in prefill)]), default=None
            )
        if not decode_ids and not prefill:
            return False
        if decode_ids and self._heavier_prompt_ends(decode_ids, prefill):
            decode_ids = []  # the heavier request's first token comes one short step sooner
            self.counters.priority_prompt_steps += 1
        if self.context.use_lora_scale(plan.group / 1000) and self.counters.steps:
            self.counters.adapter_scale_switches += 1
        entries: list[tuple[int, int, int, bool]] = []
        samples: list[tuple[BatchRequest, int]] = []
        decoded: list[tuple[BatchRequest, list[int]]] = []
        for request_id in decode_ids:
            request = self.running[request_id]
            position = len(self.slots.tokens[request.seq])
            samples.append((request, len(entries)))
            entries.append((request.last_token, position, request.seq, True))
            decoded.append((request, [request.last_token]))
        reads: list[tuple[BatchRequest, list[int]]] = []
        for request_id, n in prefill:
            request = self.running[request_id]
            start = request.prefilled
            chunk = request.feed[start : start + n]
            last = start + n == len(request.feed)
            for offset, token in enumerate(chunk):
                entries.append((token, start + offset, request.seq, False))
            if last:
                entries[-1] = (chunk[-1], start + n - 1, request.seq, True)
                samples.append((request, len(entries) - 1))
            reads.append((request, chunk))
        began = time.perf_counter()
        if not self._decode(entries, [r for r, _ in [*decoded, *reads]], out):
            return True  # failed, or interrupted: nothing of the step was kept, it is planned again
        for request, chunk in reads:
            request.prefilled += len(chunk)
        for request, tokens in [*decoded, *reads]:
            self.slots.extend(request.seq, tokens)
        counters = self.counters
        counters.steps += 1
        counters.last_batch_tokens = len(entries)
        counters.last_batch_sequences = len(decoded) + len(reads)
        counters.prompt_tokens_computed += len(entries) - len(decode_ids)
        counters.decoded_tokens += len(decode_ids)
        if decode_ids:
            counters.last_prompt_budget = budget
        for request, index in samples:
            assert request.sampler is not None  # every planned request was started (``_start``)
            self._accept(request, request.sampler.sample(self.context.ctx, index), out)
        self.step_cost.observe(
            len(entries) - len(decode_ids), len(decode_ids), (time.perf_counter() - began) * 1000
        )
        return True

    def _longest_read(self) -> PromptRead | None:
        """The long prompt being read (more new tokens than one batch) with the most tokens left,
        or None (lock held). A shorter one is read in the quarter-batch floor's chunks, as
        soon as a step or two can."""
        n_batch = self.context.shape.n_batch
        reading = [
            r
            for r in self.running.values()
            if r.seq >= 0
            and r.prefilled < len(r.feed)
            and len(r.feed) - r.read_from > n_batch
            and r is not self._lane_request
        ]
        if not reading:
            return None
        longest = max(reading, key=lambda r: len(r.feed) - r.prefilled)
        return PromptRead(position=longest.prefilled, length=len(longest.feed))

    # -- the prompt lane ------------------------------------------------------------------------
    def _hand_to_lane(self) -> None:
        """(lock held) Give the prompt lane the running request with the most prompt left, when
        that is more than a batch and anything else runs beside it (alone, it reads here in whole
        batches as fast)."""
        if not self.lane_enabled or self._lane_read is not None or self._lane_done is not None:
            return
        if self.lane is not None and self.lane.busy:  # still ending a read it was told to drop
            return
        n_batch = self.context.shape.n_batch
        long = [
            r
            for r in self.running.values()
            if r.seq >= 0 and not r.done and len(r.feed) - 1 - r.prefilled > n_batch
        ]
        if not long:
            return
        request = max(long, key=lambda r: len(r.feed) - r.prefilled)
        if len(self.running) == 1 and not self.waiting:
            return
        if self.lane is None:
            lane_context = self.context.lane_context()
            if lane_context is None:
                log.warning("llama.cpp could not make the prompt lane's context; long prompts read in chunks")
                self.lane_enabled = False
                return
            self.lane = PromptLane(lane_context, self._lane_finished)
        prefix = self.context.save_sequence(request.seq) if request.prefilled else None
        if request.prefilled and prefix is None:
            return
        read = LaneRead(request.feed[:-1], request.prefilled, prefix, request.group / 1000)
        self.scheduler.set_held(request.id, True)
        self._lane_read, self._lane_request = read, request
        self.counters.lane_handoffs += 1
        self.lane.start(read, self.context)

    def _lane_finished(self, read: LaneRead) -> None:
        """(the lane's thread) ``read`` ended: the next step takes it back."""
        with self.lock:
            if read is self._lane_read:
                self._lane_done = read
            self._wake.notify()

    def _land_lane_read(self) -> None:
        """(lock held) Put a finished lane read's cells into its request's sequence: the next step
        computes the prompt's last token here. A read cut short lands what it had read, and the
        rest of the prompt is read here; one that failed leaves the request what it held before."""
        read, request = self._lane_done, self._lane_request
        if read is None or request is None:
            return
        self._lane_done = self._lane_read = self._lane_request = None
        self.scheduler.set_held(request.id, False)
        if read.state is not None and read.read > request.prefilled:
            if self.slots.replace(request.seq, read.tokens[: read.read], read.state):
                self.counters.prompt_tokens_computed += read.read - read.start
                request.prefilled = read.read
            else:  # no room in one piece: the sequence was emptied
                request.prefilled = request.read_from = 0
        if request.prefilled < len(read.tokens):
            self.counters.lane_taken_back += 1
        self.scheduler.set_remaining(request.id, len(request.feed) - request.prefilled)

    def _take_back_lane(self) -> None:
        """Stop the lane's read and wait for it to end; its request reads the rest here."""
        with self.lock:
            read = self._lane_read
            if read is None or self.lane is None:
                return
            self.lane.cancel(read)
            while self._lane_done is not read and self._lane_read is read:
                self._wake.wait()
            self._land_lane_read()

    def _drop_lane_read(self) -> None:
        """(lock held) The lane's request ended: its read is of no use."""
        read = self._lane_read
        self._lane_read = self._lane_request = self._lane_done = None
        if read is not None and self.lane is not None:
            self.lane.cancel(read)

    def _close_lane(self) -> None:
        if self.lane is not None:
            self.lane.close()

    def _heavier_prompt_ends(self, decode_ids: list[int], prefill: list[tuple[int, int]]) -> bool:
        """Whether this step finishes the prompt of a request heavier than every decoding one (the
        owner's beside API answers): that step then reads prompts only, so its first token is not
        held up by a token for each of them (they wait one short step)."""
        weights, running = self._weights, self.running
        heaviest_decoding = max(weights[running[i].channel] for i in decode_ids)
        return any(
            weights[running[i].channel] > heaviest_decoding
            and running[i].prefilled + n == len(running[i].feed)
            for i, n in prefill
        )

    def _decode(self, entries, requests: list[BatchRequest], out: dict) -> bool:
        """Run the step; False when it failed (its requests ended with the error) or a heavier
        request interrupted it (llama.cpp kept none of its cells; the caller accepts nothing)."""
        lane = self.lane if self._lane_read is not None else None
        paused = time.perf_counter()
        if lane is not None:
            lane.pause()
        try:
            self.context.decode(entries)
            return True
        except DecodeError as exc:
            if exc.interrupted:
                self.counters.interrupted_steps += 1
                return False
            log.error("decode step of %d tokens failed: %s", len(entries), exc)
            error = EngineError(
                "the model's context is full; retry shortly" if exc.no_room else f"the model failed: {exc}"
            )
            with self.lock:
                for request in requests:
                    self.scheduler.finish(request.id)
                    self.running.pop(request.id, None)
                    self._end(request, out, error=error)
            return False
        finally:
            if lane is not None:
                lane.resume()
                self._lane_step_ms = (time.perf_counter() - paused) * 1000

    def _preempt(self) -> None:
        """(lock held) When a heavier channel's request waits and every slot is busy, pause the
        lowest-priority running sequence: the scheduler queues it again (first of its channel), its
        slot keeps its cells for the prefix cache, and ``feed`` is what it held plus what it had
        yet to compute (the prompt's rest, or the token it sampled last)."""
        victim = self._victim()
        if victim is None:
            return
        if victim is self._lane_request:
            self._take_back_lane()  # what the lane read comes here first, and is kept with the rest
        held = self.slots.tokens[victim.seq]
        rest = victim.feed[victim.prefilled :] if victim.prefilled < len(victim.feed) else [victim.last_token]
        feed = [*held, *rest]
        try:
            self.scheduler.preempt(victim.id, len(feed))
        except QueueFullError:
            return
        self.slots.release(victim.seq, keep=True)
        victim.seq, victim.feed, victim.prefilled = -1, feed, 0
        victim.preemptions += 1
        self.counters.preemptions += 1
        del self.running[victim.id]
        self.waiting[victim.id] = victim

    def _victim(self) -> BatchRequest | None:
        """(lock held) The running sequence to pause for the heaviest waiting request, if every
        slot is busy and one may give way (``step_policy.pick_victim``)."""
        if not self.waiting or len(self.running) < self.context.shape.parallel:
            return None
        weights = self._weights
        waiting_weight = max(weights[r.channel] for r in self.waiting.values())
        started = [r for r in self.running.values() if r.seq >= 0 and not r.done]
        victim_id = pick_victim(
            waiting_weight,
            [RunningSequence(r.id, weights[r.channel], r.preemptions, r.admitted_at) for r in started],
        )
        return None if victim_id is None else self.running[victim_id]

    def _admit(self) -> None:
        """Move requests the scheduler lets in to ``running`` (lock held); ``_start`` sets them up."""
        for request_id in self.scheduler.admit():
            request = self.waiting.pop(request_id)
            self.running[request_id] = request
            request.admitted_at = time.perf_counter()
            self._admitted.append(request)

    def _fail_running(self, out: dict, error: EngineError) -> None:
        with self.lock:
            for request in list(self.running.values()):
                self.scheduler.cancel(request.id)
                del self.running[request.id]
                self._end(request, out, error=error)

    def _start(self, request: BatchRequest) -> None:
        """Set up the slot of an admitted request: a new one, or one resuming after a preemption
        (its sampler and ``feed`` kept)."""
        if request.sampler is None:
            wait = self.counters.waits[request.channel]
            waited = request.admitted_at - request.submitted_at
            wait[0] += 1
            wait[1] += waited
            wait[2] = max(wait[2], waited)
            request.feed = request.prompt
            request.sampler = SamplerChain(request.params, request.prompt, self.context.n_vocab)
        request.seq, reused = self.slots.acquire(request.feed, request.group)
        request.prefilled = request.read_from = reused
        if reused:
            with self.lock:
                self.scheduler.set_remaining(request.id, len(request.feed) - reused)

    def _accept(self, request: BatchRequest, token: int, out: dict) -> None:
        request.last_token = token
        if self.context.is_eog(token):
            self._finish(request, out, "stop", locked=False)
            return
        request.completion += 1
        text = request.decoder.feed([token])
        if request.decoder.stopped:
            self._finish(request, out, "stop", text=text, locked=False)
            return
        if request.completion >= request.max_tokens:
            self._finish(request, out, "length", text=text, locked=False)
            return
        if text:
            out[request.loop].append(
                (request, GenerationChunk(text, len(request.prompt), request.completion))
            )

    def _finish(
        self, request: BatchRequest, out: dict, finish: FinishReason, text: str = "", locked: bool = True
    ) -> None:
        if locked:
            self.scheduler.finish(request.id)
        else:
            with self.lock:
                self.scheduler.finish(request.id)
        del self.running[request.id]
        elapsed = time.perf_counter() - request.admitted_at
        self.counters.request_seconds = 0.8 * self.counters.request_seconds + 0.2 * elapsed
        if finish != "stop" or not request.decoder.stopped:
            text += request.decoder.finish()
        self._end(request, out, finish=finish, text=text)

    def _end(
        self,
        request: BatchRequest,
        out: dict,
        *,
        finish: FinishReason | None = None,
        text: str = "",
        error: Exception | None = None,
        release: bool = True,
    ) -> None:
        if request.done:
            return
        request.done = True
        if request.sampler is not None:
            request.sampler.close()
        if request is self._lane_request:
            self._drop_lane_read()
        if request.seq >= 0 and release:
            self.slots.release(request.seq, keep=error is None)
        items = out[request.loop]
        if error is not None:
            items.append((request, error))
        else:
            items.append(
                (
                    request,
                    GenerationChunk(text, len(request.prompt), request.completion, finish_reason=finish),
                )
            )
        items.append((request, END))


def _deliver(out: dict) -> None:
    for loop, items in out.items():
        try:
            loop.call_soon_threadsafe(_put_all, items)
        except RuntimeError:  # that event loop is gone: nobody is reading
            pass


def _put_all(items) -> None:
    for request, item in items:
        request.queue.put_nowait(item)
