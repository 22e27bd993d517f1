"""Time references in a question, as a window of time: "yesterday", "last week", "3 days ago",
"вчера", "на прошлой неделе", "3 дня назад" …

A question about "what I said yesterday" needs the rounds of yesterday, however its words compare
with theirs: ``time_window`` turns the reference into ``[start, end)`` (UTC, computed from the
question's ``now``) and recall boosts the rounds inside it. English and Russian; no model call.
Days are calendar days in UTC (the agent does not know each person's time zone), so a window is
widened by half a day on each side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

SLACK = timedelta(hours=12)
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "few": 3, "couple of": 2,
    "один": 1, "одну": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5, "шесть": 6,
    "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "пару": 2, "несколько": 3,
}  # fmt: skip
_NUMBER = (
    r"(\d{1,3}|a couple of|couple of|a few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|"
    r"одну|одна|один|два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|пару|несколько)"
)
_UNITS = {
    "day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365, "years": 365,
    "день": 1, "дня": 1, "дней": 1, "неделю": 7, "недели": 7, "недель": 7, "неделя": 7,
    "месяц": 30, "месяца": 30, "месяцев": 30, "год": 365, "года": 365, "лет": 365,
}  # fmt: skip
_UNIT = r"(days?|weeks?|months?|years?|день|дня|дней|неделю|недели|недель|месяц|месяца|месяцев|год|года|лет)"
_AGO = re.compile(rf"\b{_NUMBER}\s+{_UNIT}\s+(?:ago|back|назад)\b", re.IGNORECASE)
_AGO_RU_UNIT_ONLY = re.compile(r"(?<![а-яё])(день|неделю|месяц|год)\s+назад\b", re.IGNORECASE)


@dataclass(frozen=True)
class TimeWindow:
    start: datetime
    end: datetime

    def contains(self, at: datetime) -> bool:
        return self.start - SLACK <= at < self.end + SLACK


def _day(now: datetime, days_back: int) -> tuple[datetime, datetime]:
    start = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
        days=days_back
    )
    return start, start + timedelta(days=1)


def _week(now: datetime, weeks_back: int) -> tuple[datetime, datetime]:
    today, _ = _day(now, 0)
    monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks_back)
    return monday, monday + timedelta(weeks=1)


def _month(now: datetime, months_back: int) -> tuple[datetime, datetime]:
    year, month = now.year, now.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    start = datetime(year, month, 1, tzinfo=timezone.utc)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


_Window = Callable[[datetime], tuple[datetime, datetime]]
_FIXED: list[tuple[re.Pattern[str], _Window]] = [
    (re.compile(r"\bthe\s+day\s+before\s+yesterday\b|(?<![а-яё])позавчера(?![а-яё])", re.I), lambda n: _day(n, 2)),
    (re.compile(r"\byesterday\b|(?<![а-яё])вчера(?![а-яё])", re.I), lambda n: _day(n, 1)),
    (re.compile(r"\btoday\b|\bthis\s+morning\b|(?<![а-яё])сегодня(?![а-яё])|(?<![а-яё])утром(?![а-яё])", re.I),
     lambda n: _day(n, 0)),
    (re.compile(r"\blast\s+week\b|\bthe\s+week\s+before\b|(?<![а-яё])на\s+прошлой\s+неделе(?![а-яё])"
                r"|(?<![а-яё])прошлая\s+неделя(?![а-яё])", re.I), lambda n: _week(n, 1)),
    (re.compile(r"\bthis\s+week\b|\bearlier\s+this\s+week\b|(?<![а-яё])на\s+этой\s+неделе(?![а-яё])", re.I),
     lambda n: _week(n, 0)),
    (re.compile(r"\blast\s+month\b|(?<![а-яё])в\s+прошлом\s+месяце(?![а-яё])", re.I), lambda n: _month(n, 1)),
    (re.compile(r"\bthis\s+month\b|(?<![а-яё])в\s+этом\s+месяце(?![а-яё])", re.I), lambda n: _month(n, 0)),
    (re.compile(r"\brecently\b|\blately\b|\bthe\s+other\s+day\b|(?<![а-яё])недавно(?![а-яё])", re.I),
     lambda n: (_day(n, 7)[0], _day(n, 0)[1])),
]  # fmt: skip


def time_window(question: str, now: datetime) -> TimeWindow | None:
    """The window of time the question refers to, or None when it names none."""
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    match = _AGO.search(question)
    if match:
        count = int(match[1]) if match[1].isdigit() else _NUMBERS[match[1].lower()]
        days = count * _UNITS[match[2].lower()]
        # "3 weeks ago" means about then, not that exact day: a day of spread per week back
        start, end = _day(now, days)
        spread = timedelta(days=days // 7)
        start, end = start - spread, end + spread
        return TimeWindow(start, end)
    match = _AGO_RU_UNIT_ONLY.search(question)
    if match:
        days = _UNITS[match[1].lower()]
        start, end = _day(now, days)
        spread = timedelta(days=days // 7)
        return TimeWindow(start - spread, end + spread)
    for pattern, window in _FIXED:
        if pattern.search(question):
            start, end = window(now)
            return TimeWindow(start, end)
    return None
