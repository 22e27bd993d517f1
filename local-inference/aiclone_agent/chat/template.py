"""Renders conversations with the model's own Jinja chat template (taken from the GGUF)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from aiclone_agent.engine.base import ChatTemplate, EngineError

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


def _raise(message: str) -> None:
    raise TemplateError(message)


class PromptRenderer:
    def __init__(self, template: ChatTemplate) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self._template = env.from_string(template.source)
        self.source = template.source
        self._chat_template = template

    def render(self, messages: list[Message], *, add_generation_prompt: bool = True) -> str:
        try:
            return self._template.render(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                add_generation_prompt=add_generation_prompt,
                bos_token=self._chat_template.bos_token,
                eos_token=self._chat_template.eos_token,
            )
        except TemplateError as exc:
            raise EngineError(f"the model's chat template failed: {exc}") from exc
