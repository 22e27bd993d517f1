"""Splits long answers into Telegram-sized messages on paragraph, then sentence, then word boundaries."""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        joiner = "\n\n" if piece.startswith("\x00") else " "
        piece = piece.lstrip("\x00")
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = piece
    if current:
        parts.append(current)
    return parts


def _pieces(text: str, limit: int) -> list[str]:
    """Paragraph-first pieces no longer than ``limit``; a leading NUL marks a paragraph start."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        chunks = [paragraph] if len(paragraph) <= limit else _split_long(paragraph, limit)
        out.append("\x00" + chunks[0])
        out.extend(chunks[1:])
    return out


def _split_long(paragraph: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            pieces.append(sentence[:cut].rstrip())
            sentence = sentence[cut:].lstrip()
        if sentence:
            pieces.append(sentence)
    return pieces
