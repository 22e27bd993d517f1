"""Answers over Telegram's 4,096-character limit are split where a reader expects a break."""

from __future__ import annotations

from aiclone_agent.telegram.splitting import TELEGRAM_LIMIT, split_message


def test_short_text_is_one_message():
    assert split_message("  Hello there.  ") == ["Hello there."]
    assert split_message("   ") == []


def test_paragraphs_are_kept_whole_when_they_fit():
    paragraphs = [f"Paragraph {i}. " + "word " * 150 for i in range(12)]
    parts = split_message("\n\n".join(paragraphs))
    assert len(parts) > 1
    assert all(len(p) <= TELEGRAM_LIMIT for p in parts)
    for part in parts:  # every part starts at a paragraph start
        assert part.startswith("Paragraph ")
    assert "".join(parts).replace("\n", "").replace(" ", "") == "".join(paragraphs).replace(" ", "")


def test_a_huge_paragraph_splits_on_sentences_then_words():
    sentence = "Это длинное предложение о море и кораблях. "
    text = sentence * 300 + "x" * 5000
    parts = split_message(text)
    assert all(len(p) <= TELEGRAM_LIMIT for p in parts)
    assert parts[0].endswith("кораблях.")
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")
