"""One live agent link at the gateway: the multiplexed request streams over one WebSocket.

``AgentLink.run`` reads frames and routes them to their request's ``RelayStream``, writes from
one outbox (so frames never interleave), and pings; it returns when the socket closes, the
agent stays silent past the heartbeat timeout, or a newer link replaces it. Whatever the
reason, every request still open then gets an ``error`` frame: nothing waits forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.relay.streams import Channel, FrameTooLargeError, ReplyFrame, Streamed
from aiclone_wire import (
    DEFAULT_CREDIT,
    MAX_REQUEST_FRAME_BYTES,
    AgentLoad,
    Cancel,
    Chunk,
    Credit,
    End,
    Error,
    Hello,
    MemoryRequest,
    MemoryResult,
    Ping,
    Pong,
    Request,
    TelegramBots,
    TelegramMessage,
    TelegramRequest,
    TelegramStatus,
    decode,
    encode,
)
from aiclone_wire.messages import WireError
from aiclone_wire.paths import PathHealth, ProbePolicy

log = logging.getLogger(__name__)


class RelayStream:
    """The frames the agent sends back for one request, in order; ends with ``end`` or ``error``."""

    def __init__(self, link: AgentLink, request_id: str, window: int) -> None:
        self.link = link
        self.id = request_id
        self.window = window
        self.finished = False
        self._frames: asyncio.Queue[ReplyFrame] = asyncio.Queue()
        self._unacknowledged = 0

    def deliver(self, frame: ReplyFrame) -> None:
        self._frames.put_nowait(frame)

    def cancel(self) -> None:
        """Stop the agent's work and end this stream now with finish reason ``cancelled``."""
        if not self.finished:
            self.link.send(Cancel(id=self.id))
            self.link.forget(self.id)
            self.deliver(End(id=self.id, finish_reason="cancelled"))

    async def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]:
        while not self.finished:
            try:
                frame = self._frames.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    frame = await asyncio.wait_for(self._frames.get(), idle_timeout_s)
                except asyncio.TimeoutError:
                    self.cancel()
                    self.link.metrics.count_relay_error("agent_timeout")
                    frame = Error(
                        id=self.id,
                        code="agent_timeout",
                        message=f"the clone sent nothing for {idle_timeout_s:g} s",
                        status=504,
                    )
            if isinstance(frame, Chunk):
                self._unacknowledged += 1
                if self._unacknowledged * 2 >= self.window:
                    self.link.send(Credit(id=self.id, chunks=self._unacknowledged))
                    self._unacknowledged = 0
            else:
                self.finished = True
            yield frame


