"""The decode loop's two per-step decisions as pure functions: how many prompt tokens a step that
decodes may carry (from the step cost it measured), and which running sequence gives way."""

from __future__ import annotations

from aiclone_agent.engine.llama_batch.step_policy import (
    CHUNK_FLOOR_SHARE,
    MIN_PROMPT_BUDGET,
    UNMEASURED_PROMPT_BUDGET,
    RunningSequence,
    StepCost,
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
