"""Rounds the person asked to be remembered are recognised in English and Russian."""

from __future__ import annotations

import pytest

from aiclone_agent.memory.importance import marked_important


@pytest.mark.parametrize(
    "question",
    [
        "Remember that my flight is on Friday.",
        "please remember: the wifi password changed",
        "Don't forget I'm vegetarian",
        "Запомни, что я не ем мясо.",
        "запомните: у меня аллергия на орехи",
        "Не забудь, что в пятницу встреча",
    ],
)
def test_asked_to_remember(question):
    assert marked_important(question)


@pytest.mark.parametrize(
    "question",
    [
        "Do you remember my dog's name?",
        "Ты помнишь, как зовут мою собаку?",
        "I can't remember when the shop opens",
        "What is the capital of France?",
        "Я запомнил дорогу",  # about themselves, not a request
    ],
)
def test_not_asked_to_remember(question):
    assert not marked_important(question)
