"""Priority beyond queue order, with the real tiny model: an owner request pauses a running API
answer and takes its slot, and the paused answer resumes from its kept KV cells with the very text
it would have had; while answers stream, a long prompt is read in budgeted chunks (without the
prompt lane, ``test_prompt_lane.py``: a GPU's way, and ``model.prompt_lane: false``)."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.engine.selector import load_engine
from tests.support.engine_runs import empty_cache, prompt_for, run

GREEDY = SamplingParams(max_tokens=64, temperature=0.0)
LONG_ANSWER = "List the numbers from 1 to 40, one per line."


@pytest.fixture(scope="module")
def one_slot_engine(model_path: Path):
    """One slot: an owner request can only run if the API answer in it gives way."""
    engine = load_engine(
        ModelSection(base_model_path=str(model_path), n_ctx=2048, parallel=1, max_queue=4), model_path.parent
    )
    yield engine
    asyncio.run(engine.close())


@pytest.fixture(scope="module")
def two_slot_engine(model_path: Path):
    """Two slots: an owner request finds a free one beside a streaming API answer. No prompt lane:
    a long prompt beside an answer is read here, in the chunks these tests look at."""
    engine = load_engine(
        ModelSection(base_model_path=str(model_path), n_ctx=2048, parallel=2, max_queue=4, prompt_lane=False),
        model_path.parent,
    )
    yield engine
    asyncio.run(engine.close())


async def test_an_owner_prompt_ends_in_a_step_of_its_own_beside_a_streaming_api_answer(two_slot_engine):
    """The step that reads the end of the owner's prompt decodes no API token: the owner's first
    token waits for no stranger's (they wait one short step); between equals nothing changes."""
    engine = two_slot_engine
    short = SamplingParams(max_tokens=4, temperature=0.0)
    before = engine.stats()["priority_prompt_steps"]
    api = engine.generate(prompt_for(engine, LONG_ANSWER), GREEDY, "api-beside", "api")
    for _ in range(3):
        await anext(api)  # decoding
    owner_text, _ = await run(engine, prompt_for(engine, "Say hello."), short, "owner-beside", "owner")
    assert owner_text
    assert engine.stats()["priority_prompt_steps"] == before + 1
    # another API request beside the API answer gets no step of its own
    other_text, _ = await run(engine, prompt_for(engine, "Say goodbye."), short, "api-other", "api")
    assert other_text
    rest = [chunk.text async for chunk in api]
    assert "".join(rest)  # the API answer went on after the pause of one step
    assert engine.stats()["priority_prompt_steps"] == before + 1


async def test_an_owner_request_pauses_an_api_answer_which_resumes_with_the_same_text(one_slot_engine):
    engine = one_slot_engine
    api_prompt = prompt_for(engine, LONG_ANSWER)
    await empty_cache(engine)
    alone, _ = await run(engine, api_prompt, GREEDY, "alone")
    await empty_cache(engine)  # read the same way as alone, its cells in the same order
    before = engine.stats()["preemptions"]

    events: list[str] = []
    api_chunks: list[str] = []
    api = engine.generate(api_prompt, GREEDY, "api-1", "api")
    async for chunk in api:
        api_chunks.append(chunk.text)
        if len(api_chunks) == 3:
            break  # decoding: now the owner asks
    owner_text, _ = await run(
        engine,
        prompt_for(engine, "Say hello."),
        SamplingParams(max_tokens=8, temperature=0.0),
        "owner-1",
        "owner",
    )
    events.append("owner done")
    async for chunk in api:
        api_chunks.append(chunk.text)
    events.append("api done")

    assert engine.stats()["preemptions"] == before + 1
    assert events == ["owner done", "api done"]
    assert owner_text
    assert "".join(api_chunks) == alone


async def test_owner_requests_one_after_another_pause_it_a_bounded_number_of_times(one_slot_engine):
    engine = one_slot_engine
    api_prompt = prompt_for(engine, LONG_ANSWER)
    await empty_cache(engine)
    alone, _ = await run(engine, api_prompt, GREEDY, "alone-2")
    await empty_cache(engine)
    before = engine.stats()["preemptions"]
    api = engine.generate(api_prompt, GREEDY, "api-2", "api")
    chunks = []
    for i in range(6):  # each owner request arrives while the API answer runs (or waits for its end)
        chunk = await anext(api, None)
        if chunk is None:
            break
        chunks.append(chunk)
        await run(
            engine,
            prompt_for(engine, f"Say {i}."),
            SamplingParams(max_tokens=4, temperature=0.0),
            f"o-{i}",
            "owner",
        )
    chunks += [chunk async for chunk in api]
    assert chunks[-1].finish_reason is not None
    assert 1 <= engine.stats()["preemptions"] - before <= 3
    assert "".join(c.text for c in chunks) == alone


