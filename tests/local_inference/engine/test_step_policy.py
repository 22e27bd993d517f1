"""The decode loop's per-step decisions as pure functions: how many prompt tokens a step that
decodes may carry (from the step cost it measured), how long the prompt lane reads between two
steps, and which running sequence gives way."""

from __future__ import annotations

from aiclone_agent.engine.llama_batch.step_policy import (
    CHUNK_FLOOR_SHARE,
    LANE_GAP_SHARE,
    MIN_PROMPT_BUDGET,
    UNMEASURED_PROMPT_BUDGET,
    WHOLE_BATCH_SHARE,
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


def measured(per_prompt_token: float, per_sequence: float) -> StepCost:
    cost = StepCost()
    cost.observe(prompt_tokens=100, sequences=0, ms=100 * per_prompt_token)
    cost.observe(prompt_tokens=0, sequences=4, ms=4 * per_sequence)
    return cost


def test_a_prompt_read_alone_takes_the_whole_batch():
    assert prompt_budget(measured(5.0, 50.0), decoding=0, n_batch=512) == 512
    assert prompt_budget(StepCost(), decoding=0, n_batch=512) == 512


def budget(per_prompt_token: float, per_sequence: float, **policy) -> int:
    """The budget beside 4 answers in a 512-token batch with a 150 ms target, unless ``policy`` says
    otherwise; the share and floor rules off unless given."""
    settings = {"decoding": 4, "n_batch": 512, "target_ms": 150, "prompt_share": 0, "chunk_floor_share": 0}
    return prompt_budget(measured(per_prompt_token, per_sequence), **(settings | policy))


def test_beside_decoding_answers_the_budget_keeps_the_step_near_its_target():
    # 4 answers at 10 ms each leave 110 ms of a 150 ms step: 55 tokens at 2 ms
    assert budget(2.0, 10.0) == 55
    # a faster machine reads more per step, never more than the batch holds
    assert budget(0.1, 1.0) == 508
    # answers alone already take longer than the target: the prompt still advances
    assert budget(2.0, 60.0) == MIN_PROMPT_BUDGET


def test_a_chunk_keeps_its_share_of_the_step_where_decoding_is_slow():
    # 4 answers at 10 ms: 40 ms of decoding; 90% of the step on the prompt is 360 ms, 180 tokens at 2 ms
    assert budget(2.0, 10.0, prompt_share=0.9) == 180
    # where the target already gives the prompt more, the target wins
    assert budget(0.5, 1.0, prompt_share=0.9) == 292


def test_a_chunk_is_never_smaller_than_a_quarter_of_the_batch():
    # the target would allow 55 tokens and the share 180: a quarter of 1024 is more
    assert budget(2.0, 10.0, n_batch=1024, prompt_share=0.9, chunk_floor_share=CHUNK_FLOOR_SHARE) == 256
    # where the share or the target already give more, they win
    assert budget(2.0, 10.0, prompt_share=0.9, chunk_floor_share=CHUNK_FLOOR_SHARE) == 180
    # never more than the batch has room for beside the answers
    assert budget(2.0, 10.0, decoding=100, n_batch=128, chunk_floor_share=1) == 28


def test_before_any_measurement_a_small_budget_measures_the_machine():
    assert prompt_budget(StepCost(), decoding=2, n_batch=512) == UNMEASURED_PROMPT_BUDGET
    assert prompt_budget(StepCost(), decoding=2, n_batch=40) == 38


def test_step_cost_follows_the_machine_and_splits_mixed_steps():
    cost = StepCost()
    cost.observe(prompt_tokens=0, sequences=2, ms=20.0)
    assert cost.per_sequence == 10.0 and cost.per_prompt_token is None
    cost.observe(prompt_tokens=50, sequences=2, ms=120.0)  # 20 ms of it were the two answers
    assert cost.per_prompt_token == 2.0
    for _ in range(40):  # the machine got twice as slow: the average follows
        cost.observe(prompt_tokens=100, sequences=0, ms=400.0)
    assert 3.9 < cost.per_prompt_token <= 4.0


def test_cpu_attention_tiles_follow_llama_cpps_work_split():
    # SmolLM2-135M (9 heads) on 2 threads: 8 chunks of rows, 64-row tiles cut at chunk and head ends
    tiles = [cpu_attention_tiles(rows, heads=9, threads=2) for rows in (64, 128, 131, 256, 512)]
    assert tiles == [16, 24, 27, 40, 72]  # 131 rows: 3 more tiles than 128 for 3 more rows
    assert cpu_attention_tiles(512, heads=9, threads=2) == 512 * 9 // 64  # whole tiles only
    assert linear_tiles(128) == 2


def tiles_9x2(rows: int) -> float:
    return cpu_attention_tiles(rows, heads=9, threads=2)


SMOLLM2 = StepShape(
    tiles_9x2, attention_per_tile_cell(n_layer=30, n_embd=576, n_head=9, n_params=134_515_008, n_vocab=49_152)
)


def test_an_attention_tile_weighs_what_the_models_shape_says():
    # SmolLM2-135M: 2 x 64 rows x 64 wide x 30 layers against 106M products a row
    assert 2.2e-3 < SMOLLM2.attention_per_tile_cell < 2.4e-3
    # a wider head or more layers per parameter make attention weigh more
    assert attention_per_tile_cell(60, 576, 9, 134_515_008, 49_152) == 2 * SMOLLM2.attention_per_tile_cell


def machine_ms(rows: int, depth: int, slower: float = 1.0) -> float:
    """A step on a 2-core CPU like the one the bench runs on (per row and per attention tile and
    KV cell, as fitted there), ``slower`` times as slow, and a few fixed milliseconds."""
    return slower * (5.0 + 2.7 * rows + 0.0055 * tiles_9x2(rows) * depth)


def read_beside_answers(
    length: int, shape: StepShape | None, slower=lambda step: 1.0
) -> list[tuple[int, float]]:
    """(chunk, ms) of each step that reads a ``length``-token prompt beside 3 answers on
    ``machine_ms``; ``shape`` None: the budget is not told where the prompt is (the plain
    quarter-batch floor)."""
    cost = StepCost()
    cost.observe(prompt_tokens=0, sequences=3, ms=machine_ms(3, 0))
    cost.observe(prompt_tokens=100, sequences=0, ms=machine_ms(100, 100))
    steps: list[tuple[int, float]] = []
    position = 0
    while position < length:
        read = PromptRead(position=position, length=length) if shape else None
        chunk = min(prompt_budget(cost, decoding=3, n_batch=512, read=read, shape=shape), length - position)
        ms = machine_ms(chunk + 3, position + chunk, slower(len(steps)))
        cost.observe(prompt_tokens=chunk, sequences=3, ms=ms)
        steps.append((chunk, ms))
        position += chunk
    return steps


def whole_batch_steps(length: int) -> list[float]:
    """The steps of a server that reads the prompt in whole 512-token batches beside 3 answers."""
    return [machine_ms(min(509, length - p) + 3, min(p + 509, length)) for p in range(0, length, 509)]


def test_a_long_prompt_beside_answers_keeps_every_step_short_and_is_read_as_soon():
    shaped = read_beside_answers(2920, SMOLLM2)
    equal = read_beside_answers(2920, None)
    whole = whole_batch_steps(2920)
    assert min(chunk for chunk, _ in equal[1:-1]) >= 128  # a quarter of the batch, however deep
    chunks = [chunk for chunk, _ in shaped]
    assert chunks[0] > 160 and max(chunks[-4:]) < 90, chunks  # larger early, smaller late
    # the longest step, the answers' worst inter-token gap, is about WHOLE_BATCH_SHARE of the
    # longest whole-batch step (equal chunks: about 0.3) ...
    assert max(ms for _, ms in equal) > 0.3 * max(whole)
    assert max(ms for _, ms in shaped) < (WHOLE_BATCH_SHARE + 0.03) * max(whole)
    # ... and the prompt is read nearly as soon as in equal chunks (1.07x here)
    assert sum(ms for _, ms in shaped) < 1.1 * sum(ms for _, ms in equal)


def test_the_chunks_do_not_follow_a_machine_that_slows_down_for_a_while():
    steady = read_beside_answers(2920, SMOLLM2)
    # the machine ran 40% slower for steps 3 to 8 (another program's burst)
    bursty = read_beside_answers(2920, SMOLLM2, slower=lambda step: 1.4 if 3 <= step <= 8 else 1.0)
    assert [chunk for chunk, _ in bursty] == [chunk for chunk, _ in steady]


def test_no_step_is_left_too_small_for_an_attention_tile():
    # 2,920 tokens: the last steps beside 3 answers carry at least 61 prompt tokens (64 rows)
    chunks = [chunk for chunk, _ in read_beside_answers(2920, SMOLLM2)]
    assert min(chunks) + 3 >= 64, chunks
    for length in range(2900, 2990, 29):  # whatever the prompt's length
        assert min(chunk for chunk, _ in read_beside_answers(length, SMOLLM2)) + 3 >= 64, length


def test_a_prompt_within_one_batch_keeps_the_quarter_batch_floor():
    cost = measured(2.0, 10.0)
    assert prompt_budget(cost, decoding=4, n_batch=512, target_ms=150, prompt_share=0) == 128


def sequence(id_: int, weight: int, preemptions: int = 0, admitted_at: float = 0.0) -> RunningSequence:
    return RunningSequence(id_, weight, preemptions, admitted_at)


def test_the_lightest_channel_gives_way_and_of_equals_the_latest_admitted():
    running = [
        sequence(1, 1, admitted_at=1.0),
        sequence(2, 4, admitted_at=3.0),
        sequence(3, 1, admitted_at=2.0),
    ]
    assert pick_victim(8, running) == 3
    assert pick_victim(4, running) == 3  # web waits: only api gives way
    assert pick_victim(1, running) is None  # never for an equal or lighter channel


def test_a_sequence_gives_way_a_bounded_number_of_times():
    running = [sequence(1, 1, preemptions=3, admitted_at=2.0), sequence(2, 1, preemptions=0, admitted_at=1.0)]
    assert pick_victim(8, running, max_preemptions=3) == 2
    assert pick_victim(8, running[:1], max_preemptions=3) is None


def test_the_lane_reads_a_share_of_a_whole_batch_between_the_answers_steps():
    # a whole-batch lane step of 2,000 ms: the answers' gaps are that share of it, their step included
    assert 0.1 < LANE_GAP_SHARE < 0.25  # the answers' gaps under a quarter of a whole batch's
    assert lane_gap_s((512, 2000.0), 512, 25.0, 150.0) == (LANE_GAP_SHARE * 2000 - 25) / 1000
    # deeper in the prompt its steps cost more, and the gaps grow with them
    assert lane_gap_s((512, 2500.0), 512, 25.0, 150.0) > lane_gap_s((512, 2000.0), 512, 25.0, 150.0)
    # a last step of fewer rows counts as a whole batch of them
    assert lane_gap_s((128, 500.0), 512, 0.0, 150.0) == lane_gap_s((512, 2000.0), 512, 0.0, 150.0)


def test_before_the_lane_has_measured_a_step_and_on_a_fast_machine_the_gap_is_the_step_target():
    assert lane_gap_s(None, 512, 25.0, 150.0) == 0.15
    # a fast machine: that share of its whole batch, and the answers' steps would eat the prompt's time
    assert lane_gap_s((512, 300.0), 512, 25.0, 150.0) == 0.15
