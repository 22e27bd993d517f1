"""``/api/chat/test`` (whole answer) and ``/api/chat/stream`` (SSE) for the local test chat.

The stream's events are the models below (``ChatEvent``); ``frontend/src/api/agentChatEvents.ts``
is generated from them (``python scripts/typescript.py``) and a test compares the two.
"""

from __future__ import annotations

from typing import Any, Literal

import anyio
from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from aiclone_agent.api.deps import ChatDep, ConfigDep
from aiclone_agent.chat.service import Author, ChatService, Generation
from aiclone_agent.core.config import Channel, ConfigStore
from aiclone_agent.core.errors import MAPPED, ApiError, error_responses, problem_of
from aiclone_agent.core.sse import SSE_HEADERS, sse_data
from aiclone_wire.memory import OWNER_PERSON, MemoryRecord

router = APIRouter(prefix="/api/chat", tags=["chat"], responses=error_responses(404, 503))
CHANNEL = "owner"  # the admin's own test chat


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=64)
    max_tokens: int | None = Field(default=None, ge=1, le=32_768)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must not be empty")
        return value


class OwnerChatRequest(ChatRequest):
    """The admin's test chat may preview another channel's persona (its prompt addition, answer
    length, adapter scale, knowledge scope): only here, never on the LAN chat, whose users are not
    the owner. The turn stays the owner's (scheduling, memory, the stored conversation)."""

    channel: Channel | None = None


class Source(BaseModel):
    """A knowledge-base chunk the answer was given: ``text[start:end]`` of the document's extracted text."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    document_id: str
    document_name: str
    chunk_index: int
    start: int
    end: int
    text: str = ""


class ChatResponse(BaseModel):
    answer: str
    conversation_id: str
    finish_reason: str | None
    usage: dict[str, int]
    sources: list[Source] = []
    memories: list[MemoryRecord] = []  # the person's remembered rounds the answer was given


class _Event(BaseModel):
    # Every field is always sent, so the schema the web UI's types come from lists them as required.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class SourcesEvent(_Event):
    """First: the passages the answer is given (empty without a knowledge base)."""

    sources: list[Source]


class DeltaEvent(_Event):
    delta: str


class DoneEvent(_Event):
    """Last, when the answer is complete."""

    done: Literal[True] = True
    conversation_id: str
    finish_reason: str | None
    usage: dict[str, int]
    # the person's remembered rounds (from earlier conversations) the answer was given
    memories: list[MemoryRecord] = []


class ErrorDetail(_Event):
    message: str
    type: str
    param: str | None
    code: str | None
    # the values the code's sentence names (aiclone_wire.error_codes), when it names any
    params: dict[str, Any] = {}


class StreamErrorEvent(_Event):
    """Last, when the answer failed mid-way (the one error shape, as in every error response)."""

    error: ErrorDetail


ChatEvent = SourcesEvent | DeltaEvent | DoneEvent | StreamErrorEvent
ChatEvents: TypeAdapter[ChatEvent] = TypeAdapter(ChatEvent)


def _event(event: ChatEvent) -> bytes:
    return sse_data(event.model_dump_json())


def _sources(generation: Generation) -> list[Source]:
    return [Source.model_validate(source) for source in generation.sources]


async def start_turn(
    body: ChatRequest,
    chat: ChatService,
    config: ConfigStore,
    channel: str = CHANNEL,
    author: Author | None = None,
    person: str = OWNER_PERSON,
) -> tuple[str, Generation]:
    """Start a turn of the test chat (the owner's) or the LAN chat (``author``, ``person``: its user)."""
    limit = config.current.limits.max_message_chars
    if len(body.message) > limit:
        raise ApiError(400, f"message is {len(body.message)} characters; the limit is {limit}", code="message_too_long", param="message", params={"length": len(body.message), "limit": limit})
    params = chat.sampling_params(max_tokens=body.max_tokens)
    persona = body.channel if isinstance(body, OwnerChatRequest) else None
    return await chat.start_conversation_turn(
        body.message, body.conversation_id, params, channel, author, person, persona
    )


@router.post("/test")
async def chat_test(body: OwnerChatRequest, chat: ChatDep, config: ConfigDep) -> ChatResponse:
    conversation_id, generation = await start_turn(body, chat, config)
    try:
        async for _ in generation.chunks():
            pass
    finally:
        with anyio.CancelScope(shield=True):
            await chat.finish_conversation_turn(conversation_id, generation)
    return ChatResponse(
        answer=generation.text,
        conversation_id=conversation_id,
        finish_reason=generation.finish_reason,
        usage=generation.usage.as_dict(),
        sources=_sources(generation),
        memories=generation.memories,
    )


@router.post("/stream")
async def chat_stream(body: OwnerChatRequest, chat: ChatDep, config: ConfigDep) -> StreamingResponse:
    conversation_id, generation = await start_turn(body, chat, config)  # queued: a full queue is a 503 here
    return stream_turn(chat, conversation_id, generation)


def stream_turn(chat: ChatService, conversation_id: str, generation: Generation) -> StreamingResponse:
    """A started conversation turn as SSE ``ChatEvent``s (the LAN chat streams the same way)."""

    async def events():
        try:
            yield _event(SourcesEvent(sources=_sources(generation)))
            async for chunk in generation.chunks():
                if chunk.text:
                    yield _event(DeltaEvent(delta=chunk.text))
            yield _event(
                DoneEvent(
                    conversation_id=conversation_id,
                    finish_reason=generation.finish_reason,
                    usage=generation.usage.as_dict(),
                    memories=generation.memories,
                )
            )
        except MAPPED as exc:  # the stream has started: the error is its last event
            yield _event(StreamErrorEvent.model_validate(problem_of(exc).body()))
        finally:
            with anyio.CancelScope(shield=True):
                await chat.finish_conversation_turn(conversation_id, generation)

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)
