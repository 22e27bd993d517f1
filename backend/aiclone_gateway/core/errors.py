"""The gateway's errors, in the one shape both programs answer with (``aiclone_wire.errors``:
OpenAI's ``{"error": {message, type, param, code}}``, also on /v1).

The gateway raises ``ApiError`` where it refuses; ``register_exception_handlers`` answers it, the
framework's own refusals and every other ``ProblemError`` in that shape, and makes the OpenAPI
schema declare it (``aiclone_wire.http_errors``).
"""

from __future__ import annotations

from fastapi import FastAPI

from aiclone_wire.errors import ApiError, Problem, ProblemError, error_body
from aiclone_wire.http_errors import error_response, error_responses, register_error_handlers

__all__ = [
    "ApiError",
    "Problem",
    "ProblemError",
    "error_body",
    "error_response",
    "error_responses",
    "register_exception_handlers",
]


def register_exception_handlers(app: FastAPI) -> None:
    register_error_handlers(app)
