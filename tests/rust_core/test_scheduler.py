"""The batching scheduler: priority and fairness per channel, a bounded queue, the per-step token
budget with chunked prefill, preemption, cancellation; the Rust class equals the pure-Python
reference."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clone_core
from tests.rust_core import reference

WEIGHTS = {"owner": 8, "web": 4, "telegram": 2, "api": 1}

IMPLS = {
    "rust": SimpleNamespace(
        Scheduler=clone_core.Scheduler,
        QueueFullError=clone_core.QueueFullError,
        InvalidInput=clone_core.InvalidInputError,
    ),
    "reference": SimpleNamespace(
        Scheduler=reference.Scheduler, QueueFullError=reference.QueueFullError, InvalidInput=ValueError
    ),
}


@pytest.fixture(params=sorted(IMPLS))
def impl(request) -> SimpleNamespace:
    return IMPLS[request.param]


def make(impl, max_running=4, max_waiting=64, step_tokens=16, weights=None):
    return impl.Scheduler(
        max_running=max_running,
        max_waiting=max_waiting,
        step_tokens=step_tokens,
        channel_weights=weights or WEIGHTS,
    )


def drain(sched, n: int) -> list[int]:
    """Admits and at once finishes one request at a time: the order the scheduler picks."""
    order = []
    for _ in range(n):
        (picked,) = sched.admit()
        sched.finish(picked)
        order.append(picked)
    return order


def test_higher_weight_goes_first_fifo_within_a_channel(impl) -> None:
    sched = make(impl, max_running=1)
    sched.submit(1, "api", 10)
    sched.submit(2, "telegram", 10)
    sched.submit(3, "owner", 10)
    sched.submit(4, "web", 10)
    sched.submit(5, "owner", 10)
    assert drain(sched, 5) == [3, 5, 4, 2, 1]


def test_busy_owner_cannot_starve_api(impl) -> None:
    sched = make(impl, max_running=1, max_waiting=1000, weights={"owner": 8, "api": 1})
    for i in range(400):
        sched.submit(i, "owner", 5)
        sched.submit(1000 + i, "api", 5)
    order = drain(sched, 360)
    api = [i >= 1000 for i in order]
    assert sum(api) == 40  # exactly 1 in 9 while both channels stay busy
    assert api[:9] == [False] * 8 + [True]
    assert max(len(run) for run in "".join("a" if a else "o" for a in api).split("a")) == 8
    assert order[:3] == [0, 1, 2] and [i for i in order if i >= 1000][:3] == [1000, 1001, 1002]
    assert sched.stats().admitted_by_channel == {"owner": 320, "api": 40}


def test_an_idle_channel_cannot_bank_credit(impl) -> None:
    sched = make(impl, max_running=1, max_waiting=1000, weights={"owner": 8, "api": 1})
    for i in range(50):
        sched.submit(1000 + i, "api", 5)
    assert drain(sched, 50) == list(range(1000, 1050))
    for i in range(30):
        sched.submit(i, "owner", 5)
        sched.submit(2000 + i, "api", 5)
    # the owner was idle while api ran alone: it gets its 8-of-9 share, not 50 admissions in a row
    picked = "".join("a" if i >= 2000 else "o" for i in drain(sched, 27))
    assert picked == ("o" * 8 + "a") * 3
    # and the other way round: api idle while the owner runs alone gets 1 of 9, not a burst
    sched2 = make(impl, max_running=1, max_waiting=1000, weights={"owner": 8, "api": 1})
    for i in range(80):
        sched2.submit(i, "owner", 5)
    drain(sched2, 80)
    for i in range(30):
        sched2.submit(100 + i, "owner", 5)
        sched2.submit(1000 + i, "api", 5)
    picked = drain(sched2, 18)
    assert sum(i >= 1000 for i in picked) == 2


def test_a_channel_cannot_reset_its_debt_by_going_idle(impl) -> None:
    sched = make(impl, max_running=1, max_waiting=1000, weights={"owner": 8, "api": 1})
    for i in range(8):
        sched.submit(i, "owner", 5)
    sched.submit(1000, "api", 5)
    assert drain(sched, 8) == list(range(8))  # the owner used its 8 turns; its queue is empty now
    sched.submit(8, "owner", 5)
    assert drain(sched, 2) == [1000, 8]  # it comes back behind api, not ahead of it


def test_admit_fills_only_free_slots(impl) -> None:
    sched = make(impl, max_running=2)
    for i in range(5):
        sched.submit(i, "web", 3)
    assert sched.admit() == [0, 1]
    assert sched.admit() == []
    sched.finish(0)
    assert sched.admit() == [2]
    stats = sched.stats()
    assert (stats.waiting, stats.running, stats.prefilling) == (2, 2, 2)
    assert stats.waiting_by_channel == {"owner": 0, "web": 2, "telegram": 0, "api": 0}


def test_bounded_queue_rejects_and_loses_nothing(impl) -> None:
    sched = make(impl, max_running=1, max_waiting=2)
    sched.submit(1, "api", 4)
    sched.submit(2, "owner", 4)
    with pytest.raises(impl.QueueFullError):
        sched.submit(3, "owner", 4)
    stats = sched.stats()
    assert stats.rejected == 1 and stats.waiting == 2
    assert sched.admit() == [2]
    sched.submit(3, "owner", 4)  # a slot in the queue opened: the retry is accepted
    with pytest.raises(impl.QueueFullError):
        sched.submit(4, "web", 4)
    sched.finish(2)
    assert sched.admit() == [3]
    sched.finish(3)
    assert sched.admit() == [1]
    assert sched.stats().rejected == 2


def test_a_step_serves_one_adapter_group_and_groups_alternate(impl) -> None:
    """llama.cpp applies one LoRA scale per decode: requests at scale 0.5 and 2.0 never share a
    step, each group's steps get the whole token budget, and a lone group runs every step."""
    sched = impl.Scheduler(max_running=4, max_waiting=8, step_tokens=16, channel_weights={"web": 1})
    sched.submit(1, "web", 3, 2000)
    sched.submit(2, "web", 3, 500)
    sched.submit(3, "web", 3, 2000)
    assert sched.admit() == [1, 2, 3]
    plans = [sched.plan() for _ in range(4)]
    assert [(p.group, p.decode, p.prefill) for p in plans] == [
        (500, [], [(2, 3)]),
        (2000, [], [(1, 3), (3, 3)]),
        (500, [2], []),
        (2000, [1, 3], []),
    ]
    assert sched.stats().group_switches == 3
    sched.finish(2)
    assert [(p.group, p.decode) for p in (sched.plan(), sched.plan())] == [(2000, [1, 3])] * 2
    assert sched.stats().group_switches == 3
    with pytest.raises(impl.InvalidInput):
        sched.submit(9, "web", 3, -1)


