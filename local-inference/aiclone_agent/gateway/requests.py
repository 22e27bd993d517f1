"""Runs one relayed ``request`` frame through the agent's own OpenAI serving path, or one
``telegram_request`` frame through the Telegram responder (for the owner's own bots only).

The body is an OpenAI Chat Completions request; it is validated and fitted exactly as on the
agent's ``/v1/chat/completions`` (``OpenAIServingChat.prepare``), then streamed as ``chunk``
frames and one ``end`` or ``error``. Cancelling the task closes the generation (engine abort).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from typing import TYPE_CHECKING

from pydantic import ValidationError

from aiclone_agent.chat.context import ContextOverflowError
from aiclone_agent.core.errors import ApiError
from aiclone_agent.engine.base import EngineBusyError, EngineError
from aiclone_agent.openai_api.protocol import ChatCompletionRequest
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_agent.telegram.responder import IncomingMessage
from aiclone_wire import Chunk, End, Error, Request, TelegramRequest, Usage

if TYPE_CHECKING:
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


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first['msg']}" if where else first["msg"]


async def run_request(serving: OpenAIServingChat, frame: Request, credit: CreditWindow, send: Send) -> None:
    try:
        request = ChatCompletionRequest.model_validate(frame.body)
        generation = await serving.prepare_with_knowledge(request, channel=frame.channel)
        generation.start()
    except EngineBusyError as exc:
        send(Error(id=frame.id, code="engine_busy", message=str(exc), status=503, retry_after_s=exc.retry_after_s))
        return
    except EngineError as exc:
        send(Error(id=frame.id, code="engine_error", message=str(exc), status=503))
        return
    except ValidationError as exc:
        send(Error(id=frame.id, code="invalid_request", message=_validation_message(exc), status=400))
        return
    except ApiError as exc:
        send(Error(id=frame.id, code=exc.code or "invalid_request", message=exc.message, status=exc.status))
        return
    except ContextOverflowError as exc:
        send(Error(id=frame.id, code="context_length_exceeded", message=str(exc), status=400))
        return
    try:
        async with aclosing(generation.chunks()) as chunks:
            async for piece in chunks:
                if piece.text:
                    await credit.take()
                    send(Chunk(id=frame.id, delta=piece.text))
    except EngineError as exc:
        send(Error(id=frame.id, code="engine_error", message=str(exc), status=503))
        return
    send(
        End(
            id=frame.id,
            finish_reason=generation.finish_reason or "stop",
            usage=Usage(**generation.usage.as_dict()),
        )
    )


async def run_telegram_request(telegram: TelegramService | None, frame: TelegramRequest, send: Send) -> None:
    """A Telegram message the gateway received by webhook: each reply goes back as one chunk."""
    message = frame.message
    if telegram is None or not telegram.serves(message.bot_id):
        send(Error(id=frame.id, code="unknown_bot", message=f"this clone has no Telegram bot {message.bot_id}", status=404))
        return
    incoming = IncomingMessage(
        bot_id=message.bot_id, chat_id=message.chat_id, user_id=message.user_id, text=message.text
    )
    for reply in await telegram.responder.respond(incoming):
        send(Chunk(id=frame.id, delta=reply))
    send(End(id=frame.id, finish_reason="stop"))
