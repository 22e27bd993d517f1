"""Continuous batching with the real tiny model: many streams in one context, no cross-talk,
a seed repeating its answer in the same batch, a freed slot goes to the next request at once,
full queues refused."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from aiclone_agent.chat.template import Message, PromptRenderer
from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import EngineBusyError, SamplingParams
from aiclone_agent.engine.selector import load_engine
from tests.support.engine_runs import prompt_for, run

CODE_WORDS = ["apple", "river", "candle", "violin", "tiger", "rocket", "garden", "mirror"]


@pytest.fixture(scope="module")
def wide_engine(model_path: Path):
    """Eight slots, a queue of two: what these tests need to see batching and its limits."""
    engine = load_engine(
        ModelSection(base_model_path=str(model_path), n_ctx=4096, parallel=8, max_queue=2), model_path.parent
    )
    yield engine
    asyncio.run(engine.close())


async def first_token(stream):
    async for chunk in stream:
        if chunk.text or chunk.finish_reason:
            return chunk
    raise AssertionError("the stream ended without a chunk")


async def test_eight_streams_each_repeat_their_own_code_word(wide_engine):
    greedy = SamplingParams(max_tokens=8, temperature=0.0)
    renderer = PromptRenderer(wide_engine.chat_template)
    prompts = {word: renderer.render([Message("user", f"Say the word {word}.")]) for word in CODE_WORDS}
    results = await asyncio.gather(*(run(wide_engine, p, greedy, f"word-{w}") for w, p in prompts.items()))
    for word, (text, _) in zip(prompts, results, strict=True):
        others = [w for w in CODE_WORDS if w != word]
        assert word in text.lower(), (word, text)
        assert not any(other in text.lower() for other in others), (word, text)
    assert wide_engine.stats()["steps"] > 0


async def all_in_one_step(engine, runs):
    """Await ``runs`` (each submits its request when it starts) with the decode thread held between
    two steps until every one is queued, so their prompts share the first step whatever the CPU's
    load. Left free, the thread starts on the first prompt as it arrives, and how many prompts share
    a step (so which of llama.cpp's kernels computes them) follows the scheduling of two threads."""
    entered, release = threading.Event(), threading.Event()

    def hold(_model, _ctx) -> None:
        entered.set()
        release.wait(60)

    held = asyncio.ensure_future(engine.run_in_engine(hold))
    assert await asyncio.to_thread(entered.wait, 60)
    tasks = [asyncio.ensure_future(one) for one in runs]
    await asyncio.sleep(0)  # one turn of the loop: every task submits before its first await
    release.set()
    await held
    return await asyncio.gather(*tasks)


async def test_a_seed_repeats_its_answer_and_another_seed_changes_only_its_own(model_path: Path):
    # Two fresh contexts run the same eight seeded prompts in one step each; in the second, the
    # first request has another seed. llama.cpp's float sums follow how a step's batch is laid out
    # (how many rows, which kernel, where the cells sit), so a seed repeats its answer under the
    # same layout, as in llama-server, and not always between a request alone and in a batch (the
    # same prompts read one at a time and then all in one step gave 1 of 8 equal answers at
    # temperature 0.5, 5 of 8 greedy; left to arrive on their own, how many shared a step followed
    # the CPU's load). A sampler shared between sequences, or one sequence reading another's
    # cells, would change the other seven answers too.
    def fresh():
        return load_engine(
            ModelSection(base_model_path=str(model_path), n_ctx=2048, parallel=8), model_path.parent
        )

    topics = ["the sea", "cats", "winter", "music", "trains", "bread", "the moon", "forests"]
    seeded = [SamplingParams(max_tokens=12, temperature=0.5, seed=100 + i) for i in range(len(topics))]
    reseeded = [SamplingParams(max_tokens=12, temperature=0.5, seed=7), *seeded[1:]]
    first, second = fresh(), fresh()
    try:
        prompts = [prompt_for(first, f"Tell me about {topic}.") for topic in topics]
        answers = []
        for engine, params in ((first, seeded), (second, reseeded)):
            runs = [
                run(engine, p, s, f"seeded-{i}") for i, (p, s) in enumerate(zip(prompts, params, strict=True))
            ]
            answers.append(
                [(text, chunks[-1].completion_tokens) for text, chunks in await all_in_one_step(engine, runs)]
            )
        before, after = answers
        assert all(tokens == 12 for _, tokens in before + after), (before, after)  # the same steps in both
        assert after[1:] == before[1:]
        assert after[0] != before[0]  # the seed is what made them equal
        assert len({text for text, _ in before}) == len(before)
    finally:
        await first.close()
        await second.close()


async def test_greedy_is_deterministic_and_limits_are_per_request(wide_engine):
    prompt = prompt_for(wide_engine, "Count from one to twenty in words, separated by commas.")
    free, free_chunks = await run(wide_engine, prompt, SamplingParams(max_tokens=30, temperature=0.0), "free")
    words = [w for w in free.replace(",", " ").split() if len(w) > 3]
    assert len(words) >= 3, free
    stop = words[2]
    (again, _), (short, short_chunks), (stopped, stop_chunks) = await asyncio.gather(
        run(wide_engine, prompt, SamplingParams(max_tokens=30, temperature=0.0), "again"),
        run(wide_engine, prompt, SamplingParams(max_tokens=5, temperature=0.0), "short"),
        run(wide_engine, prompt, SamplingParams(max_tokens=30, temperature=0.0, stop=(stop,)), "stopped"),
    )
    assert again == free
    assert short_chunks[-1].finish_reason == "length" and short_chunks[-1].completion_tokens == 5
    assert free.startswith(short)
    assert stopped == free[: free.index(stop)]
    assert stop_chunks[-1].finish_reason == "stop"
    assert free_chunks[-1].completion_tokens <= 30


async def test_aborting_one_of_eight_lets_the_ninth_start_at_once(wide_engine):
    long = SamplingParams(max_tokens=1500, temperature=0.7, seed=9)
    streams = [
        wide_engine.generate(prompt_for(wide_engine, f"Write a long story number {i}."), long, f"long-{i}")
        for i in range(8)
    ]
    try:
        await asyncio.gather(*(first_token(s) for s in streams))  # all eight are decoding
        ninth = wide_engine.generate(
            prompt_for(wide_engine, "Say yes."), SamplingParams(max_tokens=3, temperature=0.0), "ninth"
        )
        async with asyncio.timeout(30):  # no free slot: it waits
            while wide_engine.stats()["waiting"] != 1:
                await asyncio.sleep(0.02)
        await wide_engine.abort("long-3")
        chunks = [chunk async for chunk in ninth]
        assert chunks[-1].finish_reason == "length" and chunks[-1].completion_tokens == 3
        # it ran while the seven others were still far from their 1,500 tokens
        stats = wide_engine.stats()
        assert stats["running"] == 7 and stats["waiting"] == 0
        rest = [chunk async for chunk in streams[3]]
        assert rest[-1].finish_reason == "abort"
    finally:
        for stream in streams:
            await stream.aclose()
    await _until(lambda: wide_engine.stats()["running"] == 0)


async def test_a_full_queue_is_refused_with_a_retry_hint(wide_engine):
    long = SamplingParams(max_tokens=1500, temperature=0.7, seed=2)
    streams = [
        wide_engine.generate(prompt_for(wide_engine, f"Essay {i}."), long, f"full-{i}") for i in range(10)
    ]
    try:
        with pytest.raises(EngineBusyError) as refused:
            wide_engine.generate(prompt_for(wide_engine, "One more."), long, "one-too-many")
        assert refused.value.retry_after_s >= 1
        assert wide_engine.stats()["rejected"] >= 1
    finally:
        for stream in streams:
            await stream.aclose()
    await _until(lambda: wide_engine.stats()["running"] == 0 and wide_engine.stats()["waiting"] == 0)


async def test_next_turn_computes_only_its_new_tokens(wide_engine):
    renderer = PromptRenderer(wide_engine.chat_template)
    greedy = SamplingParams(max_tokens=8, temperature=0.0)
    system = Message("system", "You are a friendly clone. " * 20)
    conversations = {name: [system] for name in ("alice", "bob")}
    persona = wide_engine.count_tokens(renderer.render([system], add_generation_prompt=False))
    previous_prompt: dict[str, int] = {}
    for turn in range(2):
        for name, history in conversations.items():  # interleaved turn by turn
            history.append(Message("user", f"{name} asks question {turn}: what is {turn} plus {turn}?"))
            prompt = renderer.render(history)
            n_prompt = wide_engine.count_tokens(prompt)
            before = wide_engine.stats()
            answer, _ = await run(wide_engine, prompt, greedy, f"{name}-{turn}", "web")
            after = wide_engine.stats()
            computed = after["prompt_tokens_computed"] - before["prompt_tokens_computed"]
            reused = after["prefix_cache"]["hit_tokens"] - before["prefix_cache"]["hit_tokens"]
            assert computed + reused == n_prompt
            if turn == 0 and name == "bob":
                assert reused >= persona  # the persona prefix is computed once, then copied
            elif turn > 0:
                assert computed <= n_prompt - previous_prompt[name], (name, turn, computed)
            previous_prompt[name] = n_prompt
            history.append(Message("assistant", answer))


async def _until(condition, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached")


async def test_a_long_prompt_clears_the_kept_conversations_before_it_is_read(wide_engine):
    """Every chunk of a long prompt scans every kept conversation's cells (masked, still read): a
    prompt with more new tokens than one step takes clears them first; a short one keeps them."""
    greedy = SamplingParams(max_tokens=4, temperature=0.0)
    for name in ("alice", "bob"):
        await run(wide_engine, prompt_for(wide_engine, f"{name} says hello"), greedy, f"kept-{name}", "web")
    before = wide_engine.stats()
    assert before["cached_sequences"] >= 2
    await run(wide_engine, prompt_for(wide_engine, "carol says hello too"), greedy, "short", "web")
    after_short = wide_engine.stats()
    assert (
        after_short["prefix_cache"]["cleared_for_long_prompts"]
        == before["prefix_cache"]["cleared_for_long_prompts"]
    )
    assert after_short["cached_sequences"] >= before["cached_sequences"]

    text = " ".join(f"Line {i}: the quick brown fox jumps over the lazy dog." for i in range(80))
    long_prompt = prompt_for(wide_engine, text)
    assert wide_engine.count_tokens(long_prompt) > before["n_batch"]
    await run(wide_engine, long_prompt, greedy, "long", "web")
    after_long = wide_engine.stats()
    cleared = (
        after_long["prefix_cache"]["cleared_for_long_prompts"]
        - before["prefix_cache"]["cleared_for_long_prompts"]
    )
    assert cleared >= after_short["cached_sequences"] - 1  # one may have made room for its own slot
    assert after_long["cached_sequences"] == 1  # the long prompt's own conversation, kept for its next turn


async def test_kept_conversations_hold_at_most_a_quarter_of_the_cache_and_the_oldest_go_first(wide_engine):
    """A new request's cells go where llama.cpp's cache head is: above the kept conversations unless
    some were cleared below it. So kept ones hold at most a quarter of the cache; the least recently
    used are cleared when a request takes a slot, and a recent conversation still continues from its
    cells."""
    greedy = SamplingParams(max_tokens=4, temperature=0.0)
    budget = wide_engine.stats()["kv_cells_total"] // 4
    text = {name: " ".join(f"{name} line {i}: the quick brown fox." for i in range(36)) for name in NAMES}
    prompts = {name: prompt_for(wide_engine, text[name]) for name in NAMES}
    assert sum(wide_engine.count_tokens(p) for p in prompts.values()) > 2 * budget
    before = wide_engine.stats()
    answers = {}
    for name in NAMES:  # one after another: each is kept when it ends
        answers[name], _ = await run(wide_engine, prompts[name], greedy, f"budget-{name}", "web")
        assert wide_engine.stats()["kv_cells_kept"] <= budget + wide_engine.count_tokens(prompts[name]) + 4
    after = wide_engine.stats()
    assert after["prefix_cache"]["cleared_over_budget"] > before["prefix_cache"]["cleared_over_budget"]

    async def reused_by_next_turn(name: str) -> int:
        follow = (
            prompts[name]
            + answers[name]
            + "<|im_end|>\n<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n"
        )
        stats = wide_engine.stats()
        await run(wide_engine, follow, greedy, f"budget-{name}-2", "web")
        return wide_engine.stats()["prefix_cache"]["hit_tokens"] - stats["prefix_cache"]["hit_tokens"]

    newest, oldest = NAMES[-1], NAMES[0]
    assert await reused_by_next_turn(newest) >= wide_engine.count_tokens(prompts[newest])
    assert await reused_by_next_turn(oldest) < wide_engine.count_tokens(prompts[oldest]) // 2


NAMES = ["dora", "eve", "fay", "gus", "hal", "ivy"]
