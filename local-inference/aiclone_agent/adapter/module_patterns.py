"""PEFT's ``rank_pattern`` / ``alpha_pattern`` keys, matched without a backtracking regex.

PEFT runs each key as ``re.match(rf"(.*\\.)?({key})$", module_name)``: a key written in
``adapter_config.json`` becomes a regular expression, and Python's ``re`` backtracks, so a key such
as ``(.|.)*(.|.)*x$`` holds the interpreter (and the GIL) for minutes. Real keys are module names or
their dotted suffixes (``q_proj``, ``model.layers.0.self_attn.q_proj``), sometimes with a little
regex (``layers\\.\\d+\\.mlp\\..*``, ``(q|k)_proj``). This module accepts exactly that subset of the
regex language and runs it as a Thompson NFA, whose time is linear in the name times the key:

- a name character (letters, digits, ``_``, ``-``) or ``\\.`` (a dot) stands for itself;
- ``.`` is any one character, ``\\d`` and ``[0-9]`` any one digit;
- ``*`` or ``+`` after one of those repeats it (zero or more, one or more);
- ``(a|b|c)``: alternatives made of the above, not nested and not repeated (a key may expand to at
  most ``MAX_ALTERNATIVES`` plain patterns).

A trailing ``$`` is allowed (PEFT anchors the end anyway). Anything else (``?``, ``{n}``, ``^``,
``$`` elsewhere, character classes, repeated or nested groups, other
escapes) refuses the adapter with the key in the reason: the agent never runs a key it cannot
bound. Within the subset, a key matches exactly the names PEFT's regex matches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product

from aiclone_agent.adapter.errors import AdapterError

MAX_KEYS = 1024
MAX_KEY_CHARS = 256
MAX_ALTERNATIVES = 64

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
_ANY, _DIGIT = "any", "digit"
SUPPORTED = (
    "module names or dotted suffixes such as 'q_proj' or 'model.layers.0.self_attn.q_proj', "
    "with '.' (any character), '\\.' (a dot), '\\d' or '[0-9]' (a digit), '*' or '+' after one of "
    "those, and '(a|b)' alternatives"
)


@dataclass(frozen=True)
class _Step:
    """One position of the automaton: what it consumes, and whether it may repeat (and be skipped)."""

    atom: str  # a literal character, _ANY or _DIGIT
    repeat: bool = False

    def accepts(self, char: str) -> bool:
        if self.atom == _ANY:
            return True
        if self.atom == _DIGIT:
            return char.isascii() and char.isdigit()
        return char == self.atom


class ModulePattern:
    """One ``rank_pattern`` / ``alpha_pattern`` key, compiled; ``matches`` is PEFT's lookup."""

    def __init__(self, key: str, where: str = "pattern") -> None:
        self.key = key
        self._alternatives = [tuple(steps) for steps in _compile(key, where)]

    def matches(self, module_name: str) -> bool:
        """True when the key matches ``module_name`` or one of its dotted suffixes (PEFT's rule)."""
        return any(_nfa_matches(steps, module_name) for steps in self._alternatives)


class ModulePatterns:
    """A pattern dict from ``adapter_config.json``: keys compiled in order, values kept as given."""

    def __init__(self, patterns: object, field: str) -> None:
        if patterns is None:
            patterns = {}
        if not isinstance(patterns, Mapping):
            raise AdapterError(f"adapter_config.json: {field} must be an object of module pattern -> value")
        if len(patterns) > MAX_KEYS:
            raise AdapterError(f"adapter_config.json: {field} has {len(patterns)} keys (at most {MAX_KEYS})")
        self._entries = [(ModulePattern(str(key), field), value) for key, value in patterns.items()]

    def value_for(self, module_name: str, default: float) -> float:
        """The first matching key's value (PEFT takes the first, in the file's order), else ``default``."""
        for pattern, value in self._entries:
            if pattern.matches(module_name):
                return value
        return default


def _compile(key: str, where: str) -> list[list[_Step]]:
    shown = key[:80]

    def refuse(why: str) -> AdapterError:
        return AdapterError(
            f"adapter_config.json: {where} key {shown!r} {why}; the agent matches {SUPPORTED}"
        )

    if not key:
        raise refuse("is empty")
    if len(key) > MAX_KEY_CHARS:
        raise refuse(f"is longer than {MAX_KEY_CHARS} characters")
    if key.endswith("$") and not key.endswith("\\$"):
        key = key[:-1]  # PEFT anchors the end itself: a trailing '$' changes nothing
        if not key:
            raise refuse("is empty")
    pieces: list[list[list[_Step]]] = []  # each piece: its alternatives (one when outside a group)
    i = 0
    while i < len(key):
        if key[i] == "(":
            end = key.find(")", i)
            if end == -1:
                raise refuse("has an unclosed '('")
            body = key[i + 1 : end]
            if "(" in body:
                raise refuse("nests groups")
            if body.startswith("?"):
                raise refuse("uses a '(?...)' group")
            if end + 1 < len(key) and key[end + 1] in "*+?{":
                raise refuse("repeats a group")
            pieces.append([_sequence(part, refuse) for part in body.split("|")])
            i = end + 1
            continue
        end = i
        while end < len(key) and key[end] != "(":
            end += 1
        pieces.append([_sequence(key[i:end], refuse)])
        i = end
    count = 1
    for alternatives in pieces:
        count *= len(alternatives)
        if count > MAX_ALTERNATIVES:
            raise refuse(f"expands to more than {MAX_ALTERNATIVES} alternatives")
    return [[step for part in combo for step in part] for combo in product(*pieces)]


def _sequence(text: str, refuse) -> list[_Step]:
    steps: list[_Step] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char in _NAME_CHARS:
            atom, i = char, i + 1
        elif char == ".":
            atom, i = _ANY, i + 1
        elif text.startswith("\\.", i):
            atom, i = ".", i + 2
        elif text.startswith("\\d", i):
            atom, i = _DIGIT, i + 2
        elif text.startswith("[0-9]", i):
            atom, i = _DIGIT, i + 5
        elif char in "*+":
            raise refuse(f"has '{char}' with nothing to repeat")
        elif char == "|":
            raise refuse("uses '|' outside a '(...)' group")
        elif char == ")":
            raise refuse("has an unmatched ')'")
        else:
            raise refuse(f"uses {char!r}, which is outside the supported syntax")
        quantifier = text[i] if i < len(text) else ""
        if quantifier not in ("*", "+"):
            steps.append(_Step(atom))
            continue
        steps += [_Step(atom, repeat=True)] if quantifier == "*" else [_Step(atom), _Step(atom, repeat=True)]
        i += 1
        if i < len(text) and text[i] in "*+?{":
            raise refuse(f"repeats a repetition ('{quantifier}{text[i]}')")
    return steps


def _nfa_matches(steps: tuple[_Step, ...], name: str) -> bool:
    """``re.match(rf"(.*\\.)?(steps)$", name)`` as a set-of-states simulation: O(len(name) * len(steps))."""
    final = len(steps)

    def closure(states: set[int]) -> set[int]:
        # a repeating step may be skipped; no other step is optional
        out = set()
        for state in states:
            while state < final and steps[state].repeat:
                out.add(state)
                state += 1
            out.add(state)
        return out

    states = closure({0})  # the key may match the whole name ...
    for char in name:
        moved = set()
        for state in states:
            if state < final and steps[state].accepts(char):
                moved.add(state if steps[state].repeat else state + 1)
        if char == ".":
            moved.add(0)  # ... or start right after any dot: PEFT's (.*\.)? prefix
        states = closure(moved)
    return final in states
