"""Prompt fitting: exact counts, budget respected, priorities, errors; Rust equals reference."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clone_core
from tests.rust_core import reference

SYSTEM = "Ты — цифровой клон. Answer briefly."


def conversation(n: int) -> list[tuple[str, str]]:
    return [("user" if i % 2 == 0 else "assistant", f"Сообщение {i}: " + "слово word " * (i % 7 + 1)) for i in range(n)]


def test_everything_fits_and_prompt_is_exact(tok, chatml) -> None:
    msgs = conversation(6)
    fit = tok.fit(chatml, SYSTEM, ["chunk one.", "chunk two."], msgs, 4096, 256)
    assert fit.messages == list(range(6)) and fit.chunks == [0, 1]
    assert fit.prompt_tokens == len(tok.encode(fit.prompt, add_special=True, parse_special=True))
    assert fit.prompt == chatml.render(
        [("system", SYSTEM + clone_core.DEFAULT_CONTEXT_HEADER + "chunk one.\n\nchunk two."), *msgs]
    )


def test_equals_llama_cpp_count(tok, chatml, llama) -> None:
    fit = tok.fit(chatml, SYSTEM, ["Факт: 42."], conversation(10), 2048, 100)
    assert fit.prompt_tokens == len(llama.tokenize(fit.prompt.encode(), add_bos=True, special=True))


@pytest.mark.parametrize("n_ctx", [60, 90, 130, 200, 300, 500])
def test_budget_and_priorities(tok, chatml, n_ctx: int) -> None:
    msgs = conversation(12)
    chunks = ["Первый фрагмент знаний.", "Second chunk of knowledge.", "Третий."]
    fit = tok.fit(chatml, SYSTEM, chunks, msgs, n_ctx, 20)
    assert fit.prompt_tokens + 20 <= n_ctx
    assert fit.prompt_tokens == tok.count(fit.prompt, parse_special=True)
    assert fit.messages == list(range(len(msgs) - len(fit.messages), len(msgs)))
    assert fit.chunks == list(range(len(fit.chunks)))
    if len(fit.messages) > 1:
        assert len(fit.chunks) == len(chunks) or fit.chunks, "chunks come before older messages"


def test_system_prompt_too_long(tok, chatml) -> None:
    with pytest.raises(clone_core.ContextOverflowError, match="system prompt"):
        tok.fit(chatml, "слово " * 500, [], [("user", "hi")], 512, 64)


@pytest.mark.parametrize(("n_ctx", "reserve"), [(0, 0), (-5, 0), (100, -1), (100, 100), (100, 500)])
def test_bad_budgets(tok, chatml, n_ctx: int, reserve: int) -> None:
    with pytest.raises(clone_core.InvalidInputError):
        tok.fit(chatml, SYSTEM, [], [], n_ctx, reserve)


def test_unknown_role(tok, chatml) -> None:
    with pytest.raises(clone_core.InvalidInputError, match="robot"):
        tok.fit(chatml, SYSTEM, [], [("robot", "beep")], 1000, 10)


def test_soft_template_is_still_exact(tok) -> None:
    roles = ("system", "user", "assistant")
    plain = clone_core.ChatTemplate({r: f"{r.title()}: " for r in roles}, dict.fromkeys(roles, "\n"), "Assistant:")
    for n_ctx in range(40, 200, 7):
        fit = tok.fit(plain, SYSTEM, ["a b c"], conversation(8), n_ctx, 10)
        assert fit.prompt_tokens == len(tok.encode(fit.prompt, add_special=True, parse_special=True))
        assert fit.prompt_tokens + 10 <= n_ctx


MSG = st.tuples(st.sampled_from(["user", "assistant"]), st.text(max_size=60))


@settings(max_examples=80, deadline=None)
@given(
    messages=st.lists(MSG, max_size=8),
    chunks=st.lists(st.text(min_size=1, max_size=40), max_size=4),
    n_ctx=st.integers(min_value=40, max_value=400),
)
def test_rust_equals_reference(tok, ref, chatml, chatml_ref, messages, chunks, n_ctx) -> None:
    try:
        expected = reference.fit(ref, chatml_ref, SYSTEM, chunks, messages, n_ctx, 16)
    except OverflowError:
        with pytest.raises(clone_core.ContextOverflowError):
            tok.fit(chatml, SYSTEM, chunks, messages, n_ctx, 16)
        return
    got = tok.fit(chatml, SYSTEM, chunks, messages, n_ctx, 16)
    assert (got.messages, got.chunks, got.prompt_tokens, got.prompt) == (
        expected.messages,
        expected.chunks,
        expected.prompt_tokens,
        expected.prompt,
    )
