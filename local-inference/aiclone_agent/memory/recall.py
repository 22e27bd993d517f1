"""Which of a person's rounds to put before the model: a hybrid score, a threshold, newest wins.

Each candidate (from the person's dense neighbours, their BM25 hits, their rounds inside the
question's time window and the newest round of the fact the question asks about) gets

    relevance = DENSE_WEIGHT * dense + LEXICAL_WEIGHT * coverage
                + SUBJECT_BONUS (the round states the fact asked about)
                + TIME_BONUS (the round falls in the question's time window)
    score     = relevance + RECENCY_WEIGHT * 2^(-age / RECENCY_HALF_LIFE) + PIN_BONUS (pinned)

where ``dense`` is the cosine rescaled so that e5's floor for unrelated text is 0 and a close
paraphrase is 1, and ``coverage`` the share of the question's terms (BM25's stemmed terms) that
the round contains. Rounds below ``THRESHOLD`` relevance are never shown, so a question about
nothing remembered recalls nothing. Among rounds stating the same fact only the newest is kept:
an update outranks and hides what it replaced, even when the old wording matches the question
better. Without an embedding model ``dense`` is left out and coverage carries the weight alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from aiclone_agent.memory.dates import TimeWindow
from aiclone_agent.memory.rows import Row

# multilingual-e5-small cosines, query vs passage: unrelated rounds reach about 0.81, a paraphrase
# with no word in common about 0.83-0.86 (measured on bench/memory_eval.py's rounds)
DENSE_FLOOR, DENSE_CEILING = 0.79, 0.89
# a close paraphrase passes on meaning alone, all the question's words on words alone
DENSE_WEIGHT, LEXICAL_WEIGHT = 0.7, 0.5
SUBJECT_BONUS = 0.5
TIME_BONUS = 0.5
THRESHOLD = 0.35
RECENCY_WEIGHT = 0.1
RECENCY_HALF_LIFE_DAYS = 30.0
PIN_BONUS = 0.1


@dataclass(frozen=True)
class Scored:
    row: Row
    relevance: float
    score: float


def rescale_dense(cosine: float) -> float:
    return min(1.0, max(0.0, (cosine - DENSE_FLOOR) / (DENSE_CEILING - DENSE_FLOOR)))


def coverage(query_terms: set[str], row_terms: set[str]) -> float:
    return len(query_terms & row_terms) / len(query_terms) if query_terms else 0.0


def score(
    row: Row,
    *,
    dense: float | None,
    lexical_coverage: float,
    asked_subject: str | None,
    window: TimeWindow | None,
    now: datetime,
) -> Scored:
    if dense is None:
        relevance = lexical_coverage
    else:
        relevance = DENSE_WEIGHT * rescale_dense(dense) + LEXICAL_WEIGHT * lexical_coverage
    if asked_subject is not None and row.subject == asked_subject:
        relevance += SUBJECT_BONUS
    at = datetime.fromtimestamp(row.at, now.tzinfo)
    if window is not None and window.contains(at):
        relevance += TIME_BONUS
    age_days = max(0.0, (now.timestamp() - row.at) / 86_400)
    recency = math.pow(2.0, -age_days / RECENCY_HALF_LIFE_DAYS)
    total = relevance + RECENCY_WEIGHT * recency + (PIN_BONUS if row.pinned else 0.0)
    return Scored(row, relevance, total)


def newest_wins(ranked: list[Scored]) -> list[Scored]:
    """Keeps, of the rounds stating the same fact, the newest only (at the best rank any of them had)."""
    newest: dict[str, Scored] = {}
    for item in ranked:
        subject = item.row.subject
        if subject is not None and (subject not in newest or item.row.at > newest[subject].row.at):
            newest[subject] = item
    kept: list[Scored] = []
    placed: set[str] = set()
    for item in ranked:
        subject = item.row.subject
        if subject is None:
            kept.append(item)
        elif subject not in placed:
            placed.add(subject)
            winner = newest[subject]
            kept.append(
                Scored(winner.row, max(winner.relevance, item.relevance), max(winner.score, item.score))
            )
    return kept


def rank(scored: list[Scored], limit: int, hidden: set[str] | frozenset[str] = frozenset()) -> list[Scored]:
    """The relevant ones, newest fact winning, best first (ties: newer first). ``hidden`` rounds
    (the current conversation's, those already in the prompt) are never returned, but one of them
    that updates a fact still hides the older rounds stating it."""
    ordered = sorted(scored, key=lambda item: (-item.score, -item.row.at, item.row.id))
    # newest wins before the threshold: an update worded unlike the question still replaces the
    # old round the question matched, instead of letting the old one through alone
    kept = newest_wins(ordered)
    return [item for item in kept if item.relevance >= THRESHOLD and item.row.id not in hidden][:limit]