def test_plan_decodes_first_then_prefills_in_chunks(impl) -> None:
    sched = make(impl, max_running=3, step_tokens=8)
    sched.submit(1, "web", 5)
    sched.submit(2, "web", 10)
    assert sched.admit() == [1, 2]
    plan = sched.plan()
    assert (plan.decode, plan.prefill) == ([], [(1, 5), (2, 3)])
    assert sched.stats().prefilling == 1
    plan = sched.plan()
    assert (plan.decode, plan.prefill) == ([1], [(2, 7)])
    sched.submit(3, "api", 20)
    assert sched.admit() == [3]
    plan = sched.plan()  # two decoding sequences take 2 of 8 tokens; the long prompt gets the rest
    assert (plan.decode, plan.prefill) == ([1, 2], [(3, 6)])
    for _ in range(2):
        assert sched.plan().prefill == [(3, 6)]
    plan = sched.plan()
    assert (plan.decode, plan.prefill) == ([1, 2], [(3, 2)])
    assert sched.plan().decode == [1, 2, 3]
    assert sched.stats().prefilling == 0


def test_prefill_in_admission_order_not_channel_order(impl) -> None:
    sched = make(impl, max_running=2, step_tokens=4)
    sched.submit(1, "api", 6)
    assert sched.admit() == [1]
    sched.submit(2, "owner", 6)
    assert sched.admit() == [2]
    assert sched.plan().prefill == [(1, 4)]
    assert sched.plan().prefill == [(1, 2), (2, 2)]


def test_set_remaining_skips_cached_prompt_tokens(impl) -> None:
    sched = make(impl, max_running=2, step_tokens=8)
    sched.submit(1, "web", 100)
    sched.admit()
    sched.set_remaining(1, 3)
    assert sched.plan().prefill == [(1, 3)]
    assert sched.plan().decode == [1]
    with pytest.raises(impl.InvalidInput):
        sched.set_remaining(1, 5)  # decoding already
    sched.submit(2, "web", 9)
    with pytest.raises(impl.InvalidInput):
        sched.set_remaining(2, 5)  # still waiting
    sched.admit()
    with pytest.raises(impl.InvalidInput):
        sched.set_remaining(2, 0)
    with pytest.raises(impl.InvalidInput):
        sched.set_remaining(77, 1)
    sched.set_remaining(2, 9)
    assert sched.plan().prefill == [(2, 7)]


