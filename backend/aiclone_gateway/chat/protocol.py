"""The public chat's frames: what browsers send over ``/ws/chat`` and ``POST /api/chat/stream``,
and what the gateway sends back (socket frames, or SSE ``data:`` lines on the fallback).

This is the browser contract; ``frontend/src/api/chatFrames.ts`` is generated from it
(``python scripts/typescript.py``) and ``tests/backend/chat/test_frames_contract.py``
fails when the two drift. Server frames always carry every field (``None`` travels as ``null``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from aiclone_wire import MemoryRecord
from aiclone_wire.paths import NetworkMode

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 32_000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageIn(_In):
    type: Literal["message"] = "message"
    conversation_id: str | None = Field(default=None, min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)
    client_id: str | None = Field(default=None, max_length=64)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text must not be empty")
        return value


class CancelIn(_In):
    type: Literal["cancel"]
    request_id: str = Field(min_length=1, max_length=64)


ClientFrame: TypeAdapter[MessageIn | CancelIn] = TypeAdapter(
    Annotated[MessageIn | CancelIn, Field(discriminator="type")]
)


class _Out(BaseModel):
    # Fields with defaults are still always sent, so the schema the contract reads lists them as required.
    model_config = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)


class Source(BaseModel):
    """A knowledge-base passage an answer cites: ``text`` is ``[start:end]`` of the document's text.

    Built from what the agent's ``End`` frame carries; keys a newer agent adds are dropped, and an
    older agent's missing offsets or text travel as ``null`` / ``""``.
    """

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    document_id: str
    document_name: str
    chunk_index: int
    start: int | None = None
    end: int | None = None
    text: str = ""


def cited_sources(raw: list[dict[str, Any]]) -> list[Source]:
    """The sources an agent's ``End`` frame carries, as browsers get them; one that does not fit
    is left out (and logged), so a bad citation never costs the user the answer."""
    sources = []
    for item in raw:
        try:
            sources.append(Source.model_validate(item))
        except ValidationError as exc:
            log.warning("left out a source the agent sent: %s", exc.errors(include_url=False)[0]["msg"])
    return sources


class Memory(BaseModel):
    """One of the asker's own memories the clone was given for this answer (a round kept from an
    earlier conversation: ``at`` is when it was said)."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: str
    text: str
    at: datetime
    conversation_id: str | None = None
    channel: str
    pinned: bool = False


def recalled_memories(records: list[MemoryRecord]) -> list[Memory]:
    """The memories an agent's ``End`` frame carries, as browsers get them (never whose: the
    asker's own)."""
    return [Memory.model_validate(record.model_dump(exclude={"person"})) for record in records]


class Usage(_Out):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class StatusFrame(_Out):
    """Whether the clone is reachable and how (sent on connect and whenever it changes)."""

    type: Literal["status"] = "status"
    agent_online: bool
    network_mode: NetworkMode


class AcceptedFrame(_Out):
    """The question is stored and being answered; ``client_id`` echoes the message's own id."""

    type: Literal["accepted"] = "accepted"
    request_id: str
    conversation_id: str
    client_id: str | None
    message_id: str


class ChunkFrame(_Out):
    type: Literal["chunk"] = "chunk"
    request_id: str
    delta: str


class EndFrame(_Out):
    """The answer is complete (``finish_reason`` ``cancelled`` when the user stopped it)."""

    type: Literal["end"] = "end"
    request_id: str
    finish_reason: str
    usage: Usage
    message_id: str
    sources: list[Source]
    memories: list[Memory] = []


class ErrorFrame(_Out):
    """A question refused or failed; ``request_id`` is null for a frame the gateway could not read."""

    type: Literal["error"] = "error"
    request_id: str | None
    code: str
    message: str
    retry_after: int | None = None  # seconds, when rate limited


class QueuedFrame(_Out):
    """The clone is offline: the question is stored and answered (an ``answer`` frame) when it is back."""

    type: Literal["queued"] = "queued"
    request_id: str
    conversation_id: str
    message_id: str
    message: str


class AnswerFrame(_Out):
    """A queued question's answer, pushed to the asker's open sockets."""

    type: Literal["answer"] = "answer"
    conversation_id: str
    message_id: str
    content: str
    status: Literal["done", "error"]
    sources: list[Source]
    memories: list[Memory] = []


ServerFrame = StatusFrame | AcceptedFrame | ChunkFrame | EndFrame | ErrorFrame | QueuedFrame | AnswerFrame
ServerFrames: TypeAdapter[ServerFrame] = TypeAdapter(Annotated[ServerFrame, Field(discriminator="type")])
