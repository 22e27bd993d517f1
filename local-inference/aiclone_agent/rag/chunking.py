"""Splits extracted text into chunks with character offsets and a token bound.

Same shape as the Rust core's ``clone_core.Tokenizer.chunk(text, max_tokens, overlap_tokens)``
(``Chunk(.text, .start, .end, .tokens)``), which replaces this function when it lands.
Boundaries prefer paragraphs, then sentences, then words; ``text[start:end] == chunk.text``
always holds, so a citation's offsets point into the stored extracted text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n\s*\n|\s*$)", re.S)
_SENTENCE = re.compile(r"\S.*?(?:[.!?…]+(?=\s)|$)", re.S)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    end: int
    tokens: int


def _pieces(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    return [(start + m.start(), start + m.end()) for m in pattern.finditer(text[start:end])]


def _segments(text: str, count: Callable[[str], int], max_tokens: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) spans, each within ``max_tokens`` (a longer word is cut by characters)."""
    out: list[tuple[int, int, int]] = []

    def split(start: int, end: int, level: int) -> None:
        tokens = count(text[start:end])
        if tokens <= max_tokens:
            out.append((start, end, tokens))
            return
        if level < 2:
            pieces = _pieces(text, start, end, (_SENTENCE, _WORD)[level])
            if len(pieces) > 1:
                for piece_start, piece_end in pieces:
                    split(piece_start, piece_end, level + 1)
                return
        step = max(1, (end - start) * max_tokens // (tokens + 1))
        for piece_start in range(start, end, step):
            piece_end = min(end, piece_start + step)
            out.append((piece_start, piece_end, count(text[piece_start:piece_end])))

    for start, end in _pieces(text, 0, len(text), _PARAGRAPH):
        split(start, end, 0)
    return out


def chunk_text(text: str, count_tokens: Callable[[str], int], max_tokens: int, overlap_tokens: int = 0) -> list[Chunk]:
    segments = _segments(text, count_tokens, max_tokens)
    chunks: list[Chunk] = []
    first = 0
    while first < len(segments):
        last, total = first, segments[first][2]
        while last + 1 < len(segments) and total + segments[last + 1][2] <= max_tokens:
            last += 1
            total += segments[last][2]
        start, end = segments[first][0], segments[last][1]
        chunks.append(Chunk(text[start:end], start, end, count_tokens(text[start:end])))
        if last + 1 >= len(segments):
            break
        # Overlap: restart a few whole segments back, never at or before this chunk's start.
        back, carried = last + 1, 0
        while back - 1 > first and carried + segments[back - 1][2] <= overlap_tokens:
            back -= 1
            carried += segments[back][2]
        first = back
    return chunks
