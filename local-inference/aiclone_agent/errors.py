"""The one table from the agent's exceptions to an error: status, code, param and Retry-After.

HTTP (the app's exception handlers), SSE (an error event once a stream has started) and the relay
(an ``error`` frame to the gateway) all read it, so one failure reads the same on every transport.
The OpenAI error shape itself lives in ``core.errors``; this module sits above the packages whose
exceptions it names, so ``core/`` keeps importing nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.chat.memories import MemoryNotFoundError, MemoryUnavailableError
from aiclone_agent.chat.service import ConversationNotFoundError
from aiclone_agent.core.config import ConfigError
from aiclone_agent.core.errors import (
    ApiError,
    describe_validation,
    error_body,
    error_response,
    validation_fields,
)
from aiclone_agent.engine.base import EngineBusyError, EngineError
from aiclone_agent.engine.settings import SettingRefusedError
from aiclone_agent.lan.tokens import LanTokenRefusedError


@dataclass(frozen=True)
class Problem:
    status: int
    message: str
    code: str | None = None
    param: str | None = None
    retry_after_s: int | None = None
    fields: dict[str, str] | None = None  # each bad field -> what is wrong (forms show them per field)

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after_s)} if self.retry_after_s is not None else None

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message, self.code, self.param, self.fields)

    def response(self) -> JSONResponse:
        return error_response(
            self.status, self.message, self.code, self.param, headers=self.headers(), fields=self.fields
        )


def _validation(exc: ValidationError) -> Problem:
    errors = exc.errors(include_url=False)
    message, param = describe_validation(errors)
    return Problem(400, message, "invalid_request", param, fields=validation_fields(errors))


# First match wins: subclasses before their bases (EngineBusyError before EngineError).
TABLE: tuple[tuple[type[Exception], Callable[[Any], Problem]], ...] = (
    (ApiError, lambda e: Problem(e.status, e.message, e.code, e.param)),
    (ValidationError, _validation),
    (ContextOverflowError, lambda e: Problem(400, str(e), "context_length_exceeded", "messages")),
    (
        ConversationNotFoundError,
        lambda e: Problem(
            404, f"conversation {e.args[0]} not found", "conversation_not_found", "conversation_id"
        ),
    ),
    (MemoryNotFoundError, lambda e: Problem(404, f"memory {e.args[0]} not found", "memory_not_found", "id")),
    (MemoryUnavailableError, lambda e: Problem(503, str(e), "memory_unavailable")),
    (LanTokenRefusedError, lambda e: Problem(401, f"LAN token refused: {e}", "invalid_lan_token")),
    (ConfigError, lambda e: Problem(400, f"configuration refused: {e}", "invalid_config")),
    (
        SettingRefusedError,
        lambda e: Problem(400, f"{e.field}: {e}", "invalid_setting", e.field, fields={e.field: str(e)}),
    ),
    (EngineBusyError, lambda e: Problem(503, str(e), "engine_busy", retry_after_s=e.retry_after_s)),
    (AdapterError, lambda e: Problem(409, str(e), "adapter_unavailable")),
    (EngineError, lambda e: Problem(503, str(e), "engine_error")),
)

MAPPED: tuple[type[Exception], ...] = tuple(kind for kind, _ in TABLE)


def problem_for(exc: BaseException) -> Problem | None:
    """The error ``exc`` answers with, or None for an exception nobody expects (a bug: a 500)."""
    for kind, describe in TABLE:
        if isinstance(exc, kind):
            return describe(exc)
    return None


def problem_of(exc: BaseException) -> Problem:
    """The error of an exception caught as ``MAPPED``; any other one is re-raised (a bug: a 500)."""
    problem = problem_for(exc)
    if problem is None:
        raise exc
    return problem


def register_error_handlers(app: FastAPI) -> None:
    async def _mapped(_: Request, exc: Exception) -> JSONResponse:
        return problem_of(exc).response()

    for kind in MAPPED:
        app.add_exception_handler(kind, _mapped)
