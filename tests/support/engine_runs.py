"""Prompts rendered with the engine's own chat template, a whole generation collected, and a wait for what an engine's counters say."""

from __future__ import annotations

import asyncio

from aiclone_agent.chat.template import Message, PromptRenderer
from aiclone_agent.engine.base import SamplingParams


def prompt_for(engine, text: str, system: str = "You are helpful.") -> str:
    return PromptRenderer(engine.chat_template).render([Message("system", system), Message("user", text)])


async def run(engine, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"):
    chunks = [chunk async for chunk in engine.generate(prompt, params, request_id, channel)]
    return "".join(c.text for c in chunks), chunks


async def until(condition, timeout: float = 30.0) -> None:
    """Poll ``condition`` (an engine's counters, say) until it holds; AssertionError after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise AssertionError("condition not reached") from None


async def empty_cache(engine) -> None:
    """Clear every kept conversation (a call on the engine forgets them): new cells are then taken
    in order from the first. Greedy texts equal bit for bit only where a sequence's own cells lie in
    the same order (CPU attention sums over cells in cell order); a cell freed below a sequence's
    last one would take its next token out of that order."""
    await engine.run_in_engine(lambda _model, _ctx: None)
    assert engine.stats()["kv_cells_used"] == 0
