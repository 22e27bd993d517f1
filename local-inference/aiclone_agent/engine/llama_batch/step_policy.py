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
stays about a third of a whole-batch step.

**Preemption.** When a request of a heavier channel (the owner first) waits and every slot is busy,
the lowest-priority running sequence is paused at the step boundary and its slot given away
(``pick_victim``): the lightest channel, of those the latest admitted (it has the least to lose).
A sequence is paused at most ``MAX_PREEMPTIONS`` times, so a busy owner cannot starve API clients.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TARGET_STEP_MS = 150.0  # a running answer's inter-token latency while a long prompt is read
MIN_PROMPT_BUDGET = 16  # a prompt always advances, however slow the machine
UNMEASURED_PROMPT_BUDGET = 64  # until a step has been measured: small, and it measures itself
PROMPT_SHARE = 0.9  # of a step that reads a prompt beside running answers, at least this goes to the prompt
CHUNK_FLOOR_SHARE = 0.25  # of n_batch: the smallest prompt chunk beside running answers
MAX_PREEMPTIONS = 3  # per sequence
EWMA_WEIGHT = 0.2  # of the newest measurement


@dataclass
class StepCost:
    """What a step costs on this machine, learnt from the steps that ran (milliseconds)."""

    per_prompt_token: float | None = None
    per_sequence: float | None = None  # a decoding sequence, the step's fixed costs included

    def observe(self, prompt_tokens: int, sequences: int, ms: float) -> None:
        """One step that computed ``prompt_tokens`` prompt tokens and decoded ``sequences`` answers
        took ``ms``. A step of one kind measures that kind; a mixed step charges the prompt with
        what the decoding sequences did not cost (once their cost is known)."""
        if sequences and not prompt_tokens:
            self.per_sequence = _blend(self.per_sequence, ms / sequences)
        elif prompt_tokens and not sequences:
            self.per_prompt_token = _blend(self.per_prompt_token, ms / prompt_tokens)
        elif prompt_tokens and self.per_sequence is not None:
            rest = max(ms - sequences * self.per_sequence, 0.0)
            self.per_prompt_token = _blend(self.per_prompt_token, rest / prompt_tokens)


def _blend(old: float | None, new: float) -> float:
    return new if old is None else (1 - EWMA_WEIGHT) * old + EWMA_WEIGHT * new


def prompt_budget(
    cost: StepCost,
    decoding: int,
    n_batch: int,
    target_ms: float = TARGET_STEP_MS,
    prompt_share: float = PROMPT_SHARE,
    chunk_floor_share: float = CHUNK_FLOOR_SHARE,
) -> int:
    """The most prompt tokens the next step may carry beside ``decoding`` running answers."""
    room = n_batch - decoding
    if decoding == 0:
        return n_batch
    per_token = cost.per_prompt_token
    if per_token is None:
        return max(min(UNMEASURED_PROMPT_BUDGET, room), 1)
    if per_token <= 0:
        return max(room, 1)
    decode_ms = decoding * (cost.per_sequence or 0.0)
    fits = int((target_ms - decode_ms) / per_token)
    share = min(max(prompt_share, 0.0), 0.99)
    efficient = int(decode_ms * share / (1 - share) / per_token)  # the prompt's part of the step >= share
    floor = int(n_batch * min(max(chunk_floor_share, 0.0), 1.0))
    return max(min(max(fits, efficient, floor), room), min(MIN_PROMPT_BUDGET, room), 1)


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
