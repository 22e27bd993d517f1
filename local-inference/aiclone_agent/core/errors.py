"""One error shape for the whole agent, OpenAI's: {"error": {message, type, param, code}}."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param


def error_body(status: int, message: str, code: str | None = None, param: str | None = None) -> dict:
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error_response(status: int, message: str, code: str | None = None, param: str | None = None, headers=None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param), status_code=status, headers=headers)


def describe_validation(errors: Sequence[Any]) -> tuple[str, str | None]:
    """One sentence for pydantic's error list (request bodies over HTTP or the relay), and the first field."""
    problems = []
    first_param = None
    for item in errors:
        loc = [str(p) for p in item.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc)
        if item.get("type") == "json_invalid":
            return "the request body is not valid JSON", None
        if item.get("type") == "missing" and not where:
            return "the request needs a JSON body", None
        first_param = first_param or where or None
        message = item.get("msg", "invalid value")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems) or "invalid request", first_param


def register_exception_handlers(app: FastAPI) -> None:
    """The framework's own errors in the OpenAI shape; the agent's exceptions: ``aiclone_agent.errors``."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        message, param = describe_validation(exc.errors())
        return error_response(400, message, "invalid_request", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = getattr(exc, "code", None)
        return error_response(exc.status_code, str(exc.detail), code, headers=getattr(exc, "headers", None))
