"""Fits system prompt + conversation into the model's context window.

The system message is always kept; the newest messages are kept first, whole messages only;
``reserve`` tokens stay free for the answer. Counts are exact: the rendered prompt is counted
with the engine's own tokenizer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiclone_agent.chat.template import Message, PromptRenderer
from aiclone_wire.errors import Problem, ProblemError


class ContextOverflowError(ProblemError, ValueError):
    """Even the system prompt and the newest message do not fit the context window."""

    def problem(self) -> Problem:
        return Problem(400, str(self), "context_length_exceeded", "messages")


@dataclass(frozen=True)
class FittedPrompt:
    prompt: str
    messages: list[Message]
    prompt_tokens: int
    dropped: int
    chunks: list[int] = field(default_factory=list)  # indices of the retrieved chunks kept, by rank


def fit_prompt(
    renderer: PromptRenderer,
    count_tokens: Callable[[str], int],
    system: str,
    messages: list[Message],
    *,
    n_ctx: int,
    reserve: int,
) -> FittedPrompt:
    budget = n_ctx - reserve
    if budget <= 0:
        raise ContextOverflowError(
            f"max_tokens ({reserve}) leaves no room for the prompt in a {n_ctx}-token context"
        )
    head = [Message("system", system)] if system else []

    def attempt(drop: int) -> tuple[str, int]:
        prompt = renderer.render(head + messages[drop:])
        return prompt, count_tokens(prompt)

    prompt, tokens = attempt(0)
    if tokens <= budget:
        return FittedPrompt(prompt, head + messages, tokens, 0)
    # Fewest dropped messages that fit: binary search, the newest message is never dropped.
    low, high = 1, len(messages) - 1
    best: tuple[int, str, int] | None = None
    while low <= high:
        middle = (low + high) // 2
        prompt, tokens = attempt(middle)
        if tokens <= budget:
            best, high = (middle, prompt, tokens), middle - 1
        else:
            low = middle + 1
    if best is None:
        raise ContextOverflowError(
            f"the system prompt and the message need more than the {budget} tokens available "
            f"(context {n_ctx}, {reserve} reserved for the answer): shorten them or lower max_tokens"
        )
    drop, prompt, tokens = best
    return FittedPrompt(prompt, head + messages[drop:], tokens, drop)
