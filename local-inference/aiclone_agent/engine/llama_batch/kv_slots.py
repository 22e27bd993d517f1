"""Sequence slots of the one llama.cpp context and the KV cells they hold (the prefix cache).

A request takes a free slot. Before it is prefilled, the slot with the longest common token prefix
(a finished conversation kept for its next turn, or any other sequence: every prompt starts with
the same persona) lends it that prefix: ``llama_memory_seq_cp`` in a unified KV cache only tags the
same cells with one more sequence id, so the prefix costs no compute and no memory. A conversation
that continues exactly where its cached slot ends takes that slot over. When a request finishes,
its slot keeps prompt + answer for the next turn; least recently used slots are cleared
(``llama_memory_seq_rm``) when a slot or cells are needed. Cells are computed under one adapter
setting (the request's group): a prefix is only lent between sequences of the same group.

Kept cells are not free to keep: in one unified cache every step's attention walks all cells up
to the highest one in use, a kept conversation's masked out but still scanned, so a 3,000-token
prompt read beside 48 kept conversations took 1.3x as long as on an empty cache (and 1.55x
llama-server's time in bench/batching.py). Before a long prompt is read (more new tokens than one
step takes), ``clear_idle`` clears every kept conversation: each would save at most its own
length once, the long prompt pays for all of them in each of its chunks.

Nor are they free to keep below a new request. llama.cpp puts a sequence's new cells from its
cache head onward, and moves the head back only to a cell a removal frees. With kept conversations
packed low, new requests land above them, and clearing the kept ones later (for a long prompt)
leaves every step's attention spanning up to those high cells: in bench/batching.py a 3,000-token
prompt beside three answers took 17.5 s after the earlier rows had left 32 kept conversations
(4,449 cells) against 13.3 s on a fresh agent. So kept conversations hold at most
``KEPT_CELLS_SHARE`` of the cache: when a request takes a slot, the least recently used are cleared
beyond it. They are the oldest, their cells the lowest: the new request's cells go there.

Cells are mirrored here (an id per computed token, shared by copies, counted by reference), so the
number of cells in use is exact without asking llama.cpp.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

KEPT_CELLS_SHARE = 0.25  # of the cache: the most cells that kept (idle) conversations alone may hold


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(np.asarray(a[:n], dtype=np.int64) != np.asarray(b[:n], dtype=np.int64))
    return int(diff[0]) if diff.size else n


@dataclass
class PrefixCacheCounters:
    hit_tokens: int = 0  # prompt tokens taken from the cache
    miss_tokens: int = 0  # prompt tokens computed
    hits: int = 0  # requests that reused at least one token
    misses: int = 0
    cleared_for_long_prompts: int = 0  # kept conversations cleared before a long prompt was read
    cleared_over_budget: int = 0  # kept conversations cleared to keep them within KEPT_CELLS_SHARE


class KvSlots:
    """Slot bookkeeping; the ``memory`` object does the native ``seq_rm`` / ``seq_cp``."""

    def __init__(self, memory, n_seq: int, n_cells: int, kept_share: float = KEPT_CELLS_SHARE) -> None:
        self._memory = memory
        self.n_cells = n_cells
        self.kept_budget = int(n_cells * kept_share)
        self.tokens: list[list[int]] = [[] for _ in range(n_seq)]  # what each sequence holds, by position
        self._cells: list[list[int]] = [[] for _ in range(n_seq)]
        self._refs: dict[int, int] = {}
        self._cell_ids = itertools.count()
        self._active: set[int] = set()
        self._group = [0] * n_seq  # the adapter setting each sequence's cells were computed under
        self._stale: set[int] = set()  # running slots whose cells predate a change to the model
        self._used_at = [0] * n_seq
        self._clock = itertools.count(1)
        self.counters = PrefixCacheCounters()

    # -- numbers ------------------------------------------------------------------------------
    @property
    def cells_in_use(self) -> int:
        return len(self._refs)

    @property
    def kept_cells(self) -> int:
        """Cells that only kept (idle) conversations hold: no running request reads them."""
        return len(self._refs) - self._running_cells()

    @property
    def cached_sequences(self) -> int:
        return sum(1 for seq, held in enumerate(self.tokens) if held and seq not in self._active)

    # -- a request's life -----------------------------------------------------------------------
    def acquire(self, prompt: Sequence[int], group: int = 0) -> tuple[int, int]:
        """A slot for ``prompt`` with its longest cached prefix of the same ``group`` in place:
        (sequence, reused tokens).

        At least the last prompt token is left to compute (its logits give the first answer token).
        """
        limit = len(prompt) - 1
        source, reused = -1, 0
        for seq, held in enumerate(self.tokens):
            if seq in self._stale or self._group[seq] != group:
                continue
            n = min(common_prefix(held, prompt), limit)
            if n > reused:
                source, reused = seq, n
        if source >= 0 and source not in self._active and reused == len(self.tokens[source]):
            target = source  # the conversation goes on where its slot ends
        else:
            target = self._free_slot(keep=source)
            if reused:
                self._memory.seq_cp(source, target, 0, reused)
                self._copy_cells(source, target, reused)
        if not self._truncate(target, reused):
            reused = 0
        self._group[target] = group
        self._active.add(target)
        self._touch(target)
        self._trim_kept()
        counters = self.counters
        counters.hit_tokens += reused
        counters.miss_tokens += len(prompt) - reused
        if reused:
            counters.hits += 1
        else:
            counters.misses += 1
        return target, reused

    def extend(self, seq: int, tokens: Sequence[int]) -> None:
        """``tokens`` were decoded into ``seq`` (each took a new cell)."""
        self.tokens[seq].extend(tokens)
        cells = self._cells[seq]
        for _ in tokens:
            cell = next(self._cell_ids)
            cells.append(cell)
            self._refs[cell] = 1

    def release(self, seq: int, *, keep: bool) -> None:
        """The request in ``seq`` ended; ``keep`` its cells for a next turn, or clear them."""
        self._active.discard(seq)
        self._touch(seq)
        if not keep or seq in self._stale:
            self._stale.discard(seq)
            self._clear(seq)

    def forget_cached(self) -> None:
        """The model changed (an adapter or its scale): no cell computed before may be reused.
        Idle slots are cleared now; running ones finish as they are and are cleared when they end."""
        for seq, held in enumerate(self.tokens):
            if held and seq not in self._active:
                self._clear(seq)
        self._stale |= self._active

    def make_room(self, n_tokens: int) -> bool:
        """Clear least recently used idle slots until ``n_tokens`` cells are free."""
        while self.n_cells - self.cells_in_use < n_tokens:
            if not self.evict_idle():
                return False
        return True

    def clear_idle(self) -> int:
        """Clear every idle (kept) slot, before a long prompt is read; how many there were."""
        idle = [seq for seq, held in enumerate(self.tokens) if held and seq not in self._active]
        for seq in idle:
            self._clear(seq)
        self.counters.cleared_for_long_prompts += len(idle)
        return len(idle)

    def evict_idle(self) -> bool:
        """Clear the least recently used idle slot; False when there is none."""
        idle = [seq for seq, held in enumerate(self.tokens) if held and seq not in self._active]
        if not idle:
            return False
        self._clear(min(idle, key=self._used_at.__getitem__))
        return True

    # -- internals ----------------------------------------------------------------------------
    def _running_cells(self) -> int:
        running: set[int] = set()
        for seq in self._active:
            running.update(self._cells[seq])
        return len(running)

    def _trim_kept(self) -> None:
        """Clear least recently used kept conversations while they hold more than the budget (only
        idle slots are cleared, so the running requests' cells stay as counted)."""
        running = self._running_cells()
        while len(self._refs) - running > self.kept_budget and self.evict_idle():
            self.counters.cleared_over_budget += 1

    def _free_slot(self, keep: int) -> int:
        idle = [seq for seq in range(len(self.tokens)) if seq not in self._active and seq != keep]
        empty = [seq for seq in idle if not self.tokens[seq]]
        if empty:
            return empty[0]
        victim = min(idle, key=self._used_at.__getitem__)
        self._clear(victim)
        return victim

    def _truncate(self, seq: int, keep: int) -> bool:
        if len(self.tokens[seq]) <= keep:
            return True
        if not self._memory.seq_rm(seq, keep, -1):
            self._clear(seq)
            return False
        self._drop_cells(seq, keep)
        return True

    def _clear(self, seq: int) -> None:
        self._memory.seq_rm(seq, -1, -1)
        self._drop_cells(seq, 0)

    def _copy_cells(self, source: int, target: int, n: int) -> None:
        cells = self._cells[source][:n]
        for cell in cells:
            self._refs[cell] += 1
        self._cells[target] = cells
        self.tokens[target] = self.tokens[source][:n]

    def _drop_cells(self, seq: int, keep: int) -> None:
        refs = self._refs
        for cell in self._cells[seq][keep:]:
            left = refs[cell] - 1
            if left:
                refs[cell] = left
            else:
                del refs[cell]
        del self._cells[seq][keep:]
        del self.tokens[seq][keep:]

    def _touch(self, seq: int) -> None:
        self._used_at[seq] = next(self._clock)