def test_cancel_waiting_and_running(impl) -> None:
    sched = make(impl, max_running=1)
    for i, channel in enumerate(["web", "web", "api"]):
        sched.submit(i, channel, 4)
    assert sched.admit() == [0]
    assert sched.cancel(1) is True  # waiting
    assert sched.cancel(0) is True  # running: its slot is free at once
    assert sched.cancel(0) is False and sched.cancel(42) is False
    assert sched.admit() == [2]
    assert sched.plan().prefill == [(2, 4)]
    stats = sched.stats()
    assert (stats.waiting, stats.running) == (0, 1)
    with pytest.raises(impl.InvalidInput):
        sched.finish(0)  # cancelled: no longer running
    sched.submit(0, "web", 4)  # ids can be reused once gone
    assert sched.stats().waiting == 1


def test_a_preempted_request_resumes_first_in_its_channel_and_is_charged_once(impl) -> None:
    sched = make(impl, max_running=1, max_waiting=3)
    sched.submit(1, "api", 10)
    assert sched.admit() == [1]
    sched.plan()
    sched.submit(2, "api", 10)
    sched.submit(3, "owner", 10)
    sched.preempt(1, 1)  # its KV cells are kept: one token to compute when it resumes
    stats = sched.stats()
    assert (stats.waiting, stats.running, stats.preempted) == (3, 0, 1)
    assert sched.admit() == [3]
    sched.finish(3)
    assert sched.admit() == [1]  # ahead of request 2, which was queued before it went back
    assert sched.plan().prefill == [(1, 1)]
    assert sched.stats().admitted_by_channel == {"api": 1, "owner": 1, "telegram": 0, "web": 0}
    with pytest.raises(impl.InvalidInput):
        sched.preempt(2, 1)  # waiting, not running
    with pytest.raises(impl.InvalidInput):
        sched.preempt(1, 0)
    sched.submit(4, "web", 1)
    sched.submit(5, "web", 1)
    with pytest.raises(impl.QueueFullError):  # the queue bound holds for requests sent back too
        sched.preempt(1, 1)


def test_a_decoding_step_carries_at_most_the_prompt_budget(impl) -> None:
    sched = make(impl, max_running=2, step_tokens=64)
    sched.submit(1, "api", 1)
    sched.admit()
    assert sched.plan(4).prefill == [(1, 1)]
    sched.submit(2, "api", 100)
    sched.admit()
    plan = sched.plan(4)
    assert (plan.decode, plan.prefill) == ([1], [(2, 4)])
    assert sched.plan(0).prefill == [(2, 1)]  # a prompt always advances
    assert sched.plan().prefill == [(2, 63)]  # no budget: the whole step
    sched.finish(1)
    assert sched.plan(4).prefill == [(2, 32)]  # nothing decodes: the budget does not apply
    with pytest.raises(impl.InvalidInput):
        sched.plan(-1)


def test_bad_input_is_a_clear_error(impl) -> None:
    for bad in (
        {"max_running": 0},
        {"max_waiting": 0},
        {"step_tokens": 0},
        {"max_running": 8, "step_tokens": 4},
        {"weights": {}},
        {"weights": {"api": 0}},
        {"weights": {"api": -1}},
        {"weights": {"api": 1001}},
    ):
        args = {"max_running": 2, "max_waiting": 4, "step_tokens": 8, "weights": {"api": 1}} | bad
        with pytest.raises(impl.InvalidInput):
            impl.Scheduler(
                max_running=args["max_running"],
                max_waiting=args["max_waiting"],
                step_tokens=args["step_tokens"],
                channel_weights=args["weights"],
            )
    sched = make(impl, max_running=1, max_waiting=1)
    with pytest.raises(impl.InvalidInput, match="channel"):
        sched.submit(1, "fax", 4)
    with pytest.raises(impl.InvalidInput):
        sched.submit(1, "web", 0)
    with pytest.raises(impl.InvalidInput):
        sched.submit(1, "web", -5)
    sched.submit(1, "web", 4)
    with pytest.raises(impl.InvalidInput, match="already"):
        sched.submit(1, "web", 4)  # waiting
    sched.admit()
    with pytest.raises(impl.InvalidInput, match="already"):
        sched.submit(1, "api", 4)  # running
    with pytest.raises(impl.InvalidInput):
        sched.finish(2)
    stats = sched.stats()
    assert (stats.waiting, stats.running, stats.rejected) == (0, 1, 0)
    assert Counter(stats.admitted_by_channel.values()) == Counter({0: 3, 1: 1})


