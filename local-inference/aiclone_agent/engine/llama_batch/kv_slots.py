"""Sequence slots of the one llama.cpp context, the KV cells they hold, and the conversations kept
in RAM for their next turn (the prefix cache).

A request takes a free slot. Before it is prefilled, it gets the longest cached token prefix of its
prompt: from a running sequence (every prompt starts with the same persona), where
``llama_memory_seq_cp`` in a unified KV cache only tags the same cells with one more sequence id,
so the prefix costs no compute and no memory; or from a finished conversation kept in RAM, whose
cells ``llama_state_seq_set_data`` copies back (milliseconds; computing them took seconds). A
conversation that continues exactly where it was kept takes its cells back whole. Cells are
computed under one adapter setting (the request's group): a prefix is only lent within a group.

Finished conversations wait in RAM, not in the KV cache, as llama-server's ``--cache-ram`` keeps
them: in one unified cache every step's attention walks all cells up to the highest one in use, a
kept conversation's masked out but still scanned. Measured on SmolLM2-135M, 2 cores: a step of 8
decoding answers took 34 ms on an otherwise empty cache, 43 ms beside 2,000 kept cells and 49 ms
beside 4,000; kept in the cache (a quarter of it at most), the agent's steps spanned 2,300 cells
in bench/batching.py's 8-stream row where llama-server's spanned 640, and a 3,000-token prompt read
beside 48 kept conversations took 1.3x as long as on an empty cache. So when a request ends, its
cells are copied out (``llama_state_seq_get_data``: 23 KB a token for that model) and cleared;
at most ``cache_ram_bytes`` are kept, the oldest dropped first.

Cells in the cache are mirrored here (an id per computed token, shared by copies, counted by
reference), so the number of cells in use is exact without asking llama.cpp.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CACHE_RAM_MIB = 2048  # ``model.cache_ram_mib``'s default

# A kept conversation is copied back (all of it) for a prompt that shares at least an eighth of
# its tokens: a cell is copied in microseconds, and computing one costs roughly ten times that even
# batched on a GPU (on this CPU, a thousand times)
MIN_RESTORED_SHARE_INV = 8


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
    restored: int = 0  # kept conversations whose cells were copied back from RAM
    restore_failures: int = 0  # no room for them in one piece: computed instead
    dropped: int = 0  # kept conversations dropped to stay within the RAM limit


@dataclass(eq=False)
class KeptConversation:
    """A finished sequence's tokens and its cells' state, as llama.cpp wrote it."""

    tokens: list[int]
    group: int
    state: Any  # the ctypes buffer ``LlamaContext.save_sequence`` filled

    @property
    def size(self) -> int:
        return len(self.state)


class KvSlots:
    """Slot bookkeeping; the ``memory`` object (``LlamaContext``) does the native work."""

    def __init__(self, memory, n_seq: int, cache_ram_bytes: int) -> None:
        self._memory = memory
        self.cache_ram_bytes = cache_ram_bytes
        self.tokens: list[list[int]] = [[] for _ in range(n_seq)]  # what each sequence holds, by position
        self._cells: list[list[int]] = [[] for _ in range(n_seq)]
        self._refs: dict[int, int] = {}
        self._cell_ids = itertools.count()
        self._active: set[int] = set()
        self._group = [0] * n_seq  # the adapter setting each sequence's cells were computed under
        self._stale: set[int] = set()  # running slots whose cells predate a change to the model
        self._kept: list[KeptConversation] = []  # oldest first (lending a prefix is no use: the
        # conversation that continues from one replaces it when it ends)
        self.counters = PrefixCacheCounters()

    # -- numbers ------------------------------------------------------------------------------
    @property
    def cells_in_use(self) -> int:
        return len(self._refs)

    @property
    def cached_sequences(self) -> int:
        """Finished conversations kept (in RAM) for their next turn."""
        return len(self._kept)

    @property
    def cache_ram_used(self) -> int:
        return sum(kept.size for kept in self._kept)

    # -- a request's life -----------------------------------------------------------------------
    def acquire(self, prompt: Sequence[int], group: int = 0) -> tuple[int, int]:
        """A slot for ``prompt`` with its longest cached prefix of the same ``group`` in place:
        (sequence, reused tokens).

        At least the last prompt token is left to compute (its logits give the first answer token).
        """
        limit = len(prompt) - 1
        source, reused = -1, 0
        for seq in self._active:
            if seq in self._stale or self._group[seq] != group:
                continue
            n = min(common_prefix(self.tokens[seq], prompt), limit)
            if n > reused:
                source, reused = seq, n
        kept, from_ram = None, 0
        for entry in self._kept:
            if entry.group == group:
                n = min(common_prefix(entry.tokens, prompt), limit)
                # a copy of all its cells for a few of them: computing those is cheaper
                if n > max(reused, from_ram) and n * MIN_RESTORED_SHARE_INV >= len(entry.tokens):
                    kept, from_ram = entry, n
        target = self._free_slot()
        if kept is not None and self._restore(kept, target):
            reused = from_ram
        elif reused:
            self._memory.seq_cp(source, target, 0, reused)
            self._copy_cells(source, target, reused)
        if not self._truncate(target, reused):
            reused = 0
        self._group[target] = group
        self._active.add(target)
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
        self._new_cells(seq, len(tokens))

    def replace(self, seq: int, tokens: Sequence[int], state) -> bool:
        """``seq``'s cells become ``state`` (``save_sequence``'s copy of ``tokens``, computed in
        another context on the same model: the prompt lane's); False when the cache had no room
        for them in one piece (``seq`` is then empty)."""
        self._clear(seq)
        if not self._memory.restore_sequence(state, seq):
            self._memory.seq_rm(seq, -1, -1)
            return False
        self.tokens[seq] = list(tokens)
        self._new_cells(seq, len(tokens))
        return True

    def release(self, seq: int, *, keep: bool) -> None:
        """The request in ``seq`` ended; ``keep`` its conversation (in RAM) for a next turn. Its
        cells leave the KV cache either way."""
        self._active.discard(seq)
        stale = seq in self._stale
        self._stale.discard(seq)
        if keep and not stale and self.tokens[seq]:
            self._keep(seq)
        self._clear(seq)

    def forget_cached(self) -> None:
        """The model changed (an adapter or its scale): no cell computed before may be reused.
        Kept conversations are dropped now; running ones finish as they are, and are not kept."""
        self._kept.clear()
        self._stale |= self._active

    # -- internals ----------------------------------------------------------------------------
    def _keep(self, seq: int) -> None:
        tokens, group = list(self.tokens[seq]), self._group[seq]
        # what this conversation continues (its earlier turn, or the prefix it was lent) is superseded
        self._kept = [
            entry
            for entry in self._kept
            if not (entry.group == group and common_prefix(entry.tokens, tokens) == len(entry.tokens))
        ]
        if self.cache_ram_bytes <= 0:
            return
        state = self._memory.save_sequence(seq)
        if state is None or len(state) > self.cache_ram_bytes:
            return
        self._kept.append(KeptConversation(tokens, group, state))
        while self.cache_ram_used > self.cache_ram_bytes:
            del self._kept[0]
            self.counters.dropped += 1

    def _restore(self, kept: KeptConversation, seq: int) -> bool:
        """Copy ``kept``'s cells into the empty ``seq``; False when llama.cpp found no room for
        them in one piece (the prompt is then computed)."""
        if not self._memory.restore_sequence(kept.state, seq):
            self.counters.restore_failures += 1
            return False
        self.tokens[seq] = list(kept.tokens)
        self._new_cells(seq, len(kept.tokens))
        self.counters.restored += 1
        return True

    def _free_slot(self) -> int:
        return next(seq for seq in range(len(self.tokens)) if seq not in self._active)

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

    def _new_cells(self, seq: int, n: int) -> None:
        cells = self._cells[seq]
        for _ in range(n):
            cell = next(self._cell_ids)
            cells.append(cell)
            self._refs[cell] = 1

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
