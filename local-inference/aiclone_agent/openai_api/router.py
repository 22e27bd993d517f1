"""OpenAI-compatible routes: ``GET /v1/models``, ``POST /v1/chat/completions``.

``build_router`` makes them for one channel: the admin app's (``api``, the owner's) and the LAN
listener's (``lan``, behind its token check: the token's user). ``person`` is a dependency naming
whose memories a request uses, from what authenticated the caller (never from the body)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from aiclone_agent.core.errors import error_responses
from aiclone_agent.core.sse import SSE_HEADERS
from aiclone_agent.openai_api.protocol import ChatCompletionRequest, ChatCompletionResponse, ModelList
from aiclone_agent.openai_api.serving import CHANNEL, OpenAIServingChat
from aiclone_wire.memory import OWNER_PERSON


def _serving(request: Request) -> OpenAIServingChat:
    return request.app.state.runtime.openai


ServingDep = Annotated[OpenAIServingChat, Depends(_serving)]


def owner_person() -> str:
    """The admin app's ``/v1`` is the owner's own (loopback, the owner's key)."""
    return OWNER_PERSON


def build_router(
    channel: str = CHANNEL, dependencies: Sequence[Any] = (), person: Callable[..., str | None] = owner_person
) -> APIRouter:
    # a conversation that is gone: 404; the engine busy or down: 503 (the LAN's token check: 401)
    statuses = (404, 503, 401) if dependencies else (404, 503)
    router = APIRouter(
        prefix="/v1", tags=["openai"], dependencies=list(dependencies), responses=error_responses(*statuses)
    )
    whose = Depends(person)  # a default, not an annotation: annotations resolve in module globals

    @router.get("/models")
    async def list_models(serving: ServingDep) -> ModelList:
        return serving.models()

    @router.post("/chat/completions", response_model=None)
    async def create_chat_completion(
        body: ChatCompletionRequest, serving: ServingDep, caller: str | None = whose
    ) -> ChatCompletionResponse | StreamingResponse:
        generation = await serving.prepare_with_knowledge(body, channel, caller)
        generation.start()  # queued now: a full queue answers 503 + Retry-After, not a broken stream
        if body.stream:
            return StreamingResponse(
                serving.stream(body, generation), media_type="text/event-stream", headers=SSE_HEADERS
            )
        return await serving.complete(body, generation)

    return router


router = build_router()