# --- Rust against the reference, on random operation sequences --------------------------

CHANNELS = ["owner", "web", "telegram", "api", "lan"]
ids = st.integers(0, 15)
# ("nth", k): the k-th running request (admission order) at the time the operation runs, so that
# finish and cancel mostly hit live requests and slots keep turning over
nth_running = st.tuples(st.just("nth"), st.integers(0, 5))
targets = st.one_of(ids, nth_running, nth_running)


def operations(channels: list[str]) -> st.SearchStrategy[tuple]:
    """Submits, admissions and finishes weighted up so that queues fill, slots turn over and
    channels go idle and wake up again; now and then a bad argument."""
    submit = st.tuples(
        st.just("submit"),
        ids,
        st.sampled_from([*channels * 4, "fax"]),
        st.sampled_from([*range(1, 41), 0, -1]),
        st.sampled_from([0, 0, 0, 250, 1000, 1000, -1]),  # adapter-setting groups, now and then a bad one
    )
    return st.one_of(
        submit,
        submit,
        submit,
        st.tuples(st.just("admit")),
        st.tuples(st.just("admit")),
        st.tuples(st.just("finish"), targets),
        st.tuples(st.just("finish"), targets),
        st.tuples(st.just("plan")),
        st.tuples(st.just("plan"), st.integers(-1, 12)),
        st.tuples(st.just("preempt"), targets, st.integers(0, 30)),
        st.tuples(st.just("cancel"), targets),
        st.tuples(st.just("set_remaining"), ids, st.integers(0, 30)),
    )


configs = st.fixed_dictionaries(
    {
        "max_running": st.integers(1, 3),
        "max_waiting": st.integers(1, 12),
        "extra_tokens": st.integers(0, 40),
        "channel_weights": st.dictionaries(st.sampled_from(CHANNELS), st.integers(1, 12), min_size=1),
    }
)


def build(impl, config):
    return impl.Scheduler(
        max_running=config["max_running"],
        max_waiting=config["max_waiting"],
        step_tokens=config["max_running"] + config["extra_tokens"],
        channel_weights=config["channel_weights"],
    )


def resolve(op: tuple, running: list[int]) -> tuple:
    """Replaces an ("nth", k) target by the id of the k-th running request (or an unknown id)."""
    if len(op) > 1 and isinstance(op[1], tuple):
        k = op[1][1]
        return (op[0], running[k % len(running)] if running else 99, *op[2:])
    return op


def track(running: list[int], op: tuple, result, error) -> None:
    """Keeps the list of running requests (admission order) that ``resolve`` picks from."""
    if op[0] == "admit":
        running.extend(result)
    elif op[0] in ("finish", "cancel", "preempt") and error is None and op[1] in running:
        running.remove(op[1])


def outcome(impl, sched, op):
    """(result, None) or (None, error kind), with plans and stats as plain values."""
    name, *args = op
    try:
        result = getattr(sched, name)(*args)
    except impl.QueueFullError:
        return None, "full"
    except impl.InvalidInput:
        return None, "invalid"
    if name == "plan":
        result = (result.decode, result.prefill, result.group)
    return result, None


def snapshot(stats):
    return (
        stats.waiting,
        stats.waiting_by_channel,
        stats.running,
        stats.prefilling,
        stats.admitted_by_channel,
        stats.rejected,
        stats.group_switches,
        stats.preempted,
    )


def check_invariants(sched, config, plan) -> None:
    stats = sched.stats()
    assert stats.running <= config["max_running"] and stats.waiting <= config["max_waiting"]
    assert stats.waiting == sum(stats.waiting_by_channel.values())
    assert stats.prefilling <= stats.running
    assert set(stats.waiting_by_channel) == set(config["channel_weights"]) == set(stats.admitted_by_channel)
    if plan is not None:
        decode, prefill, _ = plan
        assert len(decode) + sum(n for _, n in prefill) <= sched.step_tokens
        assert all(n >= 1 for _, n in prefill)
        assert not set(decode) & {i for i, _ in prefill}
        assert len(decode) + len(prefill) <= stats.running


