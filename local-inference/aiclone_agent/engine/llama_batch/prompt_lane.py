"""The prompt lane: a long prompt read in whole batches, in a context and on a thread of its own,
while the decode loop's steps keep the running answers flowing.

In one context a step that reads part of a long prompt beside running answers holds every answer
for as long as that part takes: whole batches (512 tokens, as llama-server reads) stall them for
seconds a token, and small chunks cost more than their share on a CPU (llama.cpp's flash attention
computes 64-row tiles that never cross a head or a thread's share of the rows; 3,000 tokens read in
the chunks that kept the answers' gaps under a quarter of a whole batch took 1.13-1.2x the time of
whole batches, on SmolLM2-135M and 2 cores). So the lane reads the prompt in whole batches in a
second llama.cpp context on the same model (its own KV cells, one sequence), and the decode loop,
whenever it has a step to run, pauses it: llama.cpp's abort callback (``clone_core.AbortFlag``)
holds the lane's compute thread between two graph nodes, the loop's step runs on the cores, and
the lane goes on from where it stood. Measured there: 2,990 tokens read in 11.1 s alone; with a
3-answer step every 0.4 s, in 1.04-1.06x that, the answers' longest gap 453 ms against 2.1 s for
a whole batch at the prompt's end.

When the read is done its cells are copied out (``llama_state_seq_get_data``) and into the
request's sequence in the main context (``KvSlots.replace``); the main context computes the
prompt's last token, whose logits give the first answer token. A read starts from the cells the
request already held (a lent prefix, or what it had read itself before the lane took it over).
The lane is for CPU attention only: a GPU reads small chunks efficiently, and its backends finish
a step before they look at the callback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiclone_agent.engine.llama_batch.context import DecodeError, LlamaContext

log = logging.getLogger(__name__)

PAUSE_TIMEOUT_S = 30.0  # one graph node, at most (the longest measured: 32 ms)


@dataclass(eq=False)
class LaneRead:
    """One prompt to read: ``tokens`` from position ``start`` on, ``prefix`` holding the cells of
    the ``start`` tokens before (``LlamaContext.save_sequence``'s copy), under the adapter at
    ``lora_scale``. The lane fills in ``state``, the cells of the first ``read`` tokens (all of
    them, or fewer when it was cancelled: what it had read is kept); None when it failed."""

    tokens: list[int]
    start: int
    prefix: Any
    lora_scale: float
    state: Any = None
    read: int = 0
    cancelled: bool = False


class PromptLane:
    """The lane's context, and a thread for each read; every method runs on the decode-loop thread.

    A thread for each read, not one for the engine's life: libgomp (llama.cpp's OpenMP) keeps a
    pool of workers for every thread that ran a parallel region, and while it manages more threads
    than there are CPUs it spins only briefly at a barrier before it sleeps, for every team. With
    the lane's thread alive between reads, a one-answer step took 10-15 ms instead of 7 (8 answers:
    36-46 ms instead of 33); once that thread has exited, 7 again.
    """

    def __init__(self, context: LlamaContext, on_done: Callable[[LaneRead], None]) -> None:
        self.context = context
        self._gate = context.abort_flag
        self._on_done = on_done
        self._thread: threading.Thread | None = None
        self._read: LaneRead | None = None  # the last read started
        self.reads = 0  # prompts read here, since start
        self.tokens = 0
        self.pauses = 0
        self.last_step: tuple[int, float] | None = None  # rows and ms computing, of its last step

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def paused_s(self) -> float:
        """Seconds the lane spent held inside its steps for the decode loop's."""
        return self._gate.parked_s

    def start(self, read: LaneRead, main: LlamaContext) -> None:
        if self.busy:
            raise RuntimeError("the prompt lane is reading another prompt")
        self.context.follow_adapter(main)
        self._gate.clear()
        self._read = read
        self._thread = threading.Thread(target=self._run, args=(read,), name="llama-prompt-lane", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """Hold the lane (it stops within a graph node) before a step of the decode loop's."""
        self.pauses += 1
        if not self._gate.pause(PAUSE_TIMEOUT_S):
            log.warning("the prompt lane did not pause within %.0f s", PAUSE_TIMEOUT_S)

    def resume(self) -> None:
        self._gate.resume()

    def cancel(self, read: LaneRead) -> None:
        """Stop ``read`` (its step ends at the next graph node, and is lost; the steps before are
        kept); ``on_done`` still reports it."""
        if self._read is read and not read.cancelled:
            read.cancelled = True
            self._gate.set()

    def close(self) -> None:
        if self._read is not None:
            self.cancel(self._read)
        self._gate.resume()
        if self._thread is not None:
            self._thread.join()
        self.context.close()

    # -- the read's thread ------------------------------------------------------------------------
    def _run(self, read: LaneRead) -> None:
        try:
            self._read_prompt(read)
        except Exception:  # the decode loop, told by ``on_done``, reads the prompt itself
            log.exception("the prompt lane failed")
        finally:
            self.context.seq_rm(0)
            self._on_done(read)

    def _read_prompt(self, read: LaneRead) -> None:
        context, gate = self.context, self._gate
        context.seq_rm(0)
        position = 0
        if read.prefix is not None and read.start:
            if not context.restore_sequence(read.prefix, 0):
                raise RuntimeError("the lane's context had no room for the prompt's cached prefix")
            position = read.start
        context.use_lora_scale(read.lora_scale)
        n_batch = context.shape.n_batch
        tokens = read.tokens
        while position < len(tokens) and not read.cancelled:
            chunk = tokens[position : position + n_batch]
            entries = [(token, position + i, 0, False) for i, token in enumerate(chunk)]
            gate.enter()
            parked, began = gate.parked_s, time.perf_counter()
            try:
                context.decode(entries)
            except DecodeError as exc:
                if not exc.interrupted:
                    raise
                read.cancelled = True  # llama.cpp dropped this step's cells; the ones before stay
                break
            finally:
                gate.leave()
            ms = (time.perf_counter() - began - (gate.parked_s - parked)) * 1000
            position += len(chunk)
            self.last_step = (len(chunk), ms)
            self.tokens += len(chunk)
        if position:
            read.state = context.save_sequence(0)
            if read.state is None:
                raise RuntimeError("llama.cpp wrote no state for the read prompt")
            read.read = position
        if position == len(tokens):
            self.reads += 1
