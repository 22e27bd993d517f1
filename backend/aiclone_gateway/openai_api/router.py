"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` (API keys)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse, StreamingResponse

from aiclone_gateway.api.deps import ApiKeyUser, RuntimeDep
from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.openai_api.serving import OpenAIRelay

router = APIRouter(prefix="/v1", tags=["openai"])


def _relay(runtime: RuntimeDep) -> OpenAIRelay:
    return runtime.openai


RelayDep = Annotated[OpenAIRelay, Depends(_relay)]


@router.get("/models")
async def list_models(_: ApiKeyUser, relay: RelayDep) -> dict:
    return relay.models()


@router.post("/chat/completions", response_model=None)
async def create_chat_completion(
    _: ApiKeyUser, relay: RelayDep, body: Annotated[dict[str, Any], Body()]
) -> JSONResponse | StreamingResponse:
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise ApiError(
            400,
            "messages: a non-empty list of messages is required",
            code="invalid_request",
            param="messages",
        )
    if not isinstance(body.get("model"), str):
        raise ApiError(400, "model: required", code="invalid_request", param="model")
    return await relay.create(body)
