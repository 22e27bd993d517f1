"""OpenAI-compatible ``GET /v1/models`` and ``POST /v1/chat/completions`` (API keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import HTTPConnection

from aiclone_gateway.api.deps import ApiKeyUser
from aiclone_gateway.core.errors import error_responses
from aiclone_gateway.openai_api.serving import OpenAIRelay
from aiclone_wire import user_person
from aiclone_wire.openai import ChatCompletionBody

router = APIRouter(prefix="/v1", tags=["openai"], responses=error_responses(401, 403))


def _relay(connection: HTTPConnection) -> OpenAIRelay:
    relay: OpenAIRelay = connection.app.state.runtime.openai
    return relay


RelayDep = Annotated[OpenAIRelay, Depends(_relay)]


@router.get("/models")
async def list_models(_: ApiKeyUser, relay: RelayDep) -> dict:
    return relay.models()


@router.post("/chat/completions", response_model=None)
async def create_chat_completion(
    user: ApiKeyUser, relay: RelayDep, body: ChatCompletionBody
) -> JSONResponse | StreamingResponse:
    # the key's owner is who asks: their memories, never a person named in the body
    return await relay.create(body, person=user_person(user.id))
