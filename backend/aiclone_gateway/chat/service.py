"""Public chat: a question in, the clone's answer streamed out as protocol frames.

The gateway keeps the conversation; each turn sends the agent the whole history as an OpenAI
``messages`` list and relays the answer chunk by chunk. With no agent linked the question is
saved as queued; when the agent links again ``drain`` answers the queue oldest first and pushes
each answer to its user's open sockets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from typing import Any

import anyio

from aiclone_gateway.chat.history import newest_that_fit
from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ConversationNotFoundError, ConversationStore
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.models import Message
from aiclone_gateway.relay.hub import AgentOfflineError, RelayHub
from aiclone_gateway.relay.link import RelayStream
from aiclone_wire import Chunk, End, Error

log = logging.getLogger(__name__)
OFFLINE_MESSAGE = (
    "The clone is offline right now; your question is saved and will be answered when it is back."
)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("answering the queue failed", exc_info=task.exception())


class ChatService:
    def __init__(
        self,
        store: ConversationStore,
        hub: RelayHub,
        sockets: ChatSockets,
        metrics: GatewayMetrics,
        idle_timeout_s: float,
        max_frame_bytes: int,
    ) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.store = store
        self.hub = hub
        self.sockets = sockets
        self.metrics = metrics
        self.idle_timeout_s = idle_timeout_s
        self._live: dict[str, tuple[str, RelayStream]] = {}
        self._drain_task: asyncio.Task | None = None
        self._drain_again = False
        self._requests: set[asyncio.Task] = set()
        hub.on_change(self._agent_changed)

    def _agent_changed(self, online: bool) -> None:
        self.sockets.broadcast({"type": "status", "agent_online": online})
        if online:
            self.schedule_drain()

    async def _body(self, conversation_id: str, before: float) -> dict[str, Any]:
        history = await self.store.messages(conversation_id, before=before)
        messages = newest_that_fit(
            [{"role": m.role, "content": m.content} for m in history if m.status == "done" and m.content],
            self.max_frame_bytes,
        )
        hello = self.hub.last_hello
        model = hello.clone_id if hello and hello.clone_id else "clone"
        return {"model": model, "messages": messages, "stream": True}

    async def turn(
        self, user_id: str, conversation_id: str | None, text: str, client_id: str | None, request_id: str
    ) -> AsyncGenerator[dict, None]:
        """Frames for one question: accepted, chunk..., end | error; or queued when offline."""
        try:
            conversation, _, answer = await self.store.start_turn(
                user_id, conversation_id, text, queued=not self.hub.online
            )
        except ConversationNotFoundError:
            yield {
                "type": "error",
                "request_id": request_id,
                "code": "conversation_not_found",
                "message": f"conversation {conversation_id} not found",
            }
            return
        if answer.queued:
            yield self._queued_frame(request_id, conversation.id, answer.id)
            self.schedule_drain()
            return
        body = await self._body(conversation.id, before=answer.created_at)
        try:
            async with self.hub.stream(body, channel="web") as stream:
                self._live[request_id] = (user_id, stream)
                yield {
                    "type": "accepted",
                    "request_id": request_id,
                    "conversation_id": conversation.id,
                    "client_id": client_id,
                    "message_id": answer.id,
                }
                async for frame in self._relay(stream, request_id, answer):
                    yield frame
        except AgentOfflineError:
            await self.store.requeue(answer.id)
            yield self._queued_frame(request_id, conversation.id, answer.id)
            self.schedule_drain()
        finally:
            self._live.pop(request_id, None)

    async def _relay(self, stream: RelayStream, request_id: str, answer: Message) -> AsyncIterator[dict]:
        parts: list[str] = []
        finished = False
        try:
            async for frame in stream.frames(self.idle_timeout_s):
                if isinstance(frame, Chunk):
                    parts.append(frame.delta)
                    yield {"type": "chunk", "request_id": request_id, "delta": frame.delta}
                elif isinstance(frame, End):
                    finished = True
                    await self.store.finish(answer.id, "".join(parts), "done", frame.finish_reason)
                    yield {
                        "type": "end",
                        "request_id": request_id,
                        "finish_reason": frame.finish_reason,
                        "usage": frame.usage.model_dump(),
                        "message_id": answer.id,
                    }
                elif isinstance(frame, Error):
                    finished = True
                    await self.store.finish(answer.id, "".join(parts), "error", frame.code)
                    yield {
                        "type": "error",
                        "request_id": request_id,
                        "code": frame.code,
                        "message": frame.message,
                    }
        finally:
            if not finished:  # the client went away mid-answer: keep what was said
                with anyio.CancelScope(shield=True):
                    await self.store.finish(answer.id, "".join(parts), "done", "cancelled")

    def cancel(self, user_id: str, request_id: str) -> bool:
        live = self._live.get(request_id)
        if live is None or live[0] != user_id:
            return False
        live[1].cancel()
        return True

    @staticmethod
    def _queued_frame(request_id: str, conversation_id: str, message_id: str) -> dict:
        return {
            "type": "queued",
            "request_id": request_id,
            "conversation_id": conversation_id,
            "message_id": message_id,
            "message": OFFLINE_MESSAGE,
        }

    def schedule_drain(self) -> None:
        if not self.hub.online:
            return
        if self._drain_task is not None and not self._drain_task.done():
            self._drain_again = True
            return
        self._drain_task = asyncio.create_task(self.drain(), name="chat-drain")
        self._drain_task.add_done_callback(_log_failure)

    async def drain(self) -> None:
        """Answer queued questions, oldest first, while the agent stays linked."""
        while True:
            self._drain_again = False
            while self.hub.online and (answer := await self.store.next_queued()) is not None:
                if not await self._answer_queued(answer):
                    return
            if not self._drain_again:
                return

    async def _answer_queued(self, answer: Message) -> bool:
        """False when the link dropped (the question stays queued)."""
        body = await self._body(answer.conversation_id, before=answer.created_at)
        parts: list[str] = []
        try:
            async with self.hub.stream(body, channel="web") as stream:
                async for frame in stream.frames(self.idle_timeout_s):
                    if isinstance(frame, Chunk):
                        parts.append(frame.delta)
                    elif isinstance(frame, End):
                        status, reason = "done", frame.finish_reason
                    elif isinstance(frame, Error):
                        if frame.code in ("agent_disconnected", "agent_timeout"):
                            return False
                        status, reason = "error", frame.code
                        parts = [frame.message]
        except AgentOfflineError:
            return False
        content = "".join(parts)
        await self.store.finish(answer.id, content, status, reason)
        user_id = await self.store.owner_of(answer.conversation_id)
        if user_id is not None:
            self.sockets.push(
                user_id,
                {
                    "type": "answer",
                    "conversation_id": answer.conversation_id,
                    "message_id": answer.id,
                    "content": content,
                    "status": status,
                },
            )
        log.info("answered queued question %s", answer.id)
        return True

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a chat request in the background; it outlives the socket that asked (its answer is stored)."""
        task = asyncio.create_task(work)
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def close(self) -> None:
        tasks = [*self._requests, *([self._drain_task] if self._drain_task else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
