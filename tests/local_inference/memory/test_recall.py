"""The ranking on its own: threshold, pins, recency, time windows and newest-wins."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from aiclone_agent.memory.dates import time_window
from aiclone_agent.memory.recall import THRESHOLD, rank, score
from aiclone_agent.memory.rows import Row

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=timezone.utc)


def row(memory_id: str, *, days: float, subject: str | None = None, pinned: bool = False) -> Row:
    at = (NOW - timedelta(days=days)).timestamp()
    return Row(memory_id, "user:a", f"text {memory_id}", at, "c", "web", pinned, subject)


def scored(
    r: Row, dense: float | None = 0.9, lexical: float = 0.5, asked: str | None = None, question: str = ""
):
    return score(
        r,
        dense=dense,
        lexical_coverage=lexical,
        asked_subject=asked,
        window=time_window(question, NOW),
        now=NOW,
    )


def test_below_the_threshold_nothing_is_returned():
    weak = scored(row("a", days=1), dense=0.79, lexical=0.0)
    assert weak.relevance < THRESHOLD
    assert rank([weak], 5) == []


def test_the_newest_round_of_a_fact_takes_the_best_rank_and_the_old_one_goes():
    old = scored(row("old", days=30, subject="dog"), dense=0.93, lexical=1.0)
    new = scored(row("new", days=1, subject="dog"), dense=0.80, lexical=0.0)  # worded unlike the question
    other = scored(row("other", days=2), dense=0.88, lexical=0.5)
    assert [item.row.id for item in rank([old, new, other], 5)] == ["new", "other"]


def test_a_hidden_update_still_hides_the_old_round():
    old = scored(row("old", days=30, subject="dog"))
    new = scored(row("new", days=0, subject="dog"))
    assert rank([old, new], 5, hidden={"new"}) == []


def test_pins_and_recency_break_ties():
    plain_old = scored(row("plain_old", days=60))
    plain_new = scored(row("plain_new", days=1))
    pinned_old = scored(row("pinned_old", days=60, pinned=True))
    assert rank([plain_old, plain_new, pinned_old], 5)[0].row.id == "pinned_old"
    assert [item.row.id for item in rank([plain_old, plain_new], 5)] == ["plain_new", "plain_old"]


def test_a_round_in_the_questions_time_window_outranks_a_closer_wording():
    yesterday = scored(row("y", days=1), dense=0.82, lexical=0.0, question="what did I do yesterday")
    last_month = scored(row("m", days=25), dense=0.86, lexical=0.0, question="what did I do yesterday")
    assert rank([last_month, yesterday], 5)[0].row.id == "y"


def test_without_a_dense_score_coverage_carries_the_relevance():
    found = scored(row("a", days=1), dense=None, lexical=1.0)
    missed = scored(row("b", days=1), dense=None, lexical=0.0)
    assert [item.row.id for item in rank([found, missed], 5)] == ["a"]