class StepHook:
    """Runs ``submit`` on the event loop just before the decode thread's next ``llama_decode``
    (the decode thread waits for it), so a request arrives while that step is in flight, every
    time; the real step then runs, or is interrupted, in llama.cpp."""

    def __init__(self, engine, monkeypatch) -> None:
        self.context = engine._loop.context  # the engine's own llama.cpp context
        self.decode = self.context.decode
        self.submit = None
        self.loop = asyncio.get_running_loop()
        monkeypatch.setattr(self.context, "decode", self._decode)

    def arm(self, submit) -> None:
        self.submit = submit

    def _decode(self, entries) -> None:
        submit, self.submit = self.submit, None
        if submit is not None:
            asyncio.run_coroutine_threadsafe(submit(), self.loop).result(timeout=60)
        self.decode(entries)


async def test_an_owner_request_interrupts_a_step_in_flight_to_pause_an_answer_that_resumes_unchanged(
    one_slot_engine, monkeypatch
):
    """One slot, an API answer decoding: the owner's request stops the step in flight instead of
    waiting for its end; llama.cpp drops that step, the API answer is paused, the owner is answered
    alone, and the API answer resumes from its kept cells with the very text it had alone (the
    owner's text is not compared: its prompt shares the persona's cells, read in another batch)."""
    engine = one_slot_engine
    api_prompt, owner_prompt = prompt_for(engine, LONG_ANSWER), prompt_for(engine, "Say hello.")
    owner_params = SamplingParams(max_tokens=8, temperature=0.0)
    await empty_cache(engine)
    api_alone, _ = await run(engine, api_prompt, GREEDY, "api-alone-i")
    await empty_cache(engine)  # the same cells as alone: the answer's own lie in order of position
    hook = StepHook(engine, monkeypatch)
    before = engine.stats()

    api = engine.generate(api_prompt, GREEDY, "api-i", "api")
    api_chunks = [await anext(api) for _ in range(3)]  # decoding
    owner_streams = []

    async def owner_arrives() -> None:
        owner_streams.append(engine.generate(owner_prompt, owner_params, "owner-i", "owner"))

    hook.arm(owner_arrives)
    api_chunks += [chunk async for chunk in api]
    owner_text = "".join([chunk.text async for chunk in owner_streams[0]])

    after = engine.stats()
    assert after["interrupted_steps"] == before["interrupted_steps"] + 1
    assert after["preemptions"] == before["preemptions"] + 1
    assert owner_text
    assert "".join(c.text for c in api_chunks) == api_alone


async def test_an_owner_request_with_a_free_slot_interrupts_the_step_in_flight(two_slot_engine, monkeypatch):
    """Two slots, an API answer decoding: the owner's request takes the free slot and stops the
    step in flight; the step planned again reads the owner's prompt alone (its first token waits
    for no API token) and both answers then run to their end."""
    engine = two_slot_engine
    hook = StepHook(engine, monkeypatch)
    before = engine.stats()
    api = engine.generate(prompt_for(engine, LONG_ANSWER), GREEDY, "api-free", "api")
    api_chunks = [await anext(api)]
    owner_streams = []

    async def owner_arrives() -> None:
        owner_streams.append(
            engine.generate(
                prompt_for(engine, "Say hello."),
                SamplingParams(max_tokens=8, temperature=0.0),
                "o-free",
                "owner",
            )
        )

    hook.arm(owner_arrives)
    api_chunks += [chunk async for chunk in api]
    owner_chunks = [chunk async for chunk in owner_streams[0]]

    after = engine.stats()
    assert after["interrupted_steps"] == before["interrupted_steps"] + 1
    assert after["priority_prompt_steps"] == before["priority_prompt_steps"] + 1
    assert after["preemptions"] == before["preemptions"]
    assert "".join(c.text for c in owner_chunks) and owner_chunks[-1].finish_reason is not None
    assert api_chunks[-1].finish_reason is not None


