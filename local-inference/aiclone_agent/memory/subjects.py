"""What fact a round states, as a short key, so a later round about the same fact replaces it.

"My dog's name is Rex" and, weeks later, "my dog is called Max now" both key to ``dog``; "I live
in Berlin" and "I moved to Paris" both key to ``live``. Recall shows only the newest round of each
key (newest wins) and boosts rounds whose key the question asks about ("what's my dog's name?" ->
``dog``). This is LongMemEval's "key the rounds by their facts", done with patterns in English and
Russian instead of a model call: a statement no pattern covers simply has no key and is ranked by
its words and meaning alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Terms = Callable[[str], list[str]]  # the BM25 analyzer: lower-cased, stop words dropped, stemmed

# "<my X> is Y", "my X is called Y" …: X is the subject. Words that only say "name" are dropped,
# so "my dog's name" and "my dog" are the same subject.
_MY = r"(?:my|our)"
_STATEMENT_EN = re.compile(
    rf"\b{_MY}\s+(?P<x>(?:[a-z'-]+\s+){{0,3}}?[a-z'-]+?)(?:'s)?\s+(?:name\s+)?(?:is|are|was|'s|has\s+been|will\s+be)\b",
    re.IGNORECASE,
)
_STATEMENT_EN_NAMED = re.compile(
    rf"\b{_MY}\s+(?P<x>(?:[a-z'-]+\s+){{0,3}}?[a-z'-]+)\s+(?:is\s+)?(?:called|named)\b", re.I
)
_QUESTION_EN = re.compile(
    rf"\b(?:what|which|who|where|when|how\s+old)(?:\s+(?:is|are|was|were)|'s)\s+{_MY}\s+(?P<x>(?:[a-z'-]+\s+){{0,3}}[a-z'-]+)",
    re.IGNORECASE,
)
_QUESTION_EN_NAMED = re.compile(
    rf"\bwhat(?:\s+is|'s)\s+{_MY}\s+(?P<x>(?:[a-z'-]+\s+){{0,3}}[a-z'-]+?)(?:'s)?\s+called\b", re.I
)
# Russian: "мой/моя/моё/мои X — Y", "мою X зовут Y", "как зовут мою X", "какой у меня любимый X"
_MY_RU = r"(?:мой|моя|моё|мое|мои|мою|моего|моей|моих|наш|наша|наше|наши|нашу)"
_STATEMENT_RU = re.compile(
    rf"(?<![а-яё]){_MY_RU}\s+(?P<x>(?:[а-яё-]+\s+){{0,3}}?[а-яё-]+?)\s*(?:—|–|-|:|\s+(?:это|зовут|называется|был|была|было|стал|стала|теперь))",
    re.IGNORECASE,
)
_QUESTION_RU = re.compile(
    rf"(?:как\s+зовут|какой|какая|какое|какие|кто|где|сколько\s+лет)\s+(?:у\s+меня\s+)?(?:сейчас\s+)?{_MY_RU}?\s*(?P<x>(?:[а-яё-]+\s+){{0,2}}[а-яё-]+)",
    re.IGNORECASE,
)
# Verbs that state a fact about the speaker, each mapped to one subject.
_VERB_SUBJECTS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bI\s+(?:now\s+|still\s+)?(?:live|am\s+living|have\s+moved|moved|relocated)\b"
                r"|\bwhere\s+do\s+I\s+live\b|\bwhere\s+I\s+live\b|\b(?:where|which\s+city)\s+am\s+I\s+(?:based|living)\b"
                r"|\bwhich\s+city\s+do\s+I\s+live\b", re.I), "live"),
    (re.compile(r"\bI\s+(?:now\s+|still\s+)?(?:work|am\s+working|got\s+a\s+job|started\s+(?:a\s+new\s+job|working))\b"
                r"|\bwhere\s+do\s+I\s+work\b|\bwhat\s+do\s+I\s+do\s+for\s+(?:a\s+)?(?:living|work)\b", re.I), "work"),
    (re.compile(r"\bI'?\s*a?m\s+called\b|\bmy\s+name\s+is\b|\bcall\s+me\b|\bwhat'?s?\s+(?:is\s+)?my\s+name\b", re.I), "self name"),
    (re.compile(r"(?<![а-яё])я\s+(?:сейчас\s+|теперь\s+)?(?:живу|переехал|переехала|перебрался|перебралась)(?![а-яё])"
                r"|(?<![а-яё])где\s+я\s+живу(?![а-яё])", re.I), "live"),
    (re.compile(r"(?<![а-яё])я\s+(?:сейчас\s+|теперь\s+)?(?:работаю|устроился|устроилась)(?![а-яё])"
                r"|(?<![а-яё])где\s+я\s+работаю(?![а-яё])", re.I), "work"),
    (re.compile(r"(?<![а-яё])меня\s+зовут(?![а-яё])|(?<![а-яё])как\s+меня\s+зовут(?![а-яё])", re.I), "self name"),
]  # fmt: skip
_NAME_WORDS = {"name", "имя", "зовут", "называ", "call", "nam"}
# one fact, several words for it (stems, as the analyzer gives them)
_SYNONYMS = {
    "job": "work", "profess": "work", "occup": "work", "career": "work", "професс": "work", "работ": "work",
    "hometown": "live", "citi": "live", "home": "live", "город": "live",
}  # fmt: skip
_FILLER_WORDS = {"now", "current", "new", "real", "actual", "still", "сейчас", "теперь", "нов", "настоящ"}


def _key(phrase: str, terms: Terms) -> str | None:
    words = [
        t
        for t in terms(phrase)
        if t not in _NAME_WORDS and t not in _FILLER_WORDS and t != "s" and len(t) > 1
    ]
    if len(words) == 1 and words[0] in _SYNONYMS:
        return _SYNONYMS[words[0]]
    return " ".join(words[:3]) if words else None


def _first_key(text: str, patterns: list[re.Pattern[str]], terms: Terms) -> str | None:
    for verb, subject in _VERB_SUBJECTS:
        if verb.search(text):
            return subject
    for pattern in patterns:
        match = pattern.search(text)
        if match:
            key = _key(match["x"], terms)
            if key:
                return key
    return None


def stated_subject(question: str, terms: Terms) -> str | None:
    """The fact the person's message states about themselves ("my dog is Rex" -> ``dog``), or None."""
    return _first_key(question, [_STATEMENT_EN_NAMED, _STATEMENT_EN, _STATEMENT_RU], terms)


def asked_subject(question: str, terms: Terms) -> str | None:
    """The fact a question asks about ("what's my dog's name?" -> ``dog``), or None."""
    return _first_key(question, [_QUESTION_EN_NAMED, _QUESTION_EN, _QUESTION_RU, _STATEMENT_RU], terms)
