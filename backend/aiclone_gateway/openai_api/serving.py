"""``OpenAIRelay``: OpenAI Chat Completions relayed to the agent, streaming preserved.

The agent validates and runs the request (it owns the model); the gateway waits for the first
frame before answering, so a refused request gets its real HTTP status, not a broken stream.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from fastapi.responses import JSONResponse, StreamingResponse

from aiclone_gateway.core.errors import ApiError, error_body, error_response
from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.streams import AgentOfflineError, FrameTooLargeError
from aiclone_wire import Chunk, End, Error
from aiclone_wire.openai import ChatCompletionBody

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _sse(payload: dict | str) -> bytes:
    text = (
        payload
        if isinstance(payload, str)
        else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    )
    return f"data: {text}\n\n".encode()


def _memories(end: End) -> list[dict[str, Any]]:
    return [record.model_dump(mode="json", exclude={"person"}) for record in end.memories]


def _finish(reason: str) -> str:
    return "length" if reason == "length" else "stop"


class OpenAIRelay:
    def __init__(self, hub: RelayHub, idle_timeout_s: float, retry_after_s: int) -> None:
        self.hub = hub
        self.idle_timeout_s = idle_timeout_s
        self.retry_after_s = retry_after_s

    def models(self) -> dict[str, Any]:
        hello = self.hub.last_hello
        ids = hello.models if hello else []
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": 0, "owned_by": "aiclone"} for i in ids],
        }

    def _offline(self) -> ApiError:
        return ApiError(
            503,
            "The clone is offline right now; please retry later.",
            code="clone_offline",
            headers={"Retry-After": str(self.retry_after_s)},
        )

    def _retry_headers(self, error: Error) -> dict[str, str] | None:
        """A busy or unavailable clone says when to come back (the agent's estimate if it gave one)."""
        if error.status != 503:
            return None
        return {"Retry-After": str(error.retry_after_s or self.retry_after_s)}

    async def create(
        self, body: ChatCompletionBody, person: str | None = None
    ) -> JSONResponse | StreamingResponse:
        """``person``: the API key owner's memory key (the agent keeps and recalls theirs only)."""
        stack = AsyncExitStack()
        try:
            stream = await stack.enter_async_context(self.hub.stream(body.relayed(), person=person))
        except AgentOfflineError:
            raise self._offline() from None
        except FrameTooLargeError as exc:
            raise ApiError(413, f"{exc}: send a shorter conversation", code="request_too_large") from None
        frames = stream.frames(self.idle_timeout_s)
        first = await anext(frames)
        if isinstance(first, Error):
            await stack.aclose()
            if first.code == "agent_disconnected":
                raise self._offline()
            return error_response(first.status, first.message, first.code, headers=self._retry_headers(first))
        response_id = f"chatcmpl-{stream.id}"
        model = body.model
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            events = self._events(stack, first, frames, response_id, model, include_usage)
            return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
        async with stack:
            return await self._whole(first, frames, response_id, model)

    async def _whole(self, first, frames: AsyncIterator, response_id: str, model: str) -> JSONResponse:
        parts: list[str] = []
        frame = first
        while True:
            if isinstance(frame, Chunk):
                parts.append(frame.delta)
            elif isinstance(frame, Error):
                return error_response(
                    frame.status, frame.message, frame.code, headers=self._retry_headers(frame)
                )
            elif isinstance(frame, End):
                return JSONResponse(
                    {
                        "id": response_id,
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "".join(parts)},
                                "logprobs": None,
                                "finish_reason": _finish(frame.finish_reason),
                            }
                        ],
                        "usage": frame.usage.model_dump(),
                        # the agent's extension, passed through: the knowledge-base chunks it cited
                        "sources": frame.sources,
                        # and the asker's own memories it was given
                        "memories": _memories(frame),
                    }
                )
            frame = await anext(frames)

    async def _events(
        self,
        stack: AsyncExitStack,
        first,
        frames: AsyncIterator,
        response_id: str,
        model: str,
        include_usage: bool,
    ) -> AsyncIterator[bytes]:
        created = int(time.time())

        def chunk(
            delta: dict,
            finish: str | None = None,
            usage: dict | None = None,
            sources: list | None = None,
            memories: list | None = None,
        ) -> bytes:
            choices = (
                [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
            )
            body = {
                "id": response_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": choices,
                "usage": usage,
            }
            if sources is not None:
                body["sources"] = sources
            if memories is not None:
                body["memories"] = memories
            return _sse(body)

        async with stack:
            yield chunk({"role": "assistant", "content": ""})
            frame = first
            while True:
                if isinstance(frame, Chunk):
                    yield chunk({"content": frame.delta})
                elif isinstance(frame, Error):
                    yield _sse(error_body(frame.status, frame.message, frame.code))
                    return
                elif isinstance(frame, End):
                    # the agent's sources arrive with its end frame: on the chunk with finish_reason
                    yield chunk(
                        {},
                        finish=_finish(frame.finish_reason),
                        sources=frame.sources,
                        memories=_memories(frame),
                    )
                    if include_usage:
                        yield chunk({}, usage=frame.usage.model_dump())
                    yield _sse("[DONE]")
                    return
                frame = await anext(frames)
