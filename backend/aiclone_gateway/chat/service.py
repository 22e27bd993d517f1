"""Public chat: a question in, the clone's answer streamed out as protocol frames.

The gateway keeps the conversation; each turn sends the agent the whole history as an OpenAI
``messages`` list and relays the answer chunk by chunk. With no agent linked the question is
saved as queued; when the agent links again ``drain`` answers the queue oldest first and pushes
each answer to its user's open sockets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

import anyio

from aiclone_gateway.chat.history import newest_that_fit
from aiclone_gateway.chat.protocol import (
    AcceptedFrame,
    AnswerFrame,
    ChunkFrame,
    EndFrame,
    ErrorFrame,
    Memory,
    QueuedFrame,
    ServerFrame,
    Source,
    StatusFrame,
    Usage,
    cited_sources,
    recalled_memories,
)
from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ChatQuotaError, ConversationNotFoundError, ConversationStore
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.core.rate_limit import (
    Concurrency,
    ConcurrencyLimit,
    RateLimiter,
    SlidingWindowLimiter,
    retry_after,
)
from aiclone_gateway.models import Message
from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.streams import AgentOfflineError, ReplyStream
from aiclone_wire import Chunk, End, Error, user_person
from aiclone_wire.paths import NetworkMode

log = logging.getLogger(__name__)
OFFLINE_MESSAGE = (
    "The clone is offline right now; your question is saved and will be answered when it is back."
)


def _stored(sources: list[Source]) -> list[dict]:
    """Sources as the conversation keeps them: exactly what the frames carried."""
    return [source.model_dump() for source in sources]


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("answering the queue failed", exc_info=task.exception())


@dataclass(frozen=True)
class ChatLimits:
    """Per-user limits on chat volume (the store holds the ones about stored data)."""

    messages_per_minute: int = 20
    max_concurrent: int = 2
    max_queued_attempts: int = 3  # a queued question that fails this often ends as failed


class ChatService:
    def __init__(
        self,
        store: ConversationStore,
        hub: RelayHub,
        sockets: ChatSockets,
        metrics: GatewayMetrics,
        idle_timeout_s: float,
        max_frame_bytes: int,
        replica: str,
        limits: ChatLimits | None = None,
        rate: RateLimiter | None = None,
        concurrency: Concurrency | None = None,
    ) -> None:
        """``replica``: this replica's id, kept on the answers it streams. ``rate`` and
        ``concurrency``: shared ones (Redis) with several replicas; by default this process's own
        (``SlidingWindowLimiter``, ``ConcurrencyLimit``)."""
        self.limits = limits or ChatLimits()
        self._rate: RateLimiter = rate or SlidingWindowLimiter(self.limits.messages_per_minute, 60.0)
        self._active: Concurrency = concurrency or ConcurrencyLimit(self.limits.max_concurrent)
        self._served: dict[str, float] = {}  # user id -> when the drain last answered one of theirs
        self._failures: dict[str, int] = {}  # queued message id -> failed attempts
        self.max_frame_bytes = max_frame_bytes
        self.store = store
        self.hub = hub
        self.sockets = sockets
        self.metrics = metrics
        self.idle_timeout_s = idle_timeout_s
        self.replica = replica
        self._live: dict[str, tuple[str, ReplyStream]] = {}
        self._drain_task: asyncio.Task | None = None
        self._drain_again = False
        self._requests: set[asyncio.Task] = set()
        hub.on_change(self._agent_changed)
        hub.on_mode(self._mode_changed)

    def status_frame(self) -> StatusFrame:
        return StatusFrame(agent_online=self.hub.online, network_mode=self.hub.network_mode())

    def _agent_changed(self, online: bool) -> None:
        self.sockets.broadcast(StatusFrame(agent_online=online, network_mode=self.hub.network_mode()))
        if online:
            self.schedule_drain()

    def _mode_changed(self, mode: NetworkMode) -> None:
        self.sockets.broadcast(StatusFrame(agent_online=self.hub.online, network_mode=mode))

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
    ) -> AsyncGenerator[ServerFrame, None]:
        """Frames for one question: accepted, chunk..., end | error; or queued when offline."""
        if not await self._active.acquire(user_id):
            yield ErrorFrame(
                request_id=request_id,
                code="too_many_requests",
                message=f"at most {self.limits.max_concurrent} questions at a time: wait for an answer",
            )
            return
        try:
            refused = await self._rate_limited(user_id, request_id)
            if refused is not None:
                yield refused
                return
            async for frame in self._turn(user_id, conversation_id, text, client_id, request_id):
                yield frame
        finally:
            with anyio.CancelScope(shield=True):
                await self._active.release(user_id)

    async def _rate_limited(self, user_id: str, request_id: str) -> ErrorFrame | None:
        """An error frame when the user is over the message rate, else None."""
        wait = await self._rate.check(user_id)
        if wait is not None:
            return ErrorFrame(
                request_id=request_id,
                code="rate_limited",
                message=f"at most {self.limits.messages_per_minute} messages a minute; "
                f"try again in {retry_after(wait)} s",
                retry_after=int(retry_after(wait)),
            )
        return None

    async def _turn(
        self, user_id: str, conversation_id: str | None, text: str, client_id: str | None, request_id: str
    ) -> AsyncGenerator[ServerFrame, None]:
        try:
            conversation, _, answer = await self.store.start_turn(
                user_id, conversation_id, text, queued=not self.hub.online, replica=self.replica
            )
        except ConversationNotFoundError:
            yield ErrorFrame(
                request_id=request_id,
                code="conversation_not_found",
                message=f"conversation {conversation_id} not found",
            )
            return
        except ChatQuotaError as exc:
            yield ErrorFrame(request_id=request_id, code=exc.code, message=exc.message)
            return
        if answer.queued:
            yield self._queued_frame(request_id, conversation.id, answer.id)
            self.schedule_drain()
            return
        body = await self._body(conversation.id, before=answer.created_at)
        try:
            async with self.hub.stream(
                body, channel="web", person=user_person(user_id), conversation=conversation.id
            ) as stream:
                self._live[request_id] = (user_id, stream)
                yield AcceptedFrame(
                    request_id=request_id,
                    conversation_id=conversation.id,
                    client_id=client_id,
                    message_id=answer.id,
                )
                async for frame in self._relay(stream, request_id, answer):
                    yield frame
        except AgentOfflineError:
            await self.store.requeue(answer.id)
            yield self._queued_frame(request_id, conversation.id, answer.id)
            self.schedule_drain()
        finally:
            self._live.pop(request_id, None)

    async def _relay(
        self, stream: ReplyStream, request_id: str, answer: Message
    ) -> AsyncIterator[ServerFrame]:
        parts: list[str] = []
        finished = False
        try:
            async for frame in stream.frames(self.idle_timeout_s):
                if isinstance(frame, Chunk):
                    parts.append(frame.delta)
                    yield ChunkFrame(request_id=request_id, delta=frame.delta)
                elif isinstance(frame, End):
                    finished = True
                    sources = cited_sources(frame.sources)
                    await self.store.finish(
                        answer.id, "".join(parts), "done", frame.finish_reason, _stored(sources)
                    )
                    yield EndFrame(
                        request_id=request_id,
                        finish_reason=frame.finish_reason,
                        usage=Usage.model_validate(frame.usage, from_attributes=True),
                        message_id=answer.id,
                        sources=sources,
                        memories=recalled_memories(frame.memories),
                    )
                elif isinstance(frame, Error):
                    finished = True
                    await self.store.finish(answer.id, "".join(parts), "error", frame.code)
                    yield ErrorFrame(request_id=request_id, code=frame.code, message=frame.message)
        finally:
            if not finished:  # the client went away mid-answer: keep what was said
                with anyio.CancelScope(shield=True):
                    await self.store.finish(answer.id, "".join(parts), "done", "cancelled")

    async def recover(self, other_live_replicas: set[str] | None = None) -> None:
        """At start: answers cut by a crash are queued again and answered once the agent links.
        With replicas, answers the other live replicas are streaming now are left alone."""
        interrupted = await self.store.requeue_interrupted(spare=other_live_replicas or set())
        if interrupted:
            log.warning(
                "chat: %d answers were cut by a restart; they are queued and answered again", interrupted
            )
            self.schedule_drain()

    def cancel_user(self, user_id: str) -> None:
        """Stop every answer ``user_id`` is being streamed (their account was blocked or deleted)."""
        for owner, stream in list(self._live.values()):
            if owner == user_id:
                stream.cancel()

    def cancel(self, user_id: str, request_id: str) -> bool:
        live = self._live.get(request_id)
        if live is None or live[0] != user_id:
            return False
        live[1].cancel()
        return True

    @staticmethod
    def _queued_frame(request_id: str, conversation_id: str, message_id: str) -> QueuedFrame:
        return QueuedFrame(
            request_id=request_id,
            conversation_id=conversation_id,
            message_id=message_id,
            message=OFFLINE_MESSAGE,
        )

    def schedule_drain(self) -> None:
        """Answer the queue here if the agent is linked here (one replica drains: the holder)."""
        if not self.hub.linked_here:
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
            while self.hub.linked_here and (
                answer := await self.store.claim_next_queued(self.replica, self._served)
            ):
                try:
                    answered = await self._answer_queued(answer)
                except BaseException:  # cancelled (shutdown) or failed: give the question back now
                    with anyio.CancelScope(shield=True):
                        await self.store.requeue_pending(answer.id)
                    raise
                if not answered:
                    return
            if not self._drain_again:
                return

    async def _answer_queued(self, answer: Message) -> bool:
        """``answer``: claimed by this drain. False when the link dropped (the question goes back
        to the queue, unless it has now failed ``max_queued_attempts`` times: then it ends as
        failed, with the reason, and the drain goes on)."""
        body = await self._body(answer.conversation_id, before=answer.created_at)
        user_id = await self.store.owner_of(answer.conversation_id)
        parts: list[str] = []
        sources: list[Source] = []
        memories: list[Memory] = []
        status: Literal["done", "error"] = "error"
        reason = "no_answer"
        try:
            person = user_person(user_id) if user_id is not None else None
            async with self.hub.stream(
                body, channel="web", person=person, conversation=answer.conversation_id
            ) as stream:
                async for frame in stream.frames(self.idle_timeout_s):
                    if isinstance(frame, Chunk):
                        parts.append(frame.delta)
                    elif isinstance(frame, End):
                        status, reason, sources = "done", frame.finish_reason, cited_sources(frame.sources)
                        memories = recalled_memories(frame.memories)
                    elif isinstance(frame, Error):
                        if frame.code in ("agent_disconnected", "agent_timeout"):
                            return await self._queued_attempt_failed(answer, frame.code)
                        status, reason = "error", frame.code
                        parts = [frame.message]
        except AgentOfflineError:
            await self.store.requeue(answer.id)
            return False
        self._failures.pop(answer.id, None)
        await self._deliver_queued(answer, "".join(parts), status, reason, sources, memories)
        return True

    async def _queued_attempt_failed(self, answer: Message, code: str) -> bool:
        attempts = self._failures.get(answer.id, 0) + 1
        if attempts < self.limits.max_queued_attempts:
            self._failures[answer.id] = attempts
            await self.store.requeue(answer.id)
            return False
        self._failures.pop(answer.id, None)
        message = f"the clone failed to answer this question {attempts} times ({code}); ask again"
        self.spawn(self._deliver_queued(answer, message, "error", "failed_after_retries", []))
        return False

    async def _deliver_queued(
        self,
        answer: Message,
        content: str,
        status: Literal["done", "error"],
        reason: str | None,
        sources: list[Source],
        memories: list[Memory] | None = None,
    ) -> None:
        await self.store.finish(answer.id, content, status, reason, _stored(sources))
        user_id = await self.store.owner_of(answer.conversation_id)
        if user_id is not None:
            self._served[user_id] = time.monotonic()
        if user_id is not None:
            self.sockets.push(
                user_id,
                AnswerFrame(
                    conversation_id=answer.conversation_id,
                    message_id=answer.id,
                    content=content,
                    status=status,
                    sources=sources,
                    memories=memories or [],
                ),
            )
        log.info("answered queued question %s (%s)", answer.id, status)

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
