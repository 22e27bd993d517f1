"""A statement and the question about it key to the same fact; facts about others do not."""

from __future__ import annotations

import pytest

import clone_core
from aiclone_agent.memory.subjects import asked_subject, stated_subject

TERMS = clone_core.LexicalIndex().analyze


@pytest.mark.parametrize(
    ("statement", "update", "question"),
    [
        ("My dog's name is Rex.", "Actually my dog is called Max now.", "What's my dog's name?"),
        ("I live in Berlin.", "I moved to Lisbon last month!", "Where do I live?"),
        (
            "My favourite colour is green.",
            "I changed my mind, my favourite colour is blue.",
            "What's my favourite colour?",
        ),
        ("Мою собаку зовут Рекс.", "Кстати, мою собаку теперь зовут Бим.", "Как зовут мою собаку?"),
        ("Я живу в Казани.", "Я переехал в Томск.", "Где я живу?"),
        ("Мой любимый цвет — зелёный.", "Теперь мой любимый цвет — синий.", "Какой мой любимый цвет?"),
        ("Я работаю врачом.", "Теперь я работаю учителем.", "Где я работаю?"),
    ],
)
def test_statement_update_and_question_share_a_key(statement, update, question):
    key = stated_subject(statement, TERMS)
    assert key is not None
    assert stated_subject(update, TERMS) == key
    assert asked_subject(question, TERMS) == key


@pytest.mark.parametrize(
    "statement",
    [
        "My friend Anna has a dog called Luna.",
        "My friend Anna's dog is called Luna.",
        "У моего друга Пети есть собака по кличке Бим.",
    ],
)
def test_another_persons_fact_is_not_the_speakers(statement):
    assert stated_subject(statement, TERMS) != stated_subject("My dog's name is Rex.", TERMS)


@pytest.mark.parametrize("text", ["Tell me a joke.", "How do I boil an egg?", "Расскажи анекдот."])
def test_small_talk_states_nothing(text):
    assert stated_subject(text, TERMS) is None


@pytest.mark.parametrize(
    ("statement", "question"),
    [
        ("I work as a nurse.", "What's my profession?"),
        ("My job is teaching.", "Where do I work?"),
        ("Я работаю врачом.", "Какая у меня профессия?"),
        ("I live in Riga.", "Which city am I based in these days?"),
    ],
)
def test_other_words_for_the_same_fact_share_its_key(statement, question):
    assert stated_subject(statement, TERMS) == asked_subject(question, TERMS) is not None
