"""Two decisions the decode loop takes before each step, as pure functions of what it measured.

**The prompt budget.** A step that decodes running answers and also reads a long prompt takes as
long as the prompt chunk makes it: with the whole ``n_batch`` (512 tokens) a 3,000-token prompt
stalls every running answer for seconds per token. So while anything decodes, a step carries only
as many prompt tokens as keep it near ``TARGET_STEP_MS``, from the step cost measured online
(``StepCost``: moving averages of milliseconds per prompt token and per decoding sequence); with
nothing decoding the prompt gets the whole ``n_batch``, so a prompt read alone is not slowed.
Where decoding the running answers is itself a large part of that target (a slow CPU), tiny chunks
would make the long prompt wait mostly on them; so a chunk is never smaller than what keeps
``PROMPT_SHARE`` of the step on the prompt (0.9), nor than ``CHUNK_FLOOR_SHARE`` of ``n_batch``:
a CPU reads a prompt less efficiently the smaller its chunk (2,920 tokens beside three answers,
SmolLM2-135M on 2 cores: 12.4 s in 509-token chunks, 15.3 s in 128, 18.6 s in 64; steps of at
most 2.6, 0.9 and 0.6 s), and with 43-token chunks the long prompt took 1.8x llama-server's time.
A quarter of the batch keeps it near llama-server's time while the answers' inter-token latency
stays about a third of a whole-batch step. That floor is a time, not a count: a prompt token costs
more the deeper it sits (it attends to every token before it; at 2,900 tokens about twice what it
costs at the start, SmolLM2-135M on 2 cores), so equal chunks made the last steps the longest.
The floor is what a quarter-batch chunk costs at the middle of the prompt being read
(``even_chunk``): larger chunks early, smaller late, about as many steps in all. How much the cost
grows with position is fitted from the steps that ran (``PositionFit``).

**Preemption.** When a request of a heavier channel (the owner first) waits and every slot is busy,
the lowest-priority running sequence is paused at the step boundary and its slot given away
(``pick_victim``): the lightest channel, of those the latest admitted (it has the least to lose).
A sequence is paused at most ``MAX_PREEMPTIONS`` times, so a busy owner cannot starve API clients.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

TARGET_STEP_MS = 150.0  # a running answer's inter-token latency while a long prompt is read
MIN_PROMPT_BUDGET = 16  # a prompt always advances, however slow the machine
UNMEASURED_PROMPT_BUDGET = 64  # until a step has been measured: small, and it measures itself
PROMPT_SHARE = 0.9  # of a step that reads a prompt beside running answers, at least this goes to the prompt
CHUNK_FLOOR_SHARE = 0.25  # of n_batch: the smallest prompt chunk beside running answers
MAX_PREEMPTIONS = 3  # per sequence
EWMA_WEIGHT = 0.2  # of the newest measurement
FIT_HALF_LIFE_TOKENS = 4096  # prompt tokens after which a measurement weighs half in the position fit
FIT_MIN_SPREAD = 128  # positions: below this standard deviation the fit claims no growth


@dataclass
class PositionFit:
    """Least squares of a prompt token's cost (ms) against its position, each step weighted by its
    tokens and older ones fading (``FIT_HALF_LIFE_TOKENS``): how much deeper tokens cost."""

    x: float = 0.0  # weighted means of the position, the cost, their squares and product
    y: float = 0.0
    xx: float = 0.0
    xy: float = 0.0
    seen: bool = False

    def add(self, position: float, per_token: float, tokens: int) -> None:
        new = 1.0 if not self.seen else 1.0 - 0.5 ** (tokens / FIT_HALF_LIFE_TOKENS)
        self.x += new * (position - self.x)
        self.y += new * (per_token - self.y)
        self.xx += new * (position * position - self.xx)
        self.xy += new * (position * per_token - self.xy)
        self.seen = True

    def growth(self) -> float:
        """The cost's relative growth per position (a token at position p costs ``1 + growth * p``
        times one at 0); 0 until the measured positions spread over ``FIT_MIN_SPREAD``."""
        spread = self.xx - self.x * self.x
        if spread < FIT_MIN_SPREAD * FIT_MIN_SPREAD:
            return 0.0
        slope = (self.xy - self.x * self.y) / spread
        base = self.y - slope * self.x
        if slope <= 0 or base <= 0:
            return 0.0
        return slope / base


@dataclass
class StepCost:
    """What a step costs on this machine, learnt from the steps that ran (milliseconds)."""

    per_prompt_token: float | None = None  # at ``position``, where the latest prompt tokens sat
    per_sequence: float | None = None  # a decoding sequence, the step's fixed costs included
    position: float = 0.0
    fit: PositionFit = field(default_factory=PositionFit)

    def observe(self, prompt_tokens: int, sequences: int, ms: float, position: float = 0.0) -> None:
        """One step that computed ``prompt_tokens`` prompt tokens (sitting at ``position`` on
        average) and decoded ``sequences`` answers took ``ms``. A step of one kind measures that
        kind; a mixed step charges the prompt with what the decoding sequences did not cost (once
        their cost is known)."""
        if sequences and not prompt_tokens:
            self.per_sequence = _blend(self.per_sequence, ms / sequences)
        elif prompt_tokens and not sequences:
            self._prompt(ms / prompt_tokens, prompt_tokens, position)
        elif prompt_tokens and self.per_sequence is not None:
            rest = max(ms - sequences * self.per_sequence, 0.0)
            self._prompt(rest / prompt_tokens, prompt_tokens, position)

    def _prompt(self, per_token: float, tokens: int, position: float) -> None:
        first = self.per_prompt_token is None
        self.per_prompt_token = _blend(self.per_prompt_token, per_token)
        self.position = position if first else _blend(self.position, position)
        self.fit.add(position, per_token, tokens)

    def per_token_at(self, position: float) -> float | None:
        """A prompt token's cost at ``position``: the latest level, moved along the fitted growth."""
        if self.per_prompt_token is None:
            return None
        growth = self.fit.growth()
        return self.per_prompt_token * (1 + growth * position) / (1 + growth * self.position)


