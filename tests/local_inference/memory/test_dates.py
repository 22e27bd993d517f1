"""Time references in English and Russian become windows relative to the question's "now"."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from aiclone_agent.memory.dates import time_window

NOW = datetime(2026, 3, 20, 15, 0, tzinfo=timezone.utc)  # a Friday


def day(days_back: int) -> datetime:
    return datetime(2026, 3, 20, tzinfo=timezone.utc) - timedelta(days=days_back)


@pytest.mark.parametrize(
    ("question", "start", "end"),
    [
        ("What did I do yesterday?", day(1), day(0)),
        ("Что я делал вчера?", day(1), day(0)),
        ("and the day before yesterday?", day(2), day(1)),
        ("а позавчера?", day(2), day(1)),
        ("what did I say today", day(0), day(-1)),
        (
            "What did I do last week?",
            datetime(2026, 3, 9, tzinfo=timezone.utc),
            datetime(2026, 3, 16, tzinfo=timezone.utc),
        ),
        (
            "Что я делал на прошлой неделе?",
            datetime(2026, 3, 9, tzinfo=timezone.utc),
            datetime(2026, 3, 16, tzinfo=timezone.utc),
        ),
        ("What did I tell you 2 days ago?", day(2), day(1)),
        ("что я говорил два дня назад", day(2), day(1)),
        ("last month", datetime(2026, 2, 1, tzinfo=timezone.utc), datetime(2026, 3, 1, tzinfo=timezone.utc)),
        (
            "в прошлом месяце",
            datetime(2026, 2, 1, tzinfo=timezone.utc),
            datetime(2026, 3, 1, tzinfo=timezone.utc),
        ),
    ],
)
def test_references_become_calendar_windows(question, start, end):
    window = time_window(question, NOW)
    assert window is not None
    assert (window.start, window.end) == (start, end)


@pytest.mark.parametrize("question", ["What did I do three days ago?", "Чем я занимался 3 дня назад?"])
def test_n_days_ago_contains_that_day_and_not_the_day_before_yesterday(question):
    window = time_window(question, NOW)
    assert window is not None
    assert window.contains(day(3) + timedelta(hours=10))
    assert not window.contains(day(1) + timedelta(hours=10))


def test_weeks_ago_is_about_then_not_one_exact_day():
    window = time_window("what was I doing two weeks ago", NOW)
    assert window is not None
    assert window.contains(day(15)) and window.contains(day(13))
    assert not window.contains(day(3))


@pytest.mark.parametrize(
    "question", ["What's my dog's name?", "Где я живу?", "I walked 3 km", "weekly plans"]
)
def test_no_reference_no_window(question):
    assert time_window(question, NOW) is None


def test_a_naive_now_is_taken_as_utc():
    window = time_window("yesterday", NOW.replace(tzinfo=None))
    assert window is not None and window.start == day(1)
