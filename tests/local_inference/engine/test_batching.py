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
from tests.support.engine_runs import prompt_for, run, until

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
    # One at a time: a request that ends beside others frees its KV cells, and the others' next
    # cells may then sit out of position order, which changes the float sums of attention (llama.cpp
    # adds cells in cache order): greedy answers are equal only from equal cache layouts.
    again, _ = await run(wide_engine, prompt, SamplingParams(max_tokens=30, temperature=0.0), "again")
    short, short_chunks = await run(
        wide_engine, prompt, SamplingParams(max_tokens=5, temperature=0.0), "short"
    )
    stopped, stop_chunks = await run(
        wide_engine, prompt, SamplingParams(max_tokens=30, temperature=0.0, stop=(stop,)), "stopped"
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
    await until(lambda: wide_engine.stats()["running"] == 0)


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
    await until(lambda: wide_engine.stats()["running"] == 0 and wide_engine.stats()["waiting"] == 0)


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


async def test_finished_conversations_wait_in_ram_and_their_next_turn_takes_their_cells_back(wide_engine):
    """A finished conversation leaves the KV cache (every step's attention would scan its cells)
    and waits in RAM; its next turn copies its cells back and computes only the new tokens."""
    greedy = SamplingParams(max_tokens=12, temperature=0.0)
    prompts = {
        name: prompt_for(wide_engine, f"{name} says hello and asks about rivers.") for name in NAMES[:2]
    }
    answers = {}
    for name, prompt in prompts.items():
        answers[name], _ = await run(wide_engine, prompt, greedy, f"ram-{name}", "web")
    kept = wide_engine.stats()
    assert kept["running"] == 0
    assert kept["kv_cells_used"] == 0
    assert kept["cached_sequences"] >= 2
    assert 0 < kept["cache_ram_bytes"] <= kept["cache_ram_limit_bytes"]

    name = NAMES[0]
    follow = next_turn(prompts[name], answers[name])
    continued, _ = await run(wide_engine, follow, greedy, f"ram-{name}-2", "web")
    after = wide_engine.stats()
    assert after["prefix_cache"]["restored"] == kept["prefix_cache"]["restored"] + 1
    reused = after["prefix_cache"]["hit_tokens"] - kept["prefix_cache"]["hit_tokens"]
    assert reused >= wide_engine.count_tokens(prompts[name])
    assert (
        after["prompt_tokens_computed"] - kept["prompt_tokens_computed"]
        == wide_engine.count_tokens(follow) - reused
    )
    assert continued
    assert after["cached_sequences"] == kept["cached_sequences"]  # the longer conversation replaced the old

    await wide_engine.run_in_engine(lambda _model, _ctx: None)  # the model changed: nothing cached is valid
    assert wide_engine.stats()["cached_sequences"] == 0
    assert wide_engine.stats()["cache_ram_bytes"] == 0


async def test_kept_conversations_stay_within_cache_ram_mib_and_the_oldest_go_first(model_path: Path):
    """At most ``model.cache_ram_mib`` of kept conversations: the oldest are dropped, a recent one
    still continues from its cells; 0 keeps none."""
    greedy = SamplingParams(max_tokens=4, temperature=0.0)
    text = {name: " ".join(f"{name} line {i}: the quick brown fox." for i in range(12)) for name in NAMES}
    for limit_mib, names in ((7, NAMES[:4]), (0, NAMES[:2])):  # each conversation: ~150 tokens of 23 KB
        engine = load_engine(
            ModelSection(base_model_path=str(model_path), n_ctx=1024, parallel=1, cache_ram_mib=limit_mib),
            model_path.parent,
        )
        try:
            prompts = {name: prompt_for(engine, text[name]) for name in names}
            answers = {}
            for name in names:  # one after another: each is kept when it ends
                answers[name], _ = await run(engine, prompts[name], greedy, f"limit-{name}", "web")
                assert engine.stats()["cache_ram_bytes"] <= limit_mib * 2**20
            stats = engine.stats()
            if limit_mib == 0:
                assert stats["cached_sequences"] == 0
            else:
                assert 0 < stats["cached_sequences"] < len(names)
                assert stats["prefix_cache"]["dropped"] >= len(names) - stats["cached_sequences"]

            async def reused_by_next_turn(name: str, engine=engine, answers=answers, prompts=prompts) -> int:
                before = engine.stats()["prefix_cache"]["hit_tokens"]
                await run(engine, next_turn(prompts[name], answers[name]), greedy, f"limit-{name}-2", "web")
                return engine.stats()["prefix_cache"]["hit_tokens"] - before

            newest, oldest = names[-1], names[0]
            newest_reused = await reused_by_next_turn(newest)
            oldest_reused = await reused_by_next_turn(oldest)
            assert oldest_reused < engine.count_tokens(prompts[oldest]) // 2
            if limit_mib:
                assert newest_reused >= engine.count_tokens(prompts[newest])
            else:
                assert newest_reused < engine.count_tokens(prompts[newest]) // 2
        finally:
            await engine.close()


def next_turn(prompt: str, answer: str) -> str:
    """The conversation's next prompt: ``prompt`` and its ``answer``, then one more question."""
    return prompt + answer + "<|im_end|>\n<|im_start|>user\nAnd then?<|im_end|>\n<|im_start|>assistant\n"


NAMES = ["dora", "eve", "fay", "gus", "hal", "ivy"]
