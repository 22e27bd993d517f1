"""One error shape for the whole agent, OpenAI's: {"error": {message, type, param, code}}."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from aiclone_agent.adapter.errors import AdapterError
from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.chat.service import ConversationNotFoundError
from aiclone_agent.core.config import ConfigError
from aiclone_agent.engine.base import EngineBusyError, EngineError
from aiclone_agent.engine.settings import SettingRefusedError

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


def error_body(
    status: int, message: str, code: str | None = None, param: str | None = None, fields: dict[str, str] | None = None
) -> dict:
    """OpenAI's error object; ``fields`` (a request's bad fields -> what is wrong) when there are several."""
    error: dict[str, object] = {
        "message": message,
        "type": _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
        "param": param,
        "code": code,
    }
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(
    status: int, message: str, code: str | None = None, param: str | None = None, headers=None,
    fields: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param, fields), status_code=status, headers=headers)


def _describe_validation(exc: RequestValidationError) -> tuple[str, str | None, dict[str, str]]:
    problems = []
    first_param = None
    fields: dict[str, str] = {}  # top-level field -> its problems, for forms that show them per field
    for item in exc.errors():
        loc = [str(p) for p in item.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc)
        if item.get("type") == "json_invalid":
            return "the request body is not valid JSON", None, {}
        if item.get("type") == "missing" and not where:
            return "the request needs a JSON body", None, {}
        first_param = first_param or where or None
        message = item.get("msg", "invalid value")
        problems.append(f"{where}: {message}" if where else message)
        if loc:
            fields[loc[0]] = f"{fields[loc[0]]}; {message}" if loc[0] in fields else message
    return "; ".join(problems) or "invalid request", first_param, fields


def register_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.code, exc.param)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        message, param, fields = _describe_validation(exc)
        return error_response(400, message, "invalid_request", param, fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        code = getattr(exc, "code", None)
        return error_response(exc.status_code, str(exc.detail), code, headers=getattr(exc, "headers", None))

    @app.exception_handler(ContextOverflowError)
    async def _overflow(_: Request, exc: ContextOverflowError):
        return error_response(400, str(exc), "context_length_exceeded", "messages")

    @app.exception_handler(ConversationNotFoundError)
    async def _conversation(_: Request, exc: ConversationNotFoundError):
        return error_response(404, f"conversation {exc.args[0]} not found", "conversation_not_found", "conversation_id")

    @app.exception_handler(ConfigError)
    async def _config(_: Request, exc: ConfigError):
        return error_response(400, f"configuration refused: {exc}", "invalid_config")

    @app.exception_handler(SettingRefusedError)
    async def _setting(_: Request, exc: SettingRefusedError):
        message = f"{exc.field}: {exc}"
        return error_response(400, message, "invalid_setting", exc.field, fields={exc.field: str(exc)})

    @app.exception_handler(EngineBusyError)
    async def _busy(_: Request, exc: EngineBusyError):
        return error_response(503, str(exc), "engine_busy", headers={"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(AdapterError)
    async def _adapter(_: Request, exc: AdapterError):
        return error_response(409, str(exc), "adapter_unavailable")

    @app.exception_handler(EngineError)
    async def _engine(_: Request, exc: EngineError):
        return error_response(503, str(exc), "engine_error")
