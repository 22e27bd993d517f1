"""Requests relayed between replicas over Redis Streams, so any replica serves any client.

A replica with no link to the agent (B) relays a request to the replica that holds it (A): it
appends the request to A's request stream and reads the reply stream named after the request.
A serves it over its own link and appends every frame it hears with a sequence number, first
``opened`` (or ``offline`` / ``too_large``, which B raises as the hub would), then the agent's
chunks, and last an ``end`` or ``error``. Streams, unlike pub/sub, keep what B has not read yet,
so no chunk is silently dropped; a gap in the sequence numbers still ends the answer with an
error. Both streams are trimmed (``MAXLEN ~``) and a reply stream expires once nobody reads it.
If A dies, its liveness key lapses within a few seconds and B ends the answer with an explicit
``agent_disconnected`` error instead of waiting out the idle timeout.

Backpressure crosses replicas as it crosses the link: B grants credit back over a stream of its
own (``RedisKeys.credits``) each time its client has taken half a window of entries, and trims
what it read off the reply stream. A writes at most ``RELAY_WINDOW`` entries ahead of B's grants;
while it waits it reads nothing more from the agent, so the agent's own credits run out and it
pauses, exactly as for a slow client of A's. A reader that grants nothing for ``REPLY_TTL_S`` is
gone: A cancels the agent's work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from prometheus_client import Gauge
from redis.asyncio import Redis

from aiclone_gateway.cluster.keys import RedisKeys
from aiclone_gateway.cluster.streams import follow, stream_entries
from aiclone_gateway.relay.streams import (
    AgentOfflineError,
    Channel,
    FrameTooLargeError,
    ReplyFrame,
    ReplyStream,
    Streamed,
    Work,
)
from aiclone_wire import (
    DEFAULT_CREDIT,
    Chunk,
    End,
    Error,
    MemoryRequest,
    MemoryResult,
    TelegramMessage,
    decode,
    encode,
)

log = logging.getLogger(__name__)
REQUESTS_MAXLEN = 10_000
REPLIES_MAXLEN = 50_000
REPLY_TTL_S = 300  # a reply stream nobody reads any more is gone this long after its last frame
POLL_MS = 500  # how long one read blocks before the owner's liveness is checked again
OPEN_TIMEOUT_S = 10  # an owner that never acknowledges a request is treated as gone
RELAY_WINDOW = DEFAULT_CREDIT  # reply entries the owner writes ahead of the reader, as the link's window
CREDITS_MAXLEN = 100


class RequestServing(Protocol):
    """What serves a relayed request here: this replica's own links (the relay hub)."""

    @property
    def linked_here(self) -> bool: ...

    def stream(
        self,
        work: Streamed,
        channel: Channel = ...,
        local_only: bool = ...,
        person: str | None = ...,
        conversation: str | None = ...,
        agent: str | None = ...,
    ) -> AbstractAsyncContextManager[ReplyStream]: ...

    async def ask(self, request: MemoryRequest, local_only: bool = ...) -> MemoryResult | Error: ...


def _work_fields(work: Work) -> dict[str, str]:
    if isinstance(work, TelegramMessage):
        return {"kind": "telegram", "work": encode(work)}
    if isinstance(work, MemoryRequest):
        return {"kind": "memory", "work": encode(work)}
    return {"kind": "chat", "work": json.dumps(work)}


def _work(fields: dict[str, str]) -> Work:
    if fields["kind"] == "telegram":  # a message inside a frame, not a frame: it has no type tag
        return TelegramMessage.model_validate_json(fields["work"])
    if fields["kind"] == "memory":
        message = decode(fields["work"])
        assert isinstance(message, MemoryRequest)
        return message
    work: dict[str, Any] = json.loads(fields["work"])
    return work


def _channel(fields: dict[str, str]) -> Channel:
    return "web" if fields.get("channel") == "web" else "api"


