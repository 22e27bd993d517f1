"""Errors over HTTP, for both programs' FastAPI apps: the handlers that answer in the one error shape
(``aiclone_wire.errors``) and the OpenAPI ``responses`` that declare it.

``register_error_handlers`` answers the framework's own refusals (a request that fails validation:
400, never FastAPI's 422; an ``HTTPException``) and every ``ProblemError`` with its ``Problem``; a
program passes the few foreign exceptions it maps (``extra``). It also makes the app's schema say so:
each operation declares, with the error schema, 400 when it takes any input, 413 when it takes a
body (the body limit), and whatever its router or route declares with ``error_responses(...)``
(404 for a missing object, 401 behind a login...). FastAPI's 422 is left out: no route answers it.
Schemathesis checks the statuses against the schema (``tests/security/test_schema_fuzz.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from aiclone_wire.error_codes import ERROR_CODES, FIELD_CODES
from aiclone_wire.errors import ErrorResponse, Problem, ProblemError, validation_problem

Describe = Callable[[Any], Problem]


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.body(), status_code=problem.status, headers=problem.response_headers())


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return problem_response(Problem(status, message, code, param, headers=headers))


def http_problem(exc: StarletteHTTPException) -> Problem:
    """An ``HTTPException`` (the framework's 404/405, the body limit's 413) in the one shape."""
    headers = dict(exc.headers) if exc.headers else None
    return Problem(exc.status_code, str(exc.detail), getattr(exc, "code", None), headers=headers)


def register_error_handlers(app: FastAPI, extra: Mapping[type[Exception], Describe] | None = None) -> None:
    """Every refusal in the one shape, and the app's OpenAPI schema declaring it (see the module)."""

    def handler(describe: Describe) -> Callable[[Request, Any], Any]:
        async def answer(_: Request, exc: Any) -> JSONResponse:
            return problem_response(describe(exc))

        return answer

    app.add_exception_handler(RequestValidationError, handler(lambda exc: validation_problem(exc.errors())))
    app.add_exception_handler(StarletteHTTPException, handler(http_problem))
    app.add_exception_handler(ProblemError, handler(lambda exc: exc.problem()))
    for kind, describe in (extra or {}).items():
        app.add_exception_handler(kind, handler(describe))
    document_errors(app)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a router or a route: these statuses answer with the error shape."""
    return {status: {"model": ErrorResponse, "description": HTTPStatus(status).phrase} for status in statuses}


def _by_inputs(operation: dict[str, Any]) -> tuple[int, ...]:
    """What every operation answers by its inputs alone: 400 (validation) with any (FastAPI's own
    rule for its 422), and 413 (the body limit) with a body."""
    if "requestBody" in operation:
        return (400, 413)
    return (400,) if operation.get("parameters") else ()


def document_errors(app: FastAPI) -> None:
    """The app's schema declares each operation's error statuses with the error schema (when it is
    first asked for, so the routes included after this call are documented as well)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            description=app.description,
            routes=app.routes,
        )
        refs, defs = models_json_schema(
            [(ErrorResponse, "serialization")], ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs["$defs"])
        # the codes an answer's ``code`` (and each field's) may carry, with their params' names
        components["ErrorObject"]["x-error-codes"] = {
            code: list(names) for code, names in ERROR_CODES.items()
        }
        components["FieldError"]["x-field-codes"] = {code: list(names) for code, names in FIELD_CODES.items()}
        content = {"application/json": {"schema": refs[(ErrorResponse, "serialization")]}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)  # validation answers 400
                for status in _by_inputs(operation):
                    responses.setdefault(
                        str(status), {"description": HTTPStatus(status).phrase, "content": content}
                    )
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
