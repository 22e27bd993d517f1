"""The one error shape of both programs, OpenAI's: ``{"error": {message, type, param, code}}``.

Every refusal either program answers, on ``/v1`` and elsewhere, over HTTP, as an SSE error event or
as a relay ``error`` frame, is a ``Problem``: a status, a message and OpenAI's ``code``/``param``.
An exception that knows its own problem subclasses ``ProblemError`` and says it in ``problem()``,
so the one table that turns exceptions into answers (each program's ``core/errors.py``) never has
to import the packages that raise them.

The status of each case, where the two programs used to drift:
- a request that fails validation (a bad body, query or path value) is a **400**
  ``invalid_request_error`` (code ``invalid_request``), as OpenAI answers it; never FastAPI's 422,
  which the schema therefore does not declare (``aiclone_wire.openapi_errors``);
- an upload of a type the agent will not read is a **415** ``invalid_request_error`` (the agent's
  knowledge base); a body over its route's limit a **413** (``aiclone_wire.body_limit``).
This module imports no web framework: the engine and the relay use it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from aiclone_wire.error_codes import field_error

# OpenAI's error ``type`` per status; every other 4xx is ``invalid_request_error`` (400, 405, 413,
# 415 ...) and every 5xx ``server_error``.
TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


def error_type(status: int) -> str:
    return TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_body(
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    fields: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    field_codes: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """OpenAI's error object; with ``params`` (what the UIs fill into the code's sentence,
    ``aiclone_wire.error_codes``) and ``fields`` / ``field_codes`` (each bad field of a request ->
    what is wrong, in English and as a code) when known."""
    error: dict[str, Any] = {"message": message, "type": error_type(status), "param": param, "code": code}
    if params:
        error["params"] = params
    if fields:
        error["fields"] = fields
    if field_codes:
        error["field_codes"] = field_codes
    return {"error": error}


class FieldError(BaseModel):
    """What is wrong with one field, as a code the UIs translate and its values."""

    code: str
    params: dict[str, Any]


class ErrorObject(BaseModel):
    """The inside of every error answer (the schema both programs' OpenAPI documents name)."""

    model_config = ConfigDict(extra="allow")

    message: str
    type: str
    param: str | None
    code: str | None
    # the values the code's sentence names (``aiclone_wire.error_codes.ERROR_CODES``)
    params: dict[str, Any] | None = None
    # a request that failed validation: each top-level field -> what is wrong with it (forms)
    fields: dict[str, str] | None = None
    # ... and the same as ``{"code", "params"}`` (``aiclone_wire.error_codes.FIELD_CODES``)
    field_codes: dict[str, FieldError] | None = None


class ErrorResponse(BaseModel):
    error: ErrorObject


@dataclass(frozen=True)
class Problem:
    """What a refusal answers: status, message, OpenAI's code and param, and Retry-After."""

    status: int
    message: str
    code: str | None = None
    param: str | None = None
    retry_after_s: int | None = None
    fields: dict[str, str] | None = None  # each bad field -> what is wrong (forms show them per field)
    headers: dict[str, str] | None = None  # any other header the answer carries (WWW-Authenticate)
    params: dict[str, Any] | None = None  # the values the code's sentence names (error_codes)
    field_codes: dict[str, dict[str, Any]] | None = None  # each bad field -> {code, params}

    def response_headers(self) -> dict[str, str] | None:
        headers = dict(self.headers or {})
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers or None

    def body(self) -> dict[str, Any]:
        return error_body(
            self.status, self.message, self.code, self.param, self.fields, self.params, self.field_codes
        )


class ProblemError(Exception):
    """An exception that knows how it is answered: ``problem()`` (each subclass says it)."""

    def problem(self) -> Problem:
        raise NotImplementedError


class ApiError(ProblemError):
    """A refusal raised where its status is already known (a route, a service's own check)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers
        self.params = params

    def problem(self) -> Problem:
        return Problem(
            self.status, self.message, self.code, self.param, headers=self.headers, params=self.params
        )


def describe_validation(errors: Sequence[Any]) -> tuple[str, str | None]:
    """One sentence for pydantic's error list (request bodies over HTTP or the relay), and the first field."""
    problems = []
    first_param = None
    for item in errors:
        where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        if item.get("type") == "json_invalid":
            return "the request body is not valid JSON", None
        if item.get("type") == "missing" and not where:
            return "the request needs a JSON body", None
        first_param = first_param or where or None
        message = item.get("msg", "invalid value")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems) or "invalid request", first_param


def validation_fields(errors: Sequence[Any]) -> dict[str, str]:
    """Top-level field -> its problems, for forms that show them beside each field."""
    fields: dict[str, str] = {}
    for item in errors:
        loc = [str(p) for p in item.get("loc", ()) if p != "body"]
        if loc and item.get("type") != "json_invalid":
            message = item.get("msg", "invalid value")
            fields[loc[0]] = f"{fields[loc[0]]}; {message}" if loc[0] in fields else message
    return fields


def validation_field_codes(errors: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Top-level field -> its first problem as ``{"code", "params"}`` (``error_codes.field_error``)."""
    codes: dict[str, dict[str, Any]] = {}
    for item in errors:
        loc = [str(p) for p in item.get("loc", ()) if p != "body"]
        if loc and item.get("type") != "json_invalid":
            codes.setdefault(loc[0], field_error(item))
    return codes


def validation_problem(errors: Sequence[Any]) -> Problem:
    """A request that failed validation: a 400 naming its first bad field (and each of them)."""
    message, param = describe_validation(errors)
    return Problem(
        400,
        message,
        "invalid_request",
        param,
        fields=validation_fields(errors) or None,
        field_codes=validation_field_codes(errors) or None,
    )