class AgentLink:
    def __init__(
        self,
        websocket: WebSocket,
        agent_id: str,
        hello: Hello,
        metrics: GatewayMetrics,
        heartbeat_interval_s: float,
        heartbeat_timeout_s: float,
        on_telegram: Callable[[TelegramBots], Awaitable[TelegramStatus]] | None = None,
        health: PathHealth | None = None,
        probe: ProbePolicy | None = None,
    ) -> None:
        self.websocket = websocket
        # this path's trust and round trip (the hub routes on it); probes faster while busy
        self.health = health or PathHealth("relay")
        self.probe = probe or ProbePolicy(heartbeat_interval_s, heartbeat_interval_s)
        self.on_telegram = on_telegram
        self._side_tasks: set[asyncio.Task] = set()
        self.agent_id = agent_id
        self.hello = hello
        self.metrics = metrics
        self.heartbeat_interval_s = heartbeat_interval_s
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self.rtt_s: float | None = None
        self.streams: dict[str, RelayStream] = {}
        # the agent's last ``agent_load`` report (relay link only; None until the first, or from
        # an agent too old to send one)
        self.load: AgentLoad | None = None
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        # memory requests waiting for their one answer (a memory_result or an error), by id
        self._questions: dict[str, asyncio.Future[MemoryResult | Error]] = {}
        self._last_heard = time.monotonic()
        self._stop = asyncio.Event()
        self.close_reason = "closed"
        # set once the link has ended (its requests failed over), though the hub may hold it a
        # moment longer: no new request may be opened on it then
        self.closed = False

    def send(self, frame: Any) -> None:
        self._outbox.put_nowait(encode(frame))

    def open(
        self,
        work: Streamed,
        window: int = DEFAULT_CREDIT,
        max_frame_bytes: int = MAX_REQUEST_FRAME_BYTES,
        channel: Channel = "api",
        request_id: str | None = None,
        person: str | None = None,
    ) -> RelayStream:
        """Send one request: an OpenAI body (from ``channel`` web or api), or a Telegram message
        (only the webhook code has one). ``person``: the authenticated asker's memory key.

        ``request_id`` is the request's idempotency key: a retry on the other path reuses it, so
        the agent drops the first run instead of answering twice."""
        request_id = request_id or uuid.uuid4().hex
        if isinstance(work, TelegramMessage):
            frame: Request | TelegramRequest = TelegramRequest(id=request_id, message=work, credit=window)
        else:
            frame = Request(id=request_id, body=work, credit=window, channel=channel, person=person)
        text = encode(frame)
        size = len(text.encode())
        if size > max_frame_bytes:
            raise FrameTooLargeError(size, max_frame_bytes)
        stream = RelayStream(self, request_id, window)
        self.streams[stream.id] = stream
        self.metrics.in_flight.inc()
        self._outbox.put_nowait(text)
        return stream

    async def ask(self, request: MemoryRequest, timeout_s: float) -> MemoryResult | Error:
        """Send one memory request and wait for its answer; a lost link or silence past
        ``timeout_s`` answers an ``agent_disconnected`` / ``agent_timeout`` error."""
        answer: asyncio.Future[MemoryResult | Error] = asyncio.get_running_loop().create_future()
        self._questions[request.id] = answer
        self.send(request)
        try:
            return await asyncio.wait_for(answer, timeout_s)
        except asyncio.TimeoutError:  # (not the builtin TimeoutError before Python 3.11)
            return Error(
                id=request.id,
                code="agent_timeout",
                message=f"the clone sent nothing for {timeout_s:g} s",
                status=504,
            )
        finally:
            self._questions.pop(request.id, None)

    def forget(self, request_id: str) -> None:
        if self.streams.pop(request_id, None) is not None:
            self.metrics.in_flight.dec()

    def stop(self, reason: str) -> None:
        self.close_reason = reason
        self._stop.set()

    async def run(self) -> None:
        self.health.up(time.monotonic())
        tasks = [
            asyncio.create_task(self._read(), name="link-read"),
            asyncio.create_task(self._write(), name="link-write"),
            asyncio.create_task(self._heartbeat(), name="link-heartbeat"),
            asyncio.create_task(self._stop.wait(), name="link-stop"),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.health.down()
            self.closed = True
            self._fail_open_streams()
            with contextlib.suppress(Exception):
                code = 4000 if self.close_reason == "replaced" else 1001
                await asyncio.wait_for(self.websocket.close(code=code, reason=self.close_reason), 2)

    def _fail_open_streams(self) -> None:
        message = (
            "the link to the clone was lost" if self.close_reason != "replaced" else "the clone reconnected"
        )
        for request_id, stream in list(self.streams.items()):
            self.metrics.count_relay_error("agent_disconnected")
            stream.deliver(
                Error(
                    id=request_id, code="agent_disconnected", message=f"{message}; please retry", status=503
                )
            )
            self.forget(request_id)
        for request_id, answer in list(self._questions.items()):
            if not answer.done():
                answer.set_result(
                    Error(
                        id=request_id,
                        code="agent_disconnected",
                        message=f"{message}; please retry",
                        status=503,
                    )
                )

    async def _read(self) -> None:
        try:
            while True:
                text = await self.websocket.receive_text()
                self._last_heard = time.monotonic()
                self.health.heard(self._last_heard)
                try:
                    frame = decode(text)
                except WireError as exc:
                    log.warning("agent %s sent a bad frame: %s", self.agent_id, exc)
                    continue
                self._dispatch(frame)
        except (WebSocketDisconnect, RuntimeError):
            self.close_reason = "agent disconnected"

    def _dispatch(self, frame: Any) -> None:
        if isinstance(frame, Chunk):
            stream = self.streams.get(frame.id)
            if stream is not None:
                self.metrics.relayed_chunks.inc()
                stream.deliver(frame)
        elif isinstance(frame, MemoryResult) or (isinstance(frame, Error) and frame.id in self._questions):
            answer = self._questions.get(frame.id or "")
            if answer is not None and not answer.done():
                answer.set_result(frame)
        elif isinstance(frame, (End, Error)):
            stream = self.streams.get(frame.id) if frame.id else None
            if stream is not None and frame.id:
                if isinstance(frame, Error):
                    self.metrics.count_relay_error(frame.code)
                self.forget(frame.id)
                stream.deliver(frame)
        elif isinstance(frame, TelegramBots):
            if self.on_telegram is not None:
                task = asyncio.create_task(self._telegram(frame))
                self._side_tasks.add(task)
                task.add_done_callback(self._side_tasks.discard)
        elif isinstance(frame, AgentLoad):
            self.load = frame
        elif isinstance(frame, Ping):
            self.send(Pong(sent_at=frame.sent_at))
        elif isinstance(frame, Pong):
            now = time.monotonic()
            self.rtt_s = max(0.0, now - frame.sent_at)
            self.health.pong(now, self.rtt_s)
            self.metrics.link_rtt.set(self.rtt_s)
            self.metrics.path_rtt.labels(self.health.name).set(self.rtt_s)

    async def _telegram(self, frame: TelegramBots) -> None:
        if self.on_telegram is None:
            return
        try:
            self.send(await self.on_telegram(frame))
        except Exception:
            log.exception("telegram hand-over from agent %s failed", self.agent_id)
            self.send(TelegramStatus(bots=[]))

    async def _write(self) -> None:
        while True:
            text = await self._outbox.get()
            await self.websocket.send_text(text)

    async def _heartbeat(self) -> None:
        while True:
            self.send(Ping(sent_at=time.monotonic()))
            self.health.active = bool(self.streams)
            await asyncio.sleep(self.probe.interval(self.health.active))
            if time.monotonic() - self._last_heard > self.heartbeat_timeout_s:
                self.close_reason = "heartbeat timeout"
                log.warning(
                    "agent %s silent for %.0f s: dropping its link", self.agent_id, self.heartbeat_timeout_s
                )
                return
