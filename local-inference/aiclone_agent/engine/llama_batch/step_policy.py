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
stays about a third of a whole-batch step. That floor is a time, not a count (``floor_chunk``):
the step time a quarter-batch chunk takes at the middle of the prompt being read, and each step
carries the largest chunk predicted to fit it. A prompt token costs more the deeper it sits (its
attention spans every token before it), so equal chunks made the last steps the longest gaps. The
prediction (``StepFit``) is fitted from the steps that ran: milliseconds per row of the batch
(the weights' matrix products) plus per attention tile times the cells it spans. On a CPU,
llama.cpp's flash attention computes 64-row tiles that never cross a head or a thread's share of
the rows (``cpu_attention_tiles``), so 131 rows cost 27 tiles and 128 rows 24: a chunk that
leaves the step's rows just past a tile boundary buys little for much.

**Preemption.** When a request of a heavier channel (the owner first) waits and every slot is busy,
the lowest-priority running sequence is paused at the step boundary and its slot given away
(``pick_victim``): the lightest channel, of those the latest admitted (it has the least to lose).
A sequence is paused at most ``MAX_PREEMPTIONS`` times, so a busy owner cannot starve API clients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

TARGET_STEP_MS = 150.0  # a running answer's inter-token latency while a long prompt is read
MIN_PROMPT_BUDGET = 16  # a prompt always advances, however slow the machine
UNMEASURED_PROMPT_BUDGET = 64  # until a step has been measured: small, and it measures itself
PROMPT_SHARE = 0.9  # of a step that reads a prompt beside running answers, at least this goes to the prompt
CHUNK_FLOOR_SHARE = 0.25  # of n_batch: the smallest prompt chunk beside running answers
MAX_PREEMPTIONS = 3  # per sequence
EWMA_WEIGHT = 0.2  # of the newest measurement
FIT_FORGET = 0.97  # per step that read a prompt: how much the step fit keeps of what it knew
Q_TILE = 64  # rows of llama.cpp's CPU flash-attention tile (ggml_fa_tile_config::Q)
CHUNKS_PER_THREAD = 4  # llama.cpp's CPU flash attention splits its rows into 4 chunks a thread


def cpu_attention_tiles(rows: int, heads: int, threads: int) -> int:
    """The flash-attention tiles llama.cpp's CPU backend computes for a step of ``rows`` tokens:
    the rows of every head (``rows * heads``) are cut into ``CHUNKS_PER_THREAD * threads`` equal
    chunks, and each chunk into tiles of up to ``Q_TILE`` rows that stop at the chunk's end and at
    a head's end. Each tile costs as much as a full one. Below ``Q_TILE`` rows it computes row by
    row: counted as the fraction of a tile."""
    if rows < Q_TILE:
        return max(rows, 0) * heads // Q_TILE + (1 if rows > 0 else 0)
    total = rows * heads
    per_chunk = -(-total // (CHUNKS_PER_THREAD * max(threads, 1)))
    tiles = 0
    for begin in range(0, total, per_chunk):
        end, row = min(begin + per_chunk, total), begin
        while row < end:
            row += min(Q_TILE, end - row, rows - row % rows)
            tiles += 1
    return tiles


def linear_tiles(rows: int) -> float:
    """Attention work without tile waste (a GPU's kernels, or an unknown backend)."""
    return rows / Q_TILE


@dataclass
class StepFit:
    """Least squares, older steps fading (``FIT_FORGET``), of a step's milliseconds against
    ``rows`` (every token in the batch) and ``tiles * cells / 1000`` (attention tiles times the KV
    cells in use, which every tile scans: the running answers' too, masked or not):
    ``ms = per_row * rows + per_tile_1k * tiles * cells / 1000``."""

    rr: float = 0.0  # sums of the products of the two features and the time
    ra: float = 0.0
    aa: float = 0.0
    rm: float = 0.0
    am: float = 0.0
    per_row: float | None = None
    per_tile_1k: float | None = None

    def add(self, rows: int, attention: float, ms: float) -> None:
        keep = FIT_FORGET
        self.rr = keep * self.rr + rows * rows
        self.ra = keep * self.ra + rows * attention
        self.aa = keep * self.aa + attention * attention
        self.rm = keep * self.rm + rows * ms
        self.am = keep * self.am + attention * ms
        det = self.rr * self.aa - self.ra * self.ra
        if det <= 1e-6 * self.rr * self.aa:  # the two features moved together: nothing to tell apart
            return
        per_row = (self.rm * self.aa - self.am * self.ra) / det
        per_tile = (self.am * self.rr - self.rm * self.ra) / det
        if per_row > 0 and per_tile >= 0:
            self.per_row, self.per_tile_1k = per_row, per_tile

    def predict(self, rows: int, attention: float) -> float | None:
        if self.per_row is None or self.per_tile_1k is None:
            return None
        return self.per_row * rows + self.per_tile_1k * attention


@dataclass
class StepCost:
    """What a step costs on this machine, learnt from the steps that ran (milliseconds)."""

    per_prompt_token: float | None = None
    per_sequence: float | None = None  # a decoding sequence, the step's fixed costs included
    fit: StepFit = field(default_factory=StepFit)
    tiles: Callable[[int], float] = linear_tiles  # attention tiles of a step of so many rows

    def observe(self, prompt_tokens: int, sequences: int, ms: float, cells: int = 0) -> None:
        """One step that computed ``prompt_tokens`` prompt tokens and decoded ``sequences`` answers
        took ``ms``, with ``cells`` KV cells in use after it. A step of one kind measures
        that kind; a mixed step charges the prompt with what the decoding sequences did not cost
        (once their cost is known). Every step that read a prompt teaches the step fit."""
        if sequences and not prompt_tokens:
            self.per_sequence = _blend(self.per_sequence, ms / sequences)
        elif prompt_tokens and not sequences:
            self.per_prompt_token = _blend(self.per_prompt_token, ms / prompt_tokens)
        elif prompt_tokens and self.per_sequence is not None:
            rest = max(ms - sequences * self.per_sequence, 0.0)
            self.per_prompt_token = _blend(self.per_prompt_token, rest / prompt_tokens)
        if prompt_tokens:
            rows = prompt_tokens + sequences
            self.fit.add(rows, self.attention(rows, cells), ms)

    def attention(self, rows: int, cells: int) -> float:
        return self.tiles(rows) * cells / 1000

    def predict(self, chunk: int, decoding: int, cells: int) -> float | None:
        """The fitted time of a step carrying ``chunk`` prompt tokens beside ``decoding`` answers,
        with ``cells`` KV cells in use before it."""
        rows = chunk + decoding
        return self.fit.predict(rows, self.attention(rows, cells + rows))


def _blend(old: float | None, new: float) -> float:
    return new if old is None else (1 - EWMA_WEIGHT) * old + EWMA_WEIGHT * new


@dataclass(frozen=True)
class PromptRead:
    """The prompt a step reads: from ``start`` (its first token not cached) to ``length``, now at
    ``position``, with ``cells`` KV cells in use (its own and every other sequence's)."""

    start: int
    position: int
    length: int
    cells: int


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
    if read is not None:
        floor = floor_chunk(cost, floor, decoding, room, read)
    return max(min(max(fits, efficient, floor), room), min(MIN_PROMPT_BUDGET, room), 1)


def floor_chunk(cost: StepCost, tokens: int, decoding: int, room: int, read: PromptRead) -> int:
    """The largest chunk at ``read.position`` whose step is predicted to take no longer than one
    carrying ``tokens`` at the middle of the read; ``tokens`` itself until the fit predicts."""
    middle = (read.start + read.length) // 2
    limit = cost.predict(tokens, decoding, max(read.cells + middle - tokens // 2 - read.position, 0))
    if limit is None:
        return tokens
    best = 0
    for chunk in range(1, max(room, 1) + 1):
        predicted = cost.predict(chunk, decoding, read.cells)
        if predicted is not None and predicted <= limit:
            best = chunk
    return max(best, tokens // 2)


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
