"""Prompts rendered with the engine's own chat template, and a whole generation collected."""

from __future__ import annotations

from aiclone_agent.chat.template import Message, PromptRenderer
from aiclone_agent.engine.base import SamplingParams


def prompt_for(engine, text: str, system: str = "You are helpful.") -> str:
    return PromptRenderer(engine.chat_template).render([Message("system", system), Message("user", text)])


async def run(engine, prompt: str, params: SamplingParams, request_id: str, channel: str = "api"):
    chunks = [chunk async for chunk in engine.generate(prompt, params, request_id, channel)]
    return "".join(c.text for c in chunks), chunks
