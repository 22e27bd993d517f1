"""What chat clients send over ``/ws/chat`` and ``POST /api/chat/stream``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

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
