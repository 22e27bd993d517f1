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
