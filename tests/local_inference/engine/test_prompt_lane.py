"""The prompt lane, with the real tiny model: a prompt longer than a batch that arrives while answers
stream is read in whole batches in a second context, paused for every step of the answers, which
keep flowing; a read given up, or taken back for a model change or for the owner, loses nothing.
(The lane's cells give bit for bit the logits of the main context's own reading:
``test_llama_context.py``. Whole answers are not compared: a greedy text follows the layout of the
batches its tokens were computed in, and a step beside another answer is laid out otherwise than a
step alone.)"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.engine.selector import load_engine
from tests.support.engine_runs import empty_cache, prompt_for, run, until

N_BATCH = 64
LONG_ANSWER = "List the numbers from 1 to 100, one per line."
GREEDY = SamplingParams(max_tokens=24, temperature=0.0)


def engine_with_slots(model_path: Path, parallel: int):
    """Small batches, so a prompt of a few hundred tokens is read in many lane steps."""
    engine = load_engine(
        ModelSection(
            base_model_path=str(model_path), n_ctx=4096, parallel=parallel, n_batch=N_BATCH, max_queue=4
        ),
        model_path.parent,
    )
    yield engine
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def lane_engine(model_path: Path):
    yield from engine_with_slots(model_path, 3)


def long_prompt(engine, opening: str) -> str:
    return prompt_for(engine, opening + " " + " ".join(f"Note {i} says the day was mild." for i in range(60)))


def lane(engine) -> dict:
    return engine.stats()["prompt_lane"]


async def test_a_long_prompt_beside_streaming_answers_is_read_in_the_lane_while_they_flow(lane_engine):
    engine = lane_engine
    prompt = long_prompt(engine, "Read these notes.")
    n_long = engine.count_tokens(prompt)
    assert n_long > 4 * N_BATCH
    before = lane(engine)
    assert before["enabled"]
    events: list[str] = []
    answering = [asyncio.Event(), asyncio.Event()]

    async def answer(i: int) -> None:
        async for _ in engine.generate(
            prompt_for(engine, LONG_ANSWER), SamplingParams(max_tokens=400, temperature=0.0), f"flow-{i}"
        ):
            events.append("answer")
            answering[i].set()
            if "long first" in events:
                return  # the stream is closed: the answer is aborted

    answers = [asyncio.create_task(answer(i)) for i in range(2)]
    for event in answering:
        await event.wait()
    events.append("long sent")
    text = ""
    async for chunk in engine.generate(prompt, GREEDY, "flow-long"):
        if not text:
            events.append("long first")
        text += chunk.text
    await asyncio.gather(*answers)

    after = lane(engine)
    assert text
    assert after["handoffs"] == before["handoffs"] + 1
    assert after["reads"] == before["reads"] + 1
    assert after["taken_back"] == before["taken_back"]
    assert after["tokens"] - before["tokens"] > n_long - 2 * N_BATCH  # the persona's prefix was lent
    # the lane's steps: each a whole batch, with the answers' steps between them
    lane_steps = math.ceil(n_long / N_BATCH)
    during = events[events.index("long sent") : events.index("long first")].count("answer")
    assert during > lane_steps, (during, lane_steps)
    assert after["pauses"] > before["pauses"]


async def test_a_long_prompt_given_up_during_its_read_frees_the_lane_for_the_next(lane_engine):
    engine = lane_engine
    beside = engine.generate(
        prompt_for(engine, LONG_ANSWER), SamplingParams(max_tokens=400, temperature=0.0), "give-up-beside"
    )
    await anext(beside)
    before = lane(engine)
    given_up = engine.generate(long_prompt(engine, "First notes."), GREEDY, "given-up")
    reading = asyncio.ensure_future(anext(given_up))
    await until(lambda: lane(engine)["handoffs"] > before["handoffs"])
    reading.cancel()
    await given_up.aclose()  # the client went away mid-read
    text, _ = await run(engine, long_prompt(engine, "Second notes."), GREEDY, "after-give-up")
    rest = [chunk async for chunk in beside]

    after = lane(engine)
    assert text
    assert after["handoffs"] == before["handoffs"] + 2
    assert after["reads"] == before["reads"] + 1  # only the second was read to its end
    assert rest[-1].finish_reason is not None  # the answer beside ran to its end


async def test_a_model_change_mid_read_takes_the_prompt_back_and_it_is_read_here(lane_engine):
    """A call on the engine (an adapter loaded, say) may change what the model computes: the lane's
    read stops before the call runs, what it read lands in the main context, and the rest is read
    after it (by the lane again: still more than a batch, beside an answer)."""
    engine = lane_engine
    beside = engine.generate(
        prompt_for(engine, LONG_ANSWER), SamplingParams(max_tokens=400, temperature=0.0), "call-beside"
    )
    await anext(beside)
    before = lane(engine)
    reading = asyncio.ensure_future(
        run(engine, long_prompt(engine, "Notes for a call."), GREEDY, "call-long")
    )
    await until(lambda: lane(engine)["handoffs"] > before["handoffs"])
    await engine.run_in_engine(lambda _model, _ctx: None)
    text, chunks = await reading
    await beside.aclose()

    after = lane(engine)
    assert text and chunks[-1].finish_reason is not None
    assert after["taken_back"] == before["taken_back"] + 1


@pytest.fixture(scope="module")
def full_lane_engine(model_path: Path):
    """Two slots: with an API answer streaming and a long API prompt in the lane, every slot is busy."""
    yield from engine_with_slots(model_path, 2)


async def test_the_owner_pauses_a_prompt_in_the_lane_which_resumes_from_what_it_read(full_lane_engine):
    engine = full_lane_engine
    prompt = long_prompt(engine, "Notes the owner interrupts.")
    await empty_cache(engine)
    beside = engine.generate(
        prompt_for(engine, LONG_ANSWER), SamplingParams(max_tokens=400, temperature=0.0), "owner-beside"
    )
    await anext(beside)
    before = engine.stats()
    reading = asyncio.ensure_future(run(engine, prompt, GREEDY, "owner-lane"))
    await until(lambda: lane(engine)["tokens"] > before["prompt_lane"]["tokens"])  # a lane step is done
    owner_text, _ = await run(engine, prompt_for(engine, "Say hello."), GREEDY, "owner", "owner")
    text, chunks = await reading
    rest = [chunk async for chunk in beside]

    after = engine.stats()
    assert owner_text and text and chunks[-1].finish_reason is not None
    assert after["preemptions"] == before["preemptions"] + 1
    assert after["prompt_lane"]["taken_back"] == before["prompt_lane"]["taken_back"] + 1
    # what the lane had read (a step of N_BATCH tokens at least) was kept, not computed again
    computed = after["prompt_tokens_computed"] - before["prompt_tokens_computed"]
    assert computed <= engine.count_tokens(prompt) + engine.count_tokens(prompt_for(engine, "Say hello."))
    assert rest[-1].finish_reason is not None


@pytest.fixture(scope="module")
def one_slot_lane_engine(model_path: Path):
    yield from engine_with_slots(model_path, 1)


async def test_with_one_slot_the_owner_does_not_wait_for_a_read_in_the_lane(one_slot_lane_engine):
    """One slot, held by an API prompt the lane reads (another API request waits, so it went there):
    the owner's request takes the slot at once, the read stops where it is, and both API requests
    are answered after the owner."""
    engine = one_slot_lane_engine
    before = engine.stats()
    events: list[str] = []

    async def api(name: str, prompt: str) -> None:
        text, _ = await run(engine, prompt, GREEDY, name)
        assert text
        events.append(name)

    first = asyncio.ensure_future(api("long", long_prompt(engine, "Notes for one slot.")))
    await until(lambda: engine.stats()["prompt_tokens_computed"] > before["prompt_tokens_computed"])
    second = asyncio.ensure_future(api("waiting", prompt_for(engine, "Say goodbye.")))
    await until(lambda: lane(engine)["tokens"] > before["prompt_lane"]["tokens"])  # the lane reads it
    owner, _ = await run(engine, prompt_for(engine, "Say hello."), GREEDY, "one-slot-owner", "owner")
    events.append("owner")
    await asyncio.gather(first, second)

    after = engine.stats()
    assert owner and events[0] == "owner"
    assert after["prompt_lane"]["handoffs"] >= before["prompt_lane"]["handoffs"] + 1
    assert after["prompt_lane"]["taken_back"] == before["prompt_lane"]["taken_back"] + 1
    assert after["preemptions"] == before["preemptions"] + 1
