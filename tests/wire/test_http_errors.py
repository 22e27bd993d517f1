"""Both programs' errors over HTTP (``aiclone_wire.http_errors``): the shape of every refusal, and an
OpenAPI schema that declares each status with it (what schemathesis checks on the real apps)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field

from aiclone_wire.error_codes import ERROR_CODES, FIELD_CODES
from aiclone_wire.errors import ApiError, ErrorResponse
from aiclone_wire.http_errors import error_responses, register_error_handlers

ERROR = {"$ref": "#/components/schemas/ErrorResponse"}


class Body(BaseModel):
    count: int


class Limited(BaseModel):
    temperature: float = Field(le=2)
    name: str


def _app() -> FastAPI:
    app = FastAPI()
    register_error_handlers(app)
    router = APIRouter(prefix="/things", responses=error_responses(404))

    @router.put("/{thing_id}")
    async def put(thing_id: int, body: Body) -> Body:
        if thing_id == 0:
            raise ApiError(404, "no thing 0", code="not_found", param="thing_id")
        return body

    @router.get("")
    async def listing() -> list[int]:
        return []

    @router.post("/limited")
    async def limited(body: Limited) -> Limited:
        if body.name == "taken":
            raise ApiError(409, "you have 3 keys", code="too_many_api_keys", params={"limit": 3})
        return body

    app.include_router(router)
    return app


async def _call(app: FastAPI, method: str, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        return await http.request(method, path, **kwargs)


async def test_a_bad_request_is_400_in_openais_shape_naming_the_field():
    answer = await _call(_app(), "PUT", "/things/1", json={"count": "many"})
    assert answer.status_code == 400
    error = ErrorResponse.model_validate(answer.json()).error
    assert (error.type, error.code, error.param) == ("invalid_request_error", "invalid_request", "count")
    assert error.fields == {"count": error.message.removeprefix("count: ")}


async def test_each_bad_field_carries_a_code_and_its_values_the_uis_translate():
    """Pydantic's English ("Input should be less than or equal to 2") stays in ``fields`` for API
    clients; the UIs render ``field_codes`` in the page's language."""
    answer = await _call(_app(), "POST", "/things/limited", json={"temperature": 9})
    error = answer.json()["error"]
    assert error["fields"]["temperature"] == "Input should be less than or equal to 2"
    assert error["field_codes"] == {
        "temperature": {"code": "too_large", "params": {"max": 2}},
        "name": {"code": "required", "params": {}},
    }
    refused = await _call(_app(), "POST", "/things/limited", json={"temperature": 1, "name": "taken"})
    assert (refused.json()["error"]["code"], refused.json()["error"]["params"]) == (
        "too_many_api_keys",
        {"limit": 3},
    )


async def test_a_problem_and_a_framework_404_share_the_shape():
    app = _app()
    raised = await _call(app, "PUT", "/things/0", json={"count": 1})
    missing = await _call(app, "GET", "/nowhere")
    assert raised.status_code == missing.status_code == 404
    assert ErrorResponse.model_validate(raised.json()).error.type == "not_found_error"
    assert ErrorResponse.model_validate(missing.json()).error.type == "not_found_error"


def test_the_schema_declares_every_status_with_the_error_schema_and_no_422():
    schema = _app().openapi()
    put = schema["paths"]["/things/{thing_id}"]["put"]["responses"]
    assert set(put) == {"200", "400", "404", "413"}
    for status in ("400", "404", "413"):
        assert put[status]["content"]["application/json"]["schema"] == ERROR
    listing = schema["paths"]["/things"]["get"]["responses"]
    assert set(listing) == {"200", "404"}  # no input: no 400, no body: no 413
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    # the codes (and each one's params) are part of the documented contract
    assert schema["components"]["schemas"]["ErrorObject"]["x-error-codes"]["file_too_large"] == ["max_mb"]
    assert set(schema["components"]["schemas"]["ErrorObject"]["x-error-codes"]) == set(ERROR_CODES)
    assert set(schema["components"]["schemas"]["FieldError"]["x-field-codes"]) == set(FIELD_CODES)
    assert set(schema["components"]["schemas"]["ErrorObject"]["required"]) == {
        "message",
        "type",
        "param",
        "code",
    }
