"""The llama.cpp context the batching engine decodes in, with the real tiny model."""

from __future__ import annotations

from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from aiclone_agent.engine.base import EngineError
from aiclone_agent.engine.llama_batch.context import DecodeError, LlamaContext


@pytest.fixture(scope="module")
def two_slots(model_path: Path):
    context = LlamaContext.load(model_path, n_ctx=512, n_batch=64, parallel=2, n_gpu_layers=0, n_threads=1)
    yield context
    context.close()


def test_logits_are_reserved_for_one_token_per_sequence(two_slots: LlamaContext):
    """As llama-server reserves: a step samples at most one token per sequence, so the context
    keeps logits rows for ``n_seq`` tokens, not one per batch token (n_batch)."""
    n_seq = two_slots.shape.n_seq
    assert n_seq < two_slots.shape.n_batch
    token = 1
    two_slots.decode([(token, 0, seq, True) for seq in range(n_seq)])  # one per sequence: fine
    for seq in range(n_seq):
        two_slots.seq_rm(seq)
    too_many = [(token, position, 0, True) for position in range(n_seq + 1)]
    with pytest.raises(EngineError) as raised:  # refused here; llama.cpp itself would abort the process
        two_slots.decode(too_many)
    assert not isinstance(raised.value, DecodeError)
    two_slots.decode([(token, position, 0, position == n_seq) for position in range(n_seq + 1)])


def test_an_interrupted_step_keeps_nothing_and_its_redo_equals_the_plain_step(two_slots: LlamaContext):
    """``interrupt`` stops ``llama_decode`` at its next graph node; llama.cpp removes the step's cells,
    so the same step run again gives bit for bit the logits it gives uninterrupted."""
    prompt = [(1000 + i, i, 0, i == 19) for i in range(20)]
    step = [(5, 20, 0, True)]

    def logits_of_step(interrupted: bool) -> np.ndarray:
        two_slots.seq_rm(0)
        two_slots.decode(prompt)
        if interrupted:
            two_slots.interrupt()
            with pytest.raises(DecodeError) as raised:
                two_slots.decode(step)
            assert raised.value.interrupted and not raised.value.no_room
            two_slots.clear_interrupt()
        two_slots.decode(step)
        row = llama_cpp.llama_get_logits_ith(two_slots.ctx, -1)
        return np.ctypeslib.as_array(row, shape=(two_slots.n_vocab,)).copy()

    plain = logits_of_step(interrupted=False)
    assert np.array_equal(logits_of_step(interrupted=True), plain)
    two_slots.seq_rm(0)


def test_a_saved_sequence_restored_elsewhere_gives_the_logits_of_its_original_cells(two_slots: LlamaContext):
    """A finished conversation waits in RAM (``save_sequence``) and its next turn puts its cells back
    (``restore_sequence``), wherever the cache has room: the next step's logits are bit for bit those
    its original cells give. A cache without a free run of cells that long refuses the restore."""

    def next_logits(seq: int) -> np.ndarray:
        two_slots.decode([(5, 20, seq, True)])
        row = llama_cpp.llama_get_logits_ith(two_slots.ctx, -1)
        logits = np.ctypeslib.as_array(row, shape=(two_slots.n_vocab,)).copy()
        two_slots.seq_rm(seq, 20, -1)
        return logits

    for seq in range(two_slots.shape.n_seq):
        two_slots.seq_rm(seq)
    two_slots.decode([(1000 + i, i, 0, False) for i in range(20)])
    original = next_logits(0)
    state = two_slots.save_sequence(0)
    assert state is not None and len(state) > 0
    two_slots.decode([(7, i, 1, False) for i in range(30)])  # something else takes the cells after them
    two_slots.seq_rm(0)
    assert two_slots.restore_sequence(state, 2)
    assert np.array_equal(next_logits(2), original)

    two_slots.seq_rm(2)
    two_slots.seq_rm(1)
    filler = two_slots.shape.n_ctx - 10  # only 10 free cells left: no room for 20 in one piece
    for start in range(0, filler, two_slots.shape.n_batch):
        n = min(two_slots.shape.n_batch, filler - start)
        two_slots.decode([(7, start + i, 1, False) for i in range(n)])
    assert not two_slots.restore_sequence(state, 2)
    two_slots.seq_rm(1)


def test_a_prompt_read_in_the_lane_context_gives_the_logits_of_reading_it_here(two_slots: LlamaContext):
    """The prompt lane reads in a second context on the same model; its cells, copied into the main
    context, give the next step bit for bit the logits the main context's own reading gives."""
    prompt = [(1000 + 7 * i) % 30000 for i in range(150)]

    def next_logits(seq: int) -> np.ndarray:
        two_slots.decode([(5, len(prompt), seq, True)])
        row = llama_cpp.llama_get_logits_ith(two_slots.ctx, -1)
        logits = np.ctypeslib.as_array(row, shape=(two_slots.n_vocab,)).copy()
        two_slots.seq_rm(seq, len(prompt), -1)
        return logits

    def read(context: LlamaContext, seq: int) -> None:
        for start in range(0, len(prompt), context.shape.n_batch):
            chunk = prompt[start : start + context.shape.n_batch]
            context.decode([(token, start + i, seq, False) for i, token in enumerate(chunk)])

    for seq in range(two_slots.shape.n_seq):
        two_slots.seq_rm(seq)
    read(two_slots, 0)
    here = next_logits(0)
    two_slots.seq_rm(0)

    lane = two_slots.lane_context()
    assert lane is not None and lane.shape.n_seq == 1 and lane.shape.n_ctx == two_slots.shape.n_ctx
    try:
        read(lane, 0)
        state = lane.save_sequence(0)
        assert state is not None
        two_slots.decode([(7, i, 1, False) for i in range(30)])  # other cells first: it lands after them
        assert two_slots.restore_sequence(state, 0)
        assert np.array_equal(next_logits(0), here)
    finally:
        lane.close()
    two_slots.seq_rm(0)
    two_slots.seq_rm(1)
    assert two_slots.model is not None  # the lane's context left the shared model alone
