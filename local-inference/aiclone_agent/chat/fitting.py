"""Fits persona + retrieved chunks + history into the context window with the Rust core.

The model's Jinja chat template is reduced to per-role prefixes/suffixes (checked against the
Jinja rendering itself); ``clone_core.Tokenizer.fit`` then picks what fits, counting exactly as
the engine will. Templates that are not prefix/suffix shaped fall back to rendering with Jinja
and counting whole prompts (``chat/context.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import clone_core
from aiclone_agent.chat.context import ContextOverflowError, FittedPrompt, fit_prompt
from aiclone_agent.chat.template import Message, PromptRenderer, Role

log = logging.getLogger(__name__)
ROLES: tuple[Role, ...] = ("system", "user", "assistant")
_MARK = ("\x01{}\x02", "\x03{}\x04")
ZERO_WIDTH = "\u200b"


def derive_core_template(renderer: PromptRenderer, bos: str) -> clone_core.ChatTemplate | None:
    """Per-role prefix/suffix of the model's template, or None when it is not shaped that way.

    ``bos`` counts as the template's BOS only if the template inserts ``bos_token`` itself."""
    if "bos_token" not in renderer.source:
        bos = ""
    marks = {role: f"\x01{role}\x02" for role in ROLES}
    sample = [Message(role, marks[role]) for role in ROLES] + [Message("user", "\x01again\x02")]
    try:
        closed = renderer.render(sample, add_generation_prompt=False)
        opened = renderer.render(sample, add_generation_prompt=True)
    except Exception:  # noqa: BLE001 - any template failure means: use the Jinja fallback
        return None
    if not opened.startswith(closed):
        return None
    generation_prompt = opened[len(closed):]
    cuts = [closed.find(marks[r]) for r in ROLES] + [closed.find("\x01again\x02")]
    if -1 in cuts or cuts != sorted(cuts):
        return None
    head = closed[: cuts[0]]
    between = [
        closed[cuts[i] + len(sample[i].content) : cuts[i + 1]] for i in range(3)
    ]  # system->user, user->assistant, assistant->user
    suffix = closed[cuts[3] + len("\x01again\x02") :]  # the user suffix
    if not all(part.startswith(suffix) for part in between):
        return None
    prefixes = {
        "system": head[len(bos):] if bos and head.startswith(bos) else head,
        "user": between[0][len(suffix):],
        "assistant": between[1][len(suffix):],
    }
    if between[2][len(suffix):] != prefixes["user"]:
        return None
    template = clone_core.ChatTemplate(
        prefixes=prefixes,
        suffixes=dict.fromkeys(ROLES, suffix),
        generation_prompt=generation_prompt,
        bos=bos if head.startswith(bos) else "",
    )
    probe = [Message("system", "S"), Message("user", "U1"), Message("assistant", "A1"), Message("user", "U2")]
    if template.render([(m.role, m.content) for m in probe]) != renderer.render(probe):
        return None
    return template


class PromptFitter:
    def __init__(self, renderer: PromptRenderer, tokenizer: clone_core.Tokenizer, bos: str) -> None:
        self.renderer = renderer
        self.tokenizer = tokenizer
        self.template = derive_core_template(renderer, bos)
        self._specials = sorted(tokenizer.special_tokens, key=len, reverse=True)
        if self.template is None:
            log.warning("chat template is not prefix/suffix shaped: fitting prompts with Jinja (slower)")

    def neutralize(self, text: str) -> str:
        """User text cannot smuggle control tokens (``<|im_start|>system``) into the prompt."""
        for special in self._specials:
            if special in text:
                text = text.replace(special, special[:1] + ZERO_WIDTH + special[1:])
        return text

    def fit(
        self, system: str, messages: Sequence[Message], *, n_ctx: int, reserve: int, chunks: Sequence[str] = ()
    ) -> FittedPrompt:
        messages = [Message(m.role, self.neutralize(m.content)) for m in messages]
        chunks = [self.neutralize(c) for c in chunks]
        if reserve >= n_ctx:
            raise ContextOverflowError(
                f"max_tokens ({reserve}) leaves no room for the prompt in a {n_ctx}-token context"
            )
        if self.template is None or not system:  # no system message: the template may add its own
            return self._fit_with_jinja(system, list(messages), chunks, n_ctx, reserve)
        try:
            result = self.tokenizer.fit(
                self.template, system, chunks, [(m.role, m.content) for m in messages], n_ctx, reserve
            )
        except clone_core.ContextOverflowError as exc:
            raise ContextOverflowError(f"the system prompt does not fit the context window: {exc}") from exc
        if messages and result.messages[-1:] != [len(messages) - 1]:
            raise ContextOverflowError(
                f"the system prompt and the message need more than the {n_ctx - reserve} tokens available "
                f"(context {n_ctx}, {reserve} reserved for the answer): shorten them or lower max_tokens"
            )
        kept = [messages[i] for i in result.messages]
        head = [Message("system", system)] if system else []
        return FittedPrompt(
            result.prompt, head + kept, result.prompt_tokens, len(messages) - len(kept), list(result.chunks)
        )

    def _fit_with_jinja(
        self, system: str, messages: list[Message], chunks: list[str], n_ctx: int, reserve: int
    ) -> FittedPrompt:
        """Slow path: the most chunks (by rank) that still fit, in the system message as the Rust
        core would put them."""
        for kept in range(len(chunks), -1, -1):
            context = clone_core.DEFAULT_CONTEXT_HEADER + "\n\n".join(chunks[:kept]) if kept else ""
            try:
                fitted = fit_prompt(
                    self.renderer, self._count, system + context, messages, n_ctx=n_ctx, reserve=reserve
                )
            except ContextOverflowError:
                if kept == 0:
                    raise
                continue
            fitted.chunks.extend(range(kept))
            return fitted
        raise AssertionError("unreachable")

    def _count(self, text: str) -> int:
        return self.tokenizer.count(text, parse_special=True) + int(self.tokenizer.add_bos)
