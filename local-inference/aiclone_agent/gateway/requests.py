"""Runs one relayed ``request`` frame through the agent's own OpenAI serving path, one
``telegram_request`` frame through the Telegram responder (for the owner's own bots only), or one
``memory_request`` (a signed-in user's own memories) through the chat's memory.

The body is an OpenAI Chat Completions request; it is validated and fitted exactly as on the
agent's ``/v1/chat/completions`` (``OpenAIServingChat.prepare``), then streamed as ``chunk``
frames and one ``end`` or ``error``. Cancelling the task closes the generation (engine abort).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from aiclone_agent.core.errors import MAPPED, ApiError, problem_of
from aiclone_agent.openai_api.protocol import ChatCompletionRequest
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire import Chunk, End, Error, MemoryRequest, MemoryResult, Request, TelegramRequest, Usage
from aiclone_wire.memory import MemoryRecord

if TYPE_CHECKING:
    from aiclone_agent.chat.memories import ChatMemory
    from aiclone_agent.telegram.service import TelegramService

Send = Callable[[object], None]


class CreditWindow:
    """Chunks this request may still send before the gateway grants more (``credit`` frames)."""

    def __init__(self, chunks: int) -> None:
        self.available = chunks
        self._granted = asyncio.Event()

    def grant(self, chunks: int) -> None:
        self.available += chunks
        self._granted.set()

    async def take(self) -> None:
        while self.available <= 0:
            self._granted.clear()
            await self._granted.wait()
        self.available -= 1


def _error_frame(frame_id: str, exc: BaseException) -> Error:
    problem = problem_of(exc)
    return Error(
        id=frame_id,
        code=problem.code or "invalid_request",
        message=problem.message,
        status=problem.status,
        retry_after_s=problem.retry_after_s,
    )


async def run_request(serving: OpenAIServingChat, frame: Request, credit: CreditWindow, send: Send) -> None:
    try:
        request = ChatCompletionRequest.model_validate(frame.body)
        # whose memories: the person the gateway authenticated (never a body field); none, no memory
        generation = await serving.prepare_with_knowledge(request, channel=frame.channel, person=frame.person)
        generation.start()
    except MAPPED as exc:
        send(_error_frame(frame.id, exc))
        return
    try:
        async with aclosing(generation.chunks()) as chunks:
            async for piece in chunks:
                if piece.text:
                    await credit.take()
                    send(Chunk(id=frame.id, delta=piece.text))
    except MAPPED as exc:
        send(_error_frame(frame.id, exc))
        return
    send(
        End(
            id=frame.id,
            finish_reason=generation.finish_reason or "stop",
            usage=Usage(**generation.usage.as_dict()),
            sources=generation.sources,
            memories=generation.memories,
        )
    )


async def run_telegram_request(telegram: TelegramService | None, frame: TelegramRequest, send: Send) -> None:
    """A Telegram message the gateway received by webhook: each reply goes back as one chunk."""
    message = frame.message
    if telegram is None or not telegram.serves(message.bot_id):
        send(Error(id=frame.id, code="unknown_bot", message=f"this clone has no Telegram bot {message.bot_id}", status=404))
        return
    for reply in await telegram.answer_relayed(message):
        send(Chunk(id=frame.id, delta=reply))
    send(End(id=frame.id, finish_reason="stop"))


async def run_memory_request(memory: ChatMemory, frame: MemoryRequest, send: Send) -> None:
    """One person's memory operation, answered by a ``memory_result`` or an ``error`` with its id.
    The person is the one the gateway authenticated: only their own records are touched."""
    person = frame.person
    memories: list[MemoryRecord] = []
    deleted = 0
    try:
        if frame.op == "list":
            memories = await memory.records(person, frame.query)
        elif frame.op == "delete":
            if not frame.memory_id:
                raise ApiError(400, "a delete names memory_id", code="invalid_request", param="memory_id")
            await memory.delete(frame.memory_id, person)  # another person's: memory_not_found
            deleted = 1
        elif frame.op == "delete_all":
            deleted = await memory.delete_all(person)
        enabled = await memory.enabled(person, frame.enabled if frame.op == "settings" else None)
    except MAPPED as exc:
        send(_error_frame(frame.id, exc))
        return
    send(MemoryResult(id=frame.id, memories=memories, deleted=deleted, enabled=enabled))