def _blend(old: float | None, new: float) -> float:
    return new if old is None else (1 - EWMA_WEIGHT) * old + EWMA_WEIGHT * new


@dataclass(frozen=True)
class PromptRead:
    """The prompt a step reads: from ``start`` (its first token not cached) to ``length``, now at
    ``position``."""

    start: int
    position: int
    length: int


def prompt_budget(
    cost: StepCost,
    decoding: int,
    n_batch: int,
    target_ms: float = TARGET_STEP_MS,
    prompt_share: float = PROMPT_SHARE,
    chunk_floor_share: float = CHUNK_FLOOR_SHARE,
    read: PromptRead | None = None,
) -> int:
    """The most prompt tokens the next step may carry beside ``decoding`` running answers, while
    it reads ``read`` (the longest prompt being read)."""
    room = n_batch - decoding
    if decoding == 0:
        return n_batch
    position = read.position if read else 0
    per_token = cost.per_token_at(position)
    if per_token is None:
        return max(min(UNMEASURED_PROMPT_BUDGET, room), 1)
    if per_token <= 0:
        return max(room, 1)
    decode_ms = decoding * (cost.per_sequence or 0.0)
    fits = int((target_ms - decode_ms) / per_token)
    share = min(max(prompt_share, 0.0), 0.99)
    efficient = int(decode_ms * share / (1 - share) / per_token)  # the prompt's part of the step >= share
    floor = n_batch * min(max(chunk_floor_share, 0.0), 1.0)
    if read is not None:
        floor = even_chunk(floor, read, cost.fit.growth())
    return max(min(max(fits, efficient, int(floor)), room), min(MIN_PROMPT_BUDGET, room), 1)


def even_chunk(tokens: float, read: PromptRead, growth: float) -> float:
    """The chunk at ``read.position`` that costs what ``tokens`` cost at the middle of the read,
    where a token at position p costs ``1 + growth * p``: it solves
    ``n * (1 + growth * (position + n / 2)) = tokens * (1 + growth * middle)``."""
    if growth <= 0:
        return tokens
    middle = (read.start + read.length) / 2
    cost = tokens * (1 + growth * middle)
    here = 1 + growth * read.position
    return (math.sqrt(here * here + 2 * growth * cost) - here) / growth


@dataclass(frozen=True)
class RunningSequence:
    id: int
    weight: int  # its channel's weight
    preemptions: int  # how often it was paused already
    admitted_at: float


def pick_victim(
    waiting_weight: int, running: Sequence[RunningSequence], max_preemptions: int = MAX_PREEMPTIONS
) -> int | None:
    """The running sequence to pause for a waiting request of ``waiting_weight``, or None: only
    lighter channels give way, the lightest first, of equals the latest admitted."""
    eligible = [r for r in running if r.weight < waiting_weight and r.preemptions < max_preemptions]
    if not eligible:
        return None
    return min(eligible, key=lambda r: (r.weight, -r.admitted_at, -r.id)).id
