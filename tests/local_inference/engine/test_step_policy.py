"""The decode loop's two per-step decisions as pure functions: how many prompt tokens a step that
decodes may carry (from the step cost it measured), and which running sequence gives way."""

from __future__ import annotations

from aiclone_agent.engine.llama_batch.step_policy import (
    CHUNK_FLOOR_SHARE,
    MIN_PROMPT_BUDGET,
    UNMEASURED_PROMPT_BUDGET,
    PromptRead,
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


def deeper_costs_more(position: float) -> float:
    """ms per prompt token on a machine where a token at 2,900 costs twice one at the start."""
    return 2.0 * (1 + position / 2900)


def test_the_fit_learns_how_much_deeper_tokens_cost():
    cost = StepCost()
    for start in range(0, 2900, 128):
        middle = start + 63.5
        cost.observe(prompt_tokens=128, sequences=0, ms=128 * deeper_costs_more(middle), position=middle)
    assert abs(cost.fit.growth() * 2900 - 1) < 0.01
    at_start, deep = cost.per_token_at(0), cost.per_token_at(2900)
    assert at_start is not None and deep is not None
    assert abs(deep / at_start - 2) < 0.02


def test_tokens_at_one_position_claim_no_growth():
    cost = StepCost()
    for _ in range(20):  # short chats: their prompts all sit near the start
        cost.observe(prompt_tokens=40, sequences=0, ms=80.0, position=20 + _ % 3)
    assert cost.fit.growth() == 0
    read = PromptRead(start=0, position=2000, length=2920)
    assert budget(2.0, 10.0, chunk_floor_share=CHUNK_FLOOR_SHARE) == 128
    assert prompt_budget(cost, decoding=4, n_batch=512, target_ms=150, prompt_share=0, read=read) == 128


def read_beside_answers(cost: StepCost, length: int, even: bool) -> list[tuple[int, float]]:
    """(chunk, ms) of each step that reads a ``length``-token prompt beside 3 answers (10 ms each),
    ``cost`` learning from the steps as they run; ``even``: the budget knows where the prompt is."""
    cost.observe(prompt_tokens=0, sequences=3, ms=30.0)
    steps, position = [], 0
    while position < length:
        read = PromptRead(start=0, position=position, length=length) if even else None
        chunk = min(prompt_budget(cost, decoding=3, n_batch=512, read=read), length - position)
        middle = position + (chunk - 1) / 2
        ms = 30.0 + chunk * deeper_costs_more(middle)
        cost.observe(prompt_tokens=chunk, sequences=3, ms=ms, position=middle)
        steps.append((chunk, ms))
        position += chunk
    return steps


def test_a_long_prompt_beside_answers_is_read_in_chunks_that_shrink_as_it_goes_deeper():
    learnt = StepCost()
    first = read_beside_answers(learnt, 2920, even=True)  # the first long prompt teaches the growth
    even = read_beside_answers(learnt, 2920, even=True)
    equal = read_beside_answers(StepCost(), 2920, even=False)
    assert min(chunk for chunk, _ in equal[1:-1]) >= 128  # a quarter of the batch, however deep
    chunks = [chunk for chunk, _ in even]
    assert chunks[0] > 180 and chunks[-2] < 100, chunks  # larger early, smaller late
    # the longest step, the answers' worst inter-token gap, is a quarter shorter ...
    for steps in (first, even):
        assert max(ms for _, ms in steps) < 0.8 * max(ms for _, ms in equal)
    # ... and once the growth is known the prompt takes about as many steps, so about as long
    assert len(even) <= len(equal)
    assert sum(ms for _, ms in even) < 1.01 * sum(ms for _, ms in equal)


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
