"""TEMPORARY: the scheduler's pure-Python reference (from the scheduler branch) until
``clone_core.Scheduler`` (Rust) is on main; deleted then."""

from __future__ import annotations

from dataclasses import dataclass

# --- request scheduler (batching) -------------------------------------------------------

STRIDE = 720_720  # lcm(1..16): a channel's pass advances by STRIDE // weight, exactly 1/weight for weights 1..16
MAX_WEIGHT = 1000


class QueueFullError(Exception):
    """The bounded queue already holds ``max_waiting`` requests (the caller answers 503)."""


@dataclass(frozen=True)
class StepPlan:
    decode: list[int]
    prefill: list[tuple[int, int]]


@dataclass(frozen=True)
class SchedulerStats:
    waiting: int
    waiting_by_channel: dict[str, int]
    running: int
    prefilling: int
    admitted_by_channel: dict[str, int]
    rejected: int


class Scheduler:
    """Same contract as ``clone_core.Scheduler``: weighted fair admission (stride scheduling) from
    a bounded queue into ``max_running`` slots, and a per-step token plan with chunked prefill."""

    def __init__(self, *, max_running: int, max_waiting: int, step_tokens: int, channel_weights: dict[str, int]) -> None:
        for name, value in (("max_running", max_running), ("max_waiting", max_waiting), ("step_tokens", step_tokens)):
            if value < 1:
                raise ValueError(f"{name} must be > 0, got {value}")
        if step_tokens < max_running:
            raise ValueError(f"step_tokens ({step_tokens}) must be >= max_running ({max_running})")
        if not channel_weights:
            raise ValueError("channel_weights must name at least one channel")
        for channel, weight in channel_weights.items():
            if not 1 <= weight <= MAX_WEIGHT:
                raise ValueError(f"weight of channel {channel!r} must be in 1..={MAX_WEIGHT}, got {weight}")
        self.max_running, self.max_waiting, self.step_tokens = max_running, max_waiting, step_tokens
        self.weights = dict(channel_weights)
        self._queues: dict[str, list[tuple[int, int]]] = {c: [] for c in self.weights}  # FIFO of (id, prompt)
        self._pass = dict.fromkeys(self.weights, 0)
        self._virtual = 0  # the pass of the channel chosen last: the floor for a channel waking up
        self._waiting: dict[int, str] = {}  # id -> channel
        self._running: dict[int, int] = {}  # id -> prompt tokens left to prefill, in admission order
        self._admitted = dict.fromkeys(self.weights, 0)
        self._rejected = 0

    def submit(self, request_id: int, channel: str, prompt_tokens: int) -> None:
        if channel not in self.weights:
            raise ValueError(f"unknown channel {channel!r}")
        if request_id in self._waiting or request_id in self._running:
            raise ValueError(f"request {request_id} is already scheduled")
        if prompt_tokens < 1:
            raise ValueError(f"prompt_tokens must be > 0, got {prompt_tokens}")
        if len(self._waiting) >= self.max_waiting:
            self._rejected += 1
            raise QueueFullError(f"the queue is full ({self.max_waiting} requests waiting)")
        if not self._queues[channel]:
            self._pass[channel] = max(self._pass[channel], self._virtual)
        self._queues[channel].append((request_id, prompt_tokens))
        self._waiting[request_id] = channel

    def admit(self) -> list[int]:
        admitted = []
        while len(self._running) < self.max_running and self._waiting:
            channel = min(
                (c for c, q in self._queues.items() if q), key=lambda c: (self._pass[c], -self.weights[c], c)
            )
            request_id, prompt_tokens = self._queues[channel].pop(0)
            del self._waiting[request_id]
            self._virtual = self._pass[channel]
            self._pass[channel] += STRIDE // self.weights[channel]
            self._running[request_id] = prompt_tokens
            self._admitted[channel] += 1
            admitted.append(request_id)
        return admitted

    def set_remaining(self, request_id: int, n_tokens: int) -> None:
        if not self._running.get(request_id):
            raise ValueError(f"request {request_id} is not prefilling")
        if n_tokens < 1:
            raise ValueError(f"n_tokens must be > 0, got {n_tokens}")
        self._running[request_id] = n_tokens

    def plan(self) -> StepPlan:
        decode = [i for i, left in self._running.items() if left == 0]
        budget = self.step_tokens - len(decode)
        prefill = []
        for request_id, left in self._running.items():
            if budget == 0:
                break
            if left:
                n = min(left, budget)
                prefill.append((request_id, n))
                self._running[request_id] -= n
                budget -= n
        return StepPlan(decode, prefill)

    def finish(self, request_id: int) -> None:
        if request_id not in self._running:
            raise ValueError(f"request {request_id} is not running")
        del self._running[request_id]

    def cancel(self, request_id: int) -> bool:
        if request_id in self._running:
            del self._running[request_id]
            return True
        channel = self._waiting.pop(request_id, None)
        if channel is None:
            return False
        self._queues[channel] = [r for r in self._queues[channel] if r[0] != request_id]
        return True

    def stats(self) -> SchedulerStats:
        return SchedulerStats(
            waiting=len(self._waiting),
            waiting_by_channel={c: len(q) for c, q in self._queues.items()},
            running=len(self._running),
            prefilling=sum(1 for left in self._running.values() if left),
            admitted_by_channel=dict(self._admitted),
            rejected=self._rejected,
        )
