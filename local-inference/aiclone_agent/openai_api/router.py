"""OpenAI-compatible routes: ``GET /v1/models``, ``POST /v1/chat/completions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from aiclone_agent.api.sse import SSE_HEADERS
from aiclone_agent.openai_api.protocol import ChatCompletionRequest, ChatCompletionResponse, ModelList
from aiclone_agent.openai_api.serving import OpenAIServingChat

router = APIRouter(prefix="/v1", tags=["openai"])


def _serving(request: Request) -> OpenAIServingChat:
    return request.app.state.runtime.openai


ServingDep = Annotated[OpenAIServingChat, Depends(_serving)]


@router.get("/models")
async def list_models(serving: ServingDep) -> ModelList:
    return serving.models()


@router.post("/chat/completions", response_model=None)
async def create_chat_completion(
    body: ChatCompletionRequest, serving: ServingDep
) -> ChatCompletionResponse | StreamingResponse:
    generation = await serving.prepare_with_knowledge(body)
    generation.start()  # queued now: a full queue answers 503 + Retry-After, not a broken stream
    if body.stream:
        return StreamingResponse(serving.stream(body, generation), media_type="text/event-stream", headers=SSE_HEADERS)
    return await serving.complete(body, generation)
