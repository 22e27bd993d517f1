"""``OpenAIServingChat``: runs Chat Completions requests through the chat service."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

from aiclone_agent.chat.service import ChatService, Generation
from aiclone_agent.chat.template import Message
from aiclone_agent.core.errors import MAPPED, ApiError, problem_of
from aiclone_agent.core.sse import sse_data
from aiclone_agent.engine.base import FinishReason, SamplingParams
from aiclone_agent.openai_api.protocol import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessageOut,
    Choice,
    ChoiceFinishReason,
    DeltaMessage,
    ModelCard,
    ModelList,
    StreamChoice,
    UsageInfo,
)
from aiclone_agent.rag.retrieval import RetrievedChunk

CHANNEL = "api"


def _finish(reason: FinishReason | None) -> ChoiceFinishReason:
    return "length" if reason == "length" else "stop"


class OpenAIServingChat:
    def __init__(self, chat: ChatService, started_at: float) -> None:
        self.chat = chat
        self.created = int(started_at)

    def model_ids(self) -> list[str]:
        """The clone's id first, then the base model's, both usable as ``model``. The base model is
        named by its file, as the owner sees it in models/base/ (the GGUF's ``general.name`` is often
        a training tag with spaces), spaces joined: clients put ids in URLs and command lines."""
        clone_id = self.chat.config.current.clone.id
        info = self.chat.engine.info
        base_id = "-".join((Path(info.model_path).stem if info.model_path else info.model_name).split()) or clone_id
        return [clone_id, base_id] if clone_id != base_id else [clone_id]

    def models(self) -> ModelList:
        return ModelList(data=[ModelCard(id=model_id, created=self.created) for model_id in self.model_ids()])

    def prepare(
        self, request: ChatCompletionRequest, knowledge: list[RetrievedChunk] | None = None, channel: str = CHANNEL
    ) -> Generation:
        """Validate and fit ``request`` (with ``knowledge`` chunks, if given, in the system message)."""
        turns, params, system = self._checked(request)
        return self.chat.prepare(turns, params, channel, extra_system=system, knowledge=knowledge)

    def _checked(self, request: ChatCompletionRequest) -> tuple[list[Message], SamplingParams, str]:
        """The request's turns, sampling parameters and system text, or the error it answers with."""
        if request.model not in self.model_ids():
            raise ApiError(404, f"The model '{request.model}' does not exist; available: {', '.join(self.model_ids())}", code="model_not_found", param="model", params={"model": request.model})
        limit = self.chat.config.current.limits.max_message_chars
        for message in request.messages:
            if len(message.text()) > limit:
                raise ApiError(400, f"a message is {len(message.text())} characters; the limit is {limit}", code="message_too_long", param="messages", params={"length": len(message.text()), "limit": limit})
        system, turns = request.split_messages()
        if not turns:
            raise ApiError(400, "messages must contain at least one user message", code="no_user_message", param="messages")
        max_tokens = request.requested_max_tokens
        if max_tokens is not None and max_tokens >= self.chat.engine.info.n_ctx:
            raise ApiError(400, f"max_tokens ({max_tokens}) must be below the context window ({self.chat.engine.info.n_ctx} tokens)", code="invalid_max_tokens", param="max_tokens", params={"max_tokens": max_tokens, "n_ctx": self.chat.engine.info.n_ctx})
        params = self.chat.sampling_params(
            max_tokens=max_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            stop=request.stop_sequences,
            seed=request.seed,
        )
        return turns, params, system

    async def prepare_with_knowledge(
        self, request: ChatCompletionRequest, channel: str = CHANNEL, person: str | None = None
    ) -> Generation:
        """``prepare`` plus knowledge-base retrieval for the last user message, and the memories of
        ``person`` (the caller's person key, from whoever authenticated them; None: no memory)."""
        turns, params, system = self._checked(request)  # validation errors before any retrieval work
        question = next((m.text() for m in reversed(request.messages) if m.role == "user"), "")
        knowledge = await self.chat.retrieve(question, channel)
        return await self.chat.prepare_with_memory(
            turns, params, channel, extra_system=system, knowledge=knowledge, person=person
        )

    async def complete(self, request: ChatCompletionRequest, generation: Generation) -> ChatCompletionResponse:
        async for _ in generation.chunks():
            pass
        usage = generation.usage
        return ChatCompletionResponse(
            id=f"chatcmpl-{generation.request_id}",
            model=request.model,
            choices=[Choice(message=ChatMessageOut(content=generation.text), finish_reason=_finish(generation.finish_reason))],
            usage=UsageInfo(**usage.as_dict()),
            sources=generation.sources,
            memories=generation.memories_json,
        )

    async def stream(self, request: ChatCompletionRequest, generation: Generation) -> AsyncIterator[bytes]:
        response_id = f"chatcmpl-{generation.request_id}"
        created = int(time.time())

        def chunk(
            delta: DeltaMessage, finish: ChoiceFinishReason | None = None, usage: UsageInfo | None = None, choices: bool = True,
            sources: list[dict] | None = None, memories: list[dict] | None = None,
        ) -> bytes:
            body = ChatCompletionChunk(
                id=response_id, created=created, model=request.model,
                choices=[StreamChoice(delta=delta, finish_reason=finish)] if choices else [],
                usage=usage, sources=sources, memories=memories,
            )
            absent = {name for name, value in (("sources", sources), ("memories", memories)) if value is None}
            return sse_data(body.model_dump(exclude_none=False, exclude=absent or None))

        yield chunk(DeltaMessage(role="assistant", content=""), sources=generation.sources)
        try:
            async for piece in generation.chunks():
                if piece.text:
                    yield chunk(DeltaMessage(content=piece.text))
        except MAPPED as exc:  # the stream has started: the error is its last event
            yield sse_data(problem_of(exc).body())
            return
        yield chunk(
            DeltaMessage(),
            finish=_finish(generation.finish_reason),
            sources=generation.sources,
            memories=generation.memories_json,
        )
        if request.stream_options and request.stream_options.include_usage:
            yield chunk(DeltaMessage(), usage=UsageInfo(**generation.usage.as_dict()), choices=False)
        yield sse_data("[DONE]")


