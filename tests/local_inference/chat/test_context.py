"""Fitting persona + history into the context window with the model's own token counts."""

from __future__ import annotations

import pytest

from aiclone_agent.chat.context import ContextOverflowError, fit_prompt
from aiclone_agent.chat.template import Message, PromptRenderer


@pytest.fixture
def renderer(engine):
    return PromptRenderer(engine.chat_template)


def history(n: int) -> list[Message]:
    turns = []
    for i in range(n):
        turns.append(Message("user", f"Question number {i}: " + "words " * 40))
        turns.append(Message("assistant", f"Answer number {i}: " + "reply " * 40))
    return [*turns, Message("user", "The newest question?")]


def test_everything_fits_when_small(engine, renderer):
    fitted = fit_prompt(renderer, engine.count_tokens, "Persona.", history(2), n_ctx=2048, reserve=100)
    assert fitted.dropped == 0
    assert fitted.prompt_tokens == engine.count_tokens(fitted.prompt)


def test_oldest_messages_are_dropped_first_and_the_rest_fits_exactly(engine, renderer):
    messages = history(30)
    fitted = fit_prompt(renderer, engine.count_tokens, "Persona.", messages, n_ctx=1024, reserve=200)
    assert fitted.dropped > 0
    assert fitted.prompt_tokens + 200 <= 1024
    assert fitted.messages[0] == Message("system", "Persona.")
    assert fitted.messages[1:] == messages[fitted.dropped :]
    assert fitted.prompt.rstrip().endswith("<|im_start|>assistant")
    # one more message would not have fit
    bigger = renderer.render([Message("system", "Persona."), *messages[fitted.dropped - 1 :]])
    assert engine.count_tokens(bigger) + 200 > 1024


def test_system_prompt_that_cannot_fit_is_a_clear_error(engine, renderer):
    with pytest.raises(ContextOverflowError, match="shorten"):
        fit_prompt(renderer, engine.count_tokens, "word " * 3000, [Message("user", "hi")], n_ctx=1024, reserve=100)


def test_reserve_larger_than_context_is_an_error(engine, renderer):
    with pytest.raises(ContextOverflowError, match="max_tokens"):
        fit_prompt(renderer, engine.count_tokens, "x", [Message("user", "hi")], n_ctx=512, reserve=600)
