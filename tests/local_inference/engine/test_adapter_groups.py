"""Per-request adapter scales with the real model and a real converted LoRA: llama.cpp applies one
scale to a whole decode, so requests at different scales are decoded in turns, never mixed, and
each answers as it would alone; cached prefixes are only reused under the scale they were made with."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from aiclone_agent.adapter.gguf_lora import convert_peft_to_gguf
from aiclone_agent.core.config import ModelSection
from aiclone_agent.engine.base import SamplingParams
from aiclone_agent.engine.selector import load_engine
from tests.local_inference.adapter.models import write_peft_adapter
from tests.support.engine_runs import prompt_for, run

SCALES = (0.0, 1.0, 3.0)


@pytest.fixture(scope="module")
def adapted_engine(tmp_path_factory, model_path: Path):
    folder = tmp_path_factory.mktemp("lora")
    adapter = write_peft_adapter(
        folder / "peft", model_path, layers=range(0, 30, 3), rank=8, alpha=16, magnitude=0.04
    )  # strong enough that scales 0, 1 and 3 answer differently, mild enough to stay coherent:
    # a stronger adapter makes near-flat logits whose greedy pick flips with any batch layout
    lora = convert_peft_to_gguf(adapter.folder, folder / "adapter.gguf", model_path, progress=False)
    engine = load_engine(
        ModelSection(base_model_path=str(model_path), n_ctx=4096, parallel=6), model_path.parent
    )
    asyncio.run(engine.set_adapter(lora, 1.0))
    yield engine
    asyncio.run(engine.close())


def greedy(scale: float | None) -> SamplingParams:
    return SamplingParams(max_tokens=12, temperature=0.0, adapter_scale=scale)


@pytest.mark.slow
async def test_requests_at_three_scales_batched_answer_as_they_do_alone(adapted_engine):
    engine = adapted_engine
    prompt = prompt_for(engine, "Say something about the sea.")
    for scale in SCALES:  # warm each scale's prefix so alone and batched both start from a cached one
        await run(engine, prompt, greedy(scale), f"warm-{scale}")
    alone = {scale: (await run(engine, prompt, greedy(scale), f"alone-{scale}"))[0] for scale in SCALES}
    assert len(set(alone.values())) == 3, alone  # the scale really changes the answer
    default = (await run(engine, prompt, greedy(None), "default"))[0]
    assert default == alone[1.0]  # no scale of its own: the adapter's (set_adapter's 1.0)

    switches = engine.stats()["adapter_scale_switches"]
    batched = await asyncio.gather(
        *(run(engine, prompt, greedy(scale), f"batched-{scale}-{i}") for i in range(2) for scale in SCALES)
    )
    scales = [scale for _ in range(2) for scale in SCALES]
    got = [(scale, text) for (text, _), scale in zip(batched, scales, strict=True)]
    # Rounding may flip one near-tie between batch layouts (see test_batching); a step decoded at the
    # wrong scale would change every answer of that scale (at least two of six).
    wrong = [(scale, text) for scale, text in got if text != alone[scale]]
    assert len(wrong) <= 1, (alone, wrong)
    assert engine.stats()["adapter_scale_switches"] >= switches + 4  # three groups took turns


async def test_a_cached_prefix_is_reused_only_under_its_own_scale(adapted_engine):
    engine = adapted_engine
    prompt = prompt_for(engine, "Name three colours of the evening sky, please.")

    def hits() -> int:
        return engine.stats()["prefix_cache"]["hit_tokens"]

    await run(engine, prompt, greedy(2.0), "first")
    before = hits()
    await run(engine, prompt, greedy(0.5), "other-scale")
    other = hits() - before
    before = hits()
    await run(engine, prompt, greedy(2.0), "same-scale")
    same = hits() - before
    n_prompt = engine.count_tokens(prompt)
    assert same == n_prompt - 1  # the whole prompt but its last token came from scale 2.0's cells
    assert other < same  # scale 0.5 recomputed what it could not share (only a scale-0.5 prefix, if any)
