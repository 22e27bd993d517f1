"""Decisions the decode loop takes around each step, as pure functions of what it measured.

On a CPU with ``model.prompt_lane`` on, a prompt longer than a batch beside other requests is read
in the prompt lane (``prompt_lane.py``) and ``lane_gap_s`` says how long it reads between two of
the loop's steps; the chunked reading below is then for the rest (a GPU, the lane off or busy).

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

That floor is a cost, not a count (``floor_chunk``). While a prompt longer than one batch is
read (``PromptRead``), no step beside running answers is to cost more than ``WHOLE_BATCH_SHARE``
of a whole-batch step at that prompt's end (the step a server that reads in whole batches makes the
answers wait for), and the rest of the prompt is cut evenly into steps that fit: a prompt token
costs more the deeper it sits (its attention spans every token before it), so chunks are large
early and small late, and the answers' longest gap is about a fifth of a whole-batch step's, not a
third. A step's cost
(``StepShape``) counts rows (the weights' matrix products) and attention tiles times the depth they
span, weighed against each other by the model's shape (``attention_per_tile_cell``), not by timing:
step times on a shared 2-core machine swing by a fifth from one minute to the next, and a fit of
them (tried: per-row and per-tile costs by least squares) put the weight anywhere from 1.5e-3 to
3.4e-3 between runs. On a CPU, llama.cpp's flash attention computes 64-row tiles that never cross
a head or a thread's share of the rows (``cpu_attention_tiles``), so 131 rows cost 27 tiles and 128
rows 24: a chunk that leaves the step's rows just past a tile boundary buys little for much.

**Preemption.** When a request of a heavier channel (the owner first) waits and every slot is busy,
the lowest-priority running sequence is paused at the step boundary and its slot given away
(``pick_victim``): the lightest channel, of those the latest admitted (it has the least to lose).
A sequence is paused at most ``MAX_PREEMPTIONS`` times, so a busy owner cannot starve API clients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

TARGET_STEP_MS = 150.0  # a running answer's inter-token latency while a long prompt is read
MIN_PROMPT_BUDGET = 16  # a prompt always advances, however slow the machine
UNMEASURED_PROMPT_BUDGET = 64  # until a step has been measured: small, and it measures itself
PROMPT_SHARE = 0.9  # of a step that reads a prompt beside running answers, at least this goes to the prompt
CHUNK_FLOOR_SHARE = 0.25  # of n_batch: the smallest chunk beside running answers of a prompt within a batch
WHOLE_BATCH_SHARE = 0.22  # of a whole-batch step at the prompt's end: the longest step beside answers
MIN_CHUNK_SHARE = 0.125  # of n_batch: the smallest chunk WHOLE_BATCH_SHARE's limit may leave
LANE_GAP_SHARE = 0.18  # of a whole-batch step: the prompt lane's time between two steps of the loop
MAX_PREEMPTIONS = 3  # per sequence
EWMA_WEIGHT = 0.2  # of the newest measurement
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


@dataclass(frozen=True)
class StepShape:
    """What a step costs, in rows' worth of the weights' matrix products: each row of the batch
    costs one, and each attention tile ``attention_per_tile_cell`` per KV cell it spans (up to the
    step's deepest prompt token: llama.cpp skips the KV tiles none of a tile's rows can see, other
    sequences' cells among them). A ratio of two kinds of multiply-adds, so one machine being slower
    than another, or slower this minute than the last, changes neither it nor the chunk sizes."""

    tiles: Callable[[int], float] = linear_tiles  # attention tiles of a step of so many rows
    attention_per_tile_cell: float = 0.0

    def cost(self, rows: int, depth: int) -> float:
        return rows + self.attention_per_tile_cell * self.tiles(rows) * depth


def attention_per_tile_cell(n_layer: int, n_embd: int, n_head: int, n_params: int, n_vocab: int) -> float:
    """An attention tile's multiply-adds per KV cell (``Q_TILE`` rows times a head's width, once
    for the keys and once for the values, in every layer) over one row's in the weights' products
    (every parameter but the token embeddings, which a row only looks up). SmolLM2-135M: 2.3e-3;
    raw llama.cpp steps on a 2-core CPU gave 2.0e-3 (2.7 ms a row, 5.5 us a tile and KV cell)."""
    head_dim = n_embd // max(n_head, 1)
    products = max(n_params - n_vocab * n_embd, 1)
    return 2 * Q_TILE * head_dim * n_layer / products


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


@dataclass(frozen=True)
class PromptRead:
    """The longest prompt being read: ``position`` of its ``length`` tokens are in the KV cache."""

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
    shape: StepShape | None = None,
) -> int:
    """The most prompt tokens the next step may carry beside ``decoding`` running answers, while
    it reads ``read`` (the longest prompt being read) on a backend whose steps cost ``shape``."""
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
    if read is not None and shape is not None:  # the limit already keeps the prompt's share of a step
        floor = floor_chunk(shape, decoding, n_batch, read)
        efficient = min(efficient, floor)
    return max(min(max(fits, efficient, floor), room), min(MIN_PROMPT_BUDGET, room), 1)


def floor_chunk(shape: StepShape, decoding: int, n_batch: int, read: PromptRead) -> int:
    """The chunk at ``read.position``: the rest of the prompt cut evenly into steps that each cost
    at most ``WHOLE_BATCH_SHARE`` of a whole-batch step at the prompt's end (the largest chunk that
    fits here, never less than ``MIN_CHUNK_SHARE`` of the batch, sets how many). No step is left
    with fewer than ``Q_TILE`` rows while a larger one can be had: below that llama.cpp's CPU
    attention goes row by row, and 47 rows at 2,900 tokens took longer than 73 (1.1 s against 0.8)."""
    limit = WHOLE_BATCH_SHARE * shape.cost(n_batch, read.length)
    best = int(n_batch * MIN_CHUNK_SHARE)
    for chunk in range(best + 1, n_batch - decoding + 1):
        if shape.cost(chunk + decoding, read.position + chunk) <= limit:
            best = chunk
    left, tile = read.length - read.position, max(Q_TILE - decoding, 1)
    steps = -(-left // best)
    if steps > 1 and -(-left // steps) < tile:  # even steps too small for a tile: fewer, larger ones
        steps = max(left // tile, 1)
    return -(-left // steps)


def lane_gap_s(last: tuple[int, float] | None, n_batch: int, step_ms: float, target_ms: float) -> float:
    """Seconds the prompt lane reads between two steps of the decode loop: ``LANE_GAP_SHARE`` of
    its ``last`` step (rows, milliseconds of computing), counted as a whole batch, less the loop's
    own step (``step_ms``, the wait for the lane to hold included), so the running answers' gaps
    stay that share of the whole-batch steps a server reading in whole batches makes them wait for
    (the deeper the prompt, the longer both); ``target_ms`` before the lane has measured a step,
    and never less: each of the loop's steps costs the prompt its time."""
    if last is None:
        return target_ms / 1000
    rows, ms = last
    whole_ms = ms * n_batch / max(rows, 1)
    return max(LANE_GAP_SHARE * whole_ms - step_ms, target_ms) / 1000


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