@settings(max_examples=200, deadline=None)
@given(configs, st.data())
def test_rust_equals_reference_step_by_step(config, data) -> None:
    sequence = data.draw(st.lists(operations(sorted(config["channel_weights"])), min_size=30, max_size=120))
    rust, ref = build(IMPLS["rust"], config), build(IMPLS["reference"], config)
    running: list[int] = []
    for op in sequence:
        op = resolve(op, running)
        got, want = outcome(IMPLS["rust"], rust, op), outcome(IMPLS["reference"], ref, op)
        assert got == want, op
        track(running, op, *got)
        assert snapshot(rust.stats()) == snapshot(ref.stats()), op
        check_invariants(rust, config, got[0] if op[0] == "plan" else None)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(-2, 6),
    st.integers(-2, 6),
    st.integers(-2, 12),
    st.dictionaries(st.sampled_from(CHANNELS), st.integers(-2, 1100), max_size=3),
)
def test_constructor_validation_equals_reference(max_running, max_waiting, step_tokens, weights) -> None:
    results = []
    for impl in (IMPLS["rust"], IMPLS["reference"]):
        try:
            impl.Scheduler(
                max_running=max_running,
                max_waiting=max_waiting,
                step_tokens=step_tokens,
                channel_weights=weights,
            )
            results.append("ok")
        except impl.InvalidInput:
            results.append("invalid")
    assert results[0] == results[1]


@settings(max_examples=100, deadline=None)
@given(configs, st.integers(1, 5), st.data())
def test_every_accepted_request_is_eventually_admitted(config, answer_tokens, data) -> None:
    """The engine keeps stepping and finishes each sequence after ``answer_tokens`` decoded tokens:
    every request still waiting gets admitted exactly once, whatever came before."""
    sequence = data.draw(st.lists(operations(sorted(config["channel_weights"])), max_size=60))
    sched = build(IMPLS["rust"], config)
    pending: set[int] = set()  # accepted, neither admitted nor cancelled yet
    group_of: dict[int, int] = {}
    running: list[int] = []
    for op in sequence:
        op = resolve(op, running)
        result, error = outcome(IMPLS["rust"], sched, op)
        track(running, op, result, error)
        if op[0] == "submit" and error is None:
            pending.add(op[1])
            group_of[op[1]] = op[4]
        elif op[0] == "admit":
            pending.difference_update(result)
        elif op[0] == "preempt" and error is None:
            pending.add(op[1])  # paused: back in its queue, admitted again later
        elif op[0] == "cancel":
            pending.discard(op[1])
    assert sched.stats().waiting == len(pending)
    admitted, decoded = [], Counter()
    for _ in range(10_000):
        admitted.extend(sched.admit())
        plan = sched.plan()
        check_invariants(sched, config, (plan.decode, plan.prefill, plan.group))
        planned = [*plan.decode, *(i for i, _ in plan.prefill)]
        assert {group_of.get(i, plan.group) for i in planned} <= {plan.group}  # one adapter setting a step
        for request_id in plan.decode:
            decoded[request_id] += 1
            if decoded[request_id] == answer_tokens:
                sched.finish(request_id)
        stats = sched.stats()
        if stats.waiting == stats.running == 0:
            break
    else:
        pytest.fail("the scheduler never drained")
    assert sorted(admitted) == sorted(pending)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from(CHANNELS), st.integers(1, 12), min_size=2),
    st.integers(1, 4),
    st.integers(0, 60),
    st.data(),
)
def test_busy_channels_cannot_starve_a_light_one(weights, max_running, warmup, data) -> None:
    """Every channel but one stays busy; the other's one request still gets in after at most
    about weight_k / weight_victim admissions of each busy channel k."""
    victim = data.draw(st.sampled_from(sorted(weights)))
    sched = IMPLS["rust"].Scheduler(
        max_running=max_running, max_waiting=1000, step_tokens=max_running, channel_weights=weights
    )
    next_id = iter(range(1, 10**6))

    def refill() -> None:
        for channel in weights:
            if channel != victim and sched.stats().waiting_by_channel[channel] < 2:
                sched.submit(next(next_id), channel, 1)

    def step() -> list[int]:
        refill()
        picked = sched.admit()
        for request_id in picked:
            sched.finish(request_id)
        return picked

    for _ in range(warmup):
        step()
    sched.submit(0, victim, 1)
    others = 0
    bound = sum(w // weights[victim] + 1 for c, w in weights.items() if c != victim)
    while 0 not in (picked := step()):
        others += len(picked)
        assert others <= bound
    assert others + len(picked) - 1 <= bound
