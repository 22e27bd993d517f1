"""What a password must be: long enough, and not one of the passwords people pick first.

The list ships with the gateway (``common_passwords.txt``, a few hundred bytes, read once); a
password is compared lowercased with its spaces removed, so ``Pass Word 1`` is ``password1``. The
refusal is a 400 with a stable code and the field, which the sign-up form turns into its own words.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiclone_wire.errors import Problem, ProblemError

MIN_LENGTH = 8
LIST_FILE = Path(__file__).with_name("common_passwords.txt")


class WeakPasswordError(ProblemError):
    """A password the policy refuses: ``code`` says which rule (too short, too common)."""

    def __init__(self, code: str, message: str, param: str) -> None:
        super().__init__(message)
        self.code, self.message, self.param = code, message, param

    def problem(self) -> Problem:
        params = {"min": MIN_LENGTH} if self.code == "password_too_short" else {}
        return Problem(
            400,
            self.message,
            self.code,
            self.param,
            fields={self.param: self.message},
            params=params,
            field_codes={self.param: {"code": self.code, "params": params}},
        )


@cache
def common_passwords() -> frozenset[str]:
    lines = LIST_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_normal(line) for line in lines if line.strip() and not line.startswith("#"))


def _normal(password: str) -> str:
    return "".join(password.split()).lower()


def check_password(password: str, param: str = "password") -> None:
    """Raise ``WeakPasswordError`` for a password under ``MIN_LENGTH`` characters, one of the
    shipped common passwords, or one character repeated."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(
            "password_too_short", f"the password needs at least {MIN_LENGTH} characters", param
        )
    normal = _normal(password)
    if normal in common_passwords() or len(set(normal)) <= 1:
        raise WeakPasswordError(
            "password_too_common", "this password is one of the most common ones; choose another", param
        )
