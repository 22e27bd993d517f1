"""OpenAI Chat Completions request/response models (field names and order as in OpenAI's docs).

Cross-field rules live here, in the request model, not in the route.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from aiclone_agent.chat.template import Message
from aiclone_wire.openai import ChatCompletionBody

# OpenAI's names; the engine's "abort" (the answer was stopped) is answered as "stop"
ChoiceFinishReason = Literal["stop", "length"]


class ChatCompletionRequest(ChatCompletionBody):
    """The wire body plus the rules that depend on what this clone can do."""

    @model_validator(mode="after")
    def _supported(self) -> ChatCompletionRequest:
        if self.n is not None and self.n > 1:
            raise ValueError("n > 1 is not supported: this clone returns one choice per request")
        if self.tools or self.tool_choice not in (None, "none"):
            raise ValueError("tools and tool_choice are not supported by this clone")
        if self.logprobs or self.top_logprobs:
            raise ValueError("logprobs are not supported by this clone")
        if self.logit_bias:
            raise ValueError("logit_bias is not supported by this clone")
        if self.response_format and self.response_format.get("type") not in (None, "text"):
            raise ValueError("only response_format {'type': 'text'} is supported")
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options is only allowed when stream is true")
        if self.messages[-1].role == "assistant":
            raise ValueError("the last message must not be from the assistant")
        return self

    @property
    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def split_messages(self) -> tuple[str, list[Message]]:
        """System/developer text (joined) and the conversation turns."""
        system = "\n\n".join(m.text() for m in self.messages if m.role in ("system", "developer"))
        turns = [Message(m.role, m.text()) for m in self.messages if m.role in ("user", "assistant")]
        return system, turns


class UsageInfo(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    logprobs: None = None
    finish_reason: ChoiceFinishReason


class ChatCompletionResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int = Field(default_factory=lambda: int(time.time()))
    model: str
    choices: list[Choice]
    usage: UsageInfo
    system_fingerprint: str | None = None
    # Extension: knowledge-base chunks the answer was given (standard clients ignore it).
    sources: list[dict[str, Any]] | None = None
    # Extension: the asking person's remembered rounds the answer was given (``MemoryRecord``s).
    memories: list[dict[str, Any]] | None = None


class DeltaMessage(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class StreamChoice(BaseModel):
    index: int = 0
    delta: DeltaMessage
    logprobs: None = None
    finish_reason: ChoiceFinishReason | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[StreamChoice]
    usage: UsageInfo | None = None
    # Extension: see ``ChatCompletionResponse.sources``. On the chunk with finish_reason (the
    # gateway knows them only at the end); the agent also sends them on its first chunk.
    sources: list[dict[str, Any]] | None = None
    # Extension: see ``ChatCompletionResponse.memories``; on the chunk with finish_reason.
    memories: list[dict[str, Any]] | None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "aiclone"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
