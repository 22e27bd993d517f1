"""Rounds the person marked important in words: "remember that …", "запомни, что …".

Such a round is pinned: it is never dropped by the per-person cap and it ranks above an equally
relevant unpinned one. A plain pattern match, no model call: it has to work with a 135M model.
"""

from __future__ import annotations

import re

_MARKERS = re.compile(
    r"""
    \b(?:please\s+)?remember\b(?!\s+(?:when|what|who|how|why|where|if|whether)\b)  # not "do you remember when…"
    | \bdon'?t\s+forget\b | \bdo\s+not\s+forget\b | \bkeep\s+in\s+mind\b | \bmake\s+a\s+note\b | \bnote\s+that\b
    | (?<![а-яё])запомни(?:те)?(?![а-яё]) | (?<![а-яё])не\s+забудь(?:те)?(?![а-яё])
    | (?<![а-яё])имей(?:те)?\s+в\s+виду(?![а-яё]) | (?<![а-яё])учти(?:те)?(?![а-яё])
    """,
    re.IGNORECASE | re.VERBOSE,
)
_QUESTION_OPENERS = re.compile(
    r"^\s*(?:do|did|can|could|will|would)\s+you\s+remember\b|^\s*ты\s+помнишь", re.IGNORECASE
)


def marked_important(question: str) -> bool:
    """Whether the person asked, in this message, for something to be remembered."""
    if _QUESTION_OPENERS.search(question):  # "do you remember my dog?" asks, it does not tell
        return False
    return _MARKERS.search(question) is not None