class RemoteStream:
    """The sending side: one request relayed to the owner replica; the same surface as the
    hub's ``RoutedStream`` (``id``, ``finished``, ``cancel``, ``frames``)."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        owner: str,
        owner_alive: Callable[[], Awaitable[bool]],
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.owner = owner
        self.owner_alive = owner_alive
        self.id = uuid.uuid4().hex
        self.finished = False
        self._cancelled = False
        self._next_seq = 0
        self._last_entry = "0-0"
        self._granted = 0  # reply entries read when credit was last granted to the owner
        self._tasks: set[asyncio.Task] = set()

    async def open(
        self, work: Work, channel: Channel, person: str | None = None, agent_id: str | None = None
    ) -> None:
        """Send the request (``person``: the asker's memory key, stamped by this replica;
        ``agent_id``: the agent this replica chose, which the owner serves it on); returns
        once the owner's link took it. Raises ``AgentOfflineError`` when the owner has no link (or
        is gone) and ``FrameTooLargeError`` as the link would."""
        request: dict[Any, Any] = {"id": self.id, "channel": channel, **_work_fields(work)}
        if person is not None:
            request["person"] = person
        if agent_id is not None:
            request["agent"] = agent_id
        await self.redis.xadd(
            self.keys.requests(self.owner),
            request,
            maxlen=REQUESTS_MAXLEN,
            approximate=True,
        )
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while True:
            entry = await self._read_one(POLL_MS)
            if entry is not None:
                break
            if time.monotonic() > deadline or not await self.owner_alive():
                self.finished = True
                raise AgentOfflineError
        kind = entry.get("kind")
        if kind == "opened":
            return
        self.finished = True
        await self.redis.delete(self.keys.replies(self.id))
        if kind == "too_large":
            size, limit = json.loads(entry["detail"])
            raise FrameTooLargeError(size, limit)
        raise AgentOfflineError

    async def _read_one(self, block_ms: int) -> dict[str, str] | None:
        """The next reply entry in sequence (a gap raises), or None when none came in time."""
        answer = await self.redis.xread(
            {self.keys.replies(self.id): self._last_entry}, count=1, block=block_ms
        )
        entries = stream_entries(answer)
        if not entries:
            return None
        entry_id, fields = entries[0]
        self._last_entry = entry_id
        seq = int(fields["seq"])
        if seq != self._next_seq:
            raise _SequenceGap(f"reply frame {seq} arrived where {self._next_seq} was due")
        self._next_seq += 1
        return fields

    async def _grant(self) -> None:
        """Tell the owner how far this side has read once half a window was taken since the last
        grant (the link's rhythm), and drop what was read from the reply stream."""
        if (self._next_seq - self._granted) * 2 < RELAY_WINDOW:
            return
        self._granted = self._next_seq
        credits, replies = self.keys.credits(self.id), self.keys.replies(self.id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(credits, {"read": self._next_seq}, maxlen=CREDITS_MAXLEN, approximate=True)
            pipe.expire(credits, REPLY_TTL_S)
            pipe.xtrim(replies, minid=self._last_entry, approximate=False)
            await pipe.execute()

    def cancel(self) -> None:
        """Stop the agent's work (through the owner) and end this stream with ``cancelled``."""
        if self.finished or self._cancelled:
            return
        self._cancelled = True
        task = asyncio.create_task(self._send_cancel())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_cancel(self) -> None:
        fields: dict[Any, Any] = {"cancel": self.id}
        await self.redis.xadd(self.keys.requests(self.owner), fields, maxlen=REQUESTS_MAXLEN)

    async def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]:
        """The agent's frames in order; always ends with ``end`` or ``error``."""
        async with contextlib.aclosing(self._frames(idle_timeout_s)) as frames:
            async for frame in frames:
                if isinstance(frame, MemoryResult):  # the answer to a memory request, never a stream's
                    frame = Error(id=self.id, code="internal_error", message="the gateway failed", status=500)
                yield frame

    async def answer(self, idle_timeout_s: float) -> MemoryResult | Error:
        """A memory request's one answer (``memory_result`` or ``error``); ``AgentOfflineError``
        when the request ended without one."""
        async with contextlib.aclosing(self._frames(idle_timeout_s)) as frames:
            async for frame in frames:
                if isinstance(frame, MemoryResult | Error):
                    return frame
        raise AgentOfflineError

    async def _frames(self, idle_timeout_s: float) -> AsyncGenerator[ReplyFrame | MemoryResult, None]:
        """The agent's frames in order; always ends with ``end`` or ``error`` (a memory request:
        with its one ``memory_result`` or ``error``)."""
        heard = time.monotonic()
        try:
            while not self.finished:
                if self._cancelled:
                    self.finished = True
                    yield End(id=self.id, finish_reason="cancelled")
                    return
                try:
                    await self._grant()  # the consumer came back for more: it took what it had
                    entry = await self._read_one(POLL_MS)
                except _SequenceGap as gap:
                    self.cancel()
                    self.finished = True
                    yield Error(id=self.id, code="relay_gap", message=f"part of the answer was lost ({gap})")
                    return
                if entry is None:
                    if not await self.owner_alive():
                        self.finished = True
                        yield Error(
                            id=self.id,
                            code="agent_disconnected",
                            message="the gateway replica that holds the clone's link stopped; ask again",
                            status=502,
                        )
                    elif time.monotonic() - heard > idle_timeout_s:
                        self.cancel()
                        self.finished = True
                        yield Error(
                            id=self.id,
                            code="agent_timeout",
                            message=f"the clone sent nothing for {idle_timeout_s:g} s",
                            status=504,
                        )
                    continue
                heard = time.monotonic()
                frame = decode(entry["frame"])
                assert isinstance(frame, Chunk | End | Error | MemoryResult)
                if not isinstance(frame, Chunk):
                    self.finished = True
                yield frame
        finally:
            with contextlib.suppress(Exception):
                await asyncio.shield(
                    self.redis.delete(self.keys.replies(self.id), self.keys.credits(self.id))
                )


class _SequenceGap(Exception):
    pass


class ReaderCredit:
    """The owner's view of how far the reading replica has read one reply stream."""

    def __init__(self, redis: Redis, keys: RedisKeys, request_id: str, waiting: Gauge) -> None:
        self.redis = redis
        self.keys = keys
        self.request_id = request_id
        self.waiting = waiting
        self.granted = 0  # reply entries the reader has read, as it last said
        self._last_grant = "0-0"
        self._cancelled = asyncio.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    async def room_for(self, seq: int) -> bool:
        """Wait until entry ``seq`` is within the window ahead of the reader; False when the
        request was cancelled meanwhile or the reader granted nothing for ``REPLY_TTL_S`` (gone)."""
        if seq - self.granted < RELAY_WINDOW:
            return not self._cancelled.is_set()
        self.waiting.inc()
        try:
            heard = time.monotonic()
            while seq - self.granted >= RELAY_WINDOW:
                if self._cancelled.is_set() or time.monotonic() - heard > REPLY_TTL_S:
                    return False
                answer = await self.redis.xread(
                    {self.keys.credits(self.request_id): self._last_grant},
                    count=CREDITS_MAXLEN,
                    block=POLL_MS,
                )
                for entry_id, fields in stream_entries(answer):
                    self._last_grant = entry_id
                    self.granted = max(self.granted, int(fields["read"]))
                    heard = time.monotonic()
                # what the reader has not read yet must outlive the wait
                await self.redis.expire(self.keys.replies(self.request_id), REPLY_TTL_S)
            return not self._cancelled.is_set()
        finally:
            self.waiting.dec()


class RequestServer:
    """The owning side: serves the requests other replicas append to this replica's stream over
    this replica's own agent link. ``waiting``: how many of them wait for their reader's credit
    now (a slow client on the other replica holds the agent back, as a local one does)."""

    def __init__(
        self,
        redis: Redis,
        keys: RedisKeys,
        replica: str,
        links: RequestServing,
        idle_timeout_s: float,
        waiting: Gauge,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.replica = replica
        self.links = links
        self.idle_timeout_s = idle_timeout_s
        self.waiting = waiting
        self._live: dict[str, ReplyStream] = {}
        self._credits: dict[str, ReaderCredit] = {}
        self._tasks: set[asyncio.Task] = set()

    async def run(self) -> None:
        await follow(self.redis, self.keys.requests(self.replica), self._take, "relayed requests")

    def _take(self, fields: dict[str, str]) -> None:
        if "cancel" in fields:
            live = self._live.get(fields["cancel"])
            if live is not None:
                live.cancel()
            credit = self._credits.get(fields["cancel"])
            if credit is not None:
                credit.cancel()
            return
        task = asyncio.create_task(self._serve(fields), name=f"relayed-{fields['id']}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, fields: dict[str, str]) -> None:
        request_id = fields["id"]
        reply = self.keys.replies(request_id)
        credit = self._credits[request_id] = ReaderCredit(self.redis, self.keys, request_id, self.waiting)
        seq = 0

        async def put(kind: str, **extra: str) -> None:
            nonlocal seq
            fields: dict[Any, Any] = {"seq": seq, "kind": kind, **extra}
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xadd(reply, fields, maxlen=REPLIES_MAXLEN, approximate=True)
                pipe.expire(reply, REPLY_TTL_S)
                await pipe.execute()
            seq += 1

        try:
            work = _work(fields)
            if isinstance(work, MemoryRequest):
                await self._ask(work, put)
                return
            async with self.links.stream(
                work,
                _channel(fields),
                local_only=True,
                person=fields.get("person"),
                agent=fields.get("agent"),
            ) as stream:
                self._live[request_id] = stream
                await put("opened")
                frame: ReplyFrame
                async for frame in stream.frames(self.idle_timeout_s):
                    if not await credit.room_for(seq):
                        return  # cancelled, or the reader is gone: leaving cancels the agent's work
                    await put("frame", frame=encode(frame))
        except AgentOfflineError:
            await put("offline")
        except FrameTooLargeError as exc:
            await put("too_large", detail=json.dumps([exc.size, exc.limit]))
        except Exception:
            log.exception("cluster: serving relayed request %s failed", request_id)
            error = Error(id=request_id, code="internal_error", message="the gateway failed", status=500)
            with contextlib.suppress(Exception):
                await put("frame", frame=encode(error))
        finally:
            self._live.pop(request_id, None)
            self._credits.pop(request_id, None)

    async def _ask(self, request: MemoryRequest, put: Callable[..., Awaitable[None]]) -> None:
        """A memory request: one answer frame after ``opened`` (a link lost meanwhile answers
        ``agent_disconnected``, as a stream's would)."""
        if not self.links.linked_here:
            raise AgentOfflineError
        await put("opened")
        answer: MemoryResult | Error
        try:
            answer = await self.links.ask(request, local_only=True)
        except AgentOfflineError:
            answer = Error(
                id=request.id, code="agent_disconnected", message="the link to the clone was lost", status=503
            )
        await put("frame", frame=encode(answer))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
