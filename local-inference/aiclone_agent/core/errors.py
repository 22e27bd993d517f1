"""The agent's one place for errors: which exception answers what, on every transport.

HTTP (the app's exception handlers), SSE (an error event once a stream has started) and the relay
(an ``error`` frame to the gateway) all ask ``problem_of``, so one failure reads the same on each.
The agent's own exceptions carry their problem (``ProblemError.problem()``: status, code, message,
param, Retry-After), each in its package; this table adds only the foreign ones (pydantic's
``ValidationError``), so it imports nothing of the packages that raise them. The shape itself,
OpenAI's, is the one both programs answer with: ``aiclone_wire.errors``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import ValidationError

from aiclone_wire.errors import ApiError, Problem, ProblemError, error_body, validation_problem
from aiclone_wire.http_errors import error_response, error_responses, register_error_handlers

__all__ = [
    "MAPPED",
    "ApiError",
    "Problem",
    "ProblemError",
    "error_body",
    "error_response",
    "error_responses",
    "problem_for",
    "problem_of",
    "register_exception_handlers",
]

# The exceptions that are not the agent's own but answer as a client error.
FOREIGN: dict[type[Exception], Callable[[Any], Problem]] = {
    ValidationError: lambda exc: validation_problem(exc.errors(include_url=False)),
}
MAPPED: tuple[type[Exception], ...] = (ProblemError, *FOREIGN)


def problem_for(exc: BaseException) -> Problem | None:
    """The error ``exc`` answers with, or None for an exception nobody expects (a bug: a 500)."""
    if isinstance(exc, ProblemError):
        return exc.problem()
    for kind, describe in FOREIGN.items():
        if isinstance(exc, kind):
            return describe(exc)
    return None


def problem_of(exc: BaseException) -> Problem:
    """The error of an exception caught as ``MAPPED``; any other one is re-raised (a bug: a 500)."""
    problem = problem_for(exc)
    if problem is None:
        raise exc
    return problem


def register_exception_handlers(app: FastAPI) -> None:
    register_error_handlers(app, FOREIGN)