@pytest.mark.parametrize("channel", ["api", "web"])
async def test_a_request_not_of_the_owner_waits_for_the_end_of_the_step_in_flight(
    two_slot_engine, monkeypatch, channel
):
    """Another API request, and a web visitor's (heavier than the API's, lighter than the owner's):
    neither interrupts the API's step in flight, which a stream of them would do step after step."""
    engine = two_slot_engine
    first_prompt, second_prompt = prompt_for(engine, LONG_ANSWER), prompt_for(engine, "Say goodbye.")
    short = SamplingParams(max_tokens=8, temperature=0.0)
    hook = StepHook(engine, monkeypatch)
    before = engine.stats()["interrupted_steps"]
    first = engine.generate(first_prompt, GREEDY, f"first-{channel}", "api")
    await anext(first)
    streams = []

    async def another_request() -> None:
        streams.append(engine.generate(second_prompt, short, f"second-{channel}", channel))

    hook.arm(another_request)
    assert [chunk async for chunk in first][-1].finish_reason is not None
    second = [chunk async for chunk in streams[0]]
    assert engine.stats()["interrupted_steps"] == before
    assert "".join(c.text for c in second) and second[-1].finish_reason is not None


@pytest.fixture(scope="module")
def budget_engine(model_path: Path):
    """Two slots and a tiny step target: once a step is measured, a prompt beside a decoding answer
    advances by the smallest budget, whatever the machine."""
    engine = load_engine(
        ModelSection(
            base_model_path=str(model_path),
            n_ctx=4096,
            parallel=2,
            step_target_ms=0.001,
            step_prompt_share=0,
            prompt_lane=False,
        ),
        model_path.parent,
    )
    yield engine
    asyncio.run(engine.close())


async def test_a_long_prompt_beside_a_running_answer_is_read_in_budgeted_steps(budget_engine):
    engine = budget_engine
    events: list[str] = []
    answering = asyncio.Event()
    long_prompt = prompt_for(engine, "Summarize this. " + " ".join(f"Item {i} is fine." for i in range(120)))
    n_long = engine.count_tokens(long_prompt)
    whole_batch_steps = math.ceil(n_long / (engine.stats()["n_batch"] - 1))

    async def running_answer() -> None:
        async for chunk in engine.generate(
            prompt_for(engine, LONG_ANSWER), SamplingParams(max_tokens=300, temperature=0.0), "run", "api"
        ):
            events.append("running")
            answering.set()
            if chunk.finish_reason:
                events.append("running done")

    async def long_request() -> str:
        events.append("long sent")
        text = ""
        async for chunk in engine.generate(
            long_prompt, SamplingParams(max_tokens=8, temperature=0.0), "long", "api"
        ):
            if not text:
                events.append("long first")
            text += chunk.text
        return text

    runner = asyncio.create_task(running_answer())
    await answering.wait()  # the answer decodes before the long prompt arrives
    text = await long_request()
    await runner
    assert text
    during = events[events.index("long sent") : events.index("long first")].count("running")
    # with the whole batch per step the prompt would take `whole_batch_steps` steps, one token of
    # the running answer each; budgeted, the answer keeps flowing through many more
    assert during > whole_batch_steps, (during, whole_batch_steps, n_long)
    assert engine.stats()["last_prompt_budget"] < engine.stats()["n_batch"]
    assert engine.stats()["prompt_lane"]["handoffs"] == 0  # ``model.prompt_lane: false``


async def test_a_long_prompt_beside_an_answer_is_read_in_chunks_that_shrink_as_it_deepens(two_slot_engine):
    """A token deep in a long prompt costs more than one near its start (it attends to all before
    it), so the prompt's last steps carry smaller chunks than its first: the answer's longest gap
    is no longer the prompt's last step."""
    engine = two_slot_engine
    n_batch = engine.stats()["n_batch"]
    long_prompt = prompt_for(
        engine, "Read this. " + " ".join(f"Note {i} says the weather was fine." for i in range(120))
    )
    assert engine.count_tokens(long_prompt) > 2 * n_batch
    answer = engine.generate(
        prompt_for(engine, LONG_ANSWER), SamplingParams(max_tokens=300, temperature=0.0), "beside-deep", "api"
    )
    await anext(answer)  # decoding before the long prompt arrives
    read = asyncio.create_task(
        run(engine, long_prompt, SamplingParams(max_tokens=1, temperature=0.0), "deep")
    )
    budgets: list[int] = []  # the prompt budget of each step the answer got a token in
    async for _ in answer:
        if read.done():
            break
        budget = engine.stats()["last_prompt_budget"]
        if not budgets or budget != budgets[-1]:
            budgets.append(budget)
    await read
    async for _ in answer:  # the answer goes on to its end
        pass
    assert 1e-3 < engine.stats()["attention_per_tile_cell"] < 5e-3  # SmolLM2-135M's shape
    # larger chunks early than late, the last below the quarter-batch floor of a shorter prompt
    assert budgets[0] > budgets[-1] and budgets[-1] < n_batch // 4, budgets
