"""Open ``/ws/chat`` connections per user, for pushing frames that no request is waiting for."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from fastapi import WebSocket

from aiclone_gateway.chat.protocol import ServerFrame


class ChatConnection:
    """One chat socket; frames go out through one writer task, so senders never interleave.

    An idle socket costs the least it can (there may be tens of thousands): no writer task and no
    queue of its own. Both are made when a frame is sent and dropped once it is out, so between
    frames the socket's one task is the handler waiting for the client's next frame.

    An answer being streamed waits (``send_in_turn``) while the client is ``OUTBOX_LIMIT``
    frames behind, which holds back the agent through the link's credits; pushes that no
    request waits for (``send``) never block. Once closed, frames are dropped.
    """

    __slots__ = ("_close_with", "_drained", "_outbox", "_writer", "closed", "user_id", "websocket")
    OUTBOX_LIMIT = 512
    _CLOSE = ""  # in the outbox: close the socket after what was queued before it

    def __init__(self, websocket: WebSocket, user_id: str) -> None:
        self.websocket = websocket
        self.user_id = user_id
        self.closed = False
        self._outbox: deque[str] | None = None  # frames not yet written; None when there are none
        self._writer: asyncio.Task | None = None  # writes the outbox; None when it is empty
        self._drained: asyncio.Event | None = None  # made for a sender waiting on a full outbox
        self._close_with = (1000, "")

    @property
    def sending(self) -> bool:
        """Whether frames are waiting to go out (a writer task and an outbox exist)."""
        return self._writer is not None

    def send(self, frame: ServerFrame) -> None:
        self.send_text(frame.model_dump_json())

    def send_text(self, text: str) -> None:
        if not self.closed:
            self._queue(text)

    def _queue(self, text: str) -> None:
        if self._outbox is None:
            self._outbox = deque()
        self._outbox.append(text)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write())

    async def send_in_turn(self, frame: ServerFrame) -> None:
        while not self.closed and self._outbox is not None and len(self._outbox) >= self.OUTBOX_LIMIT:
            if self._drained is None:
                self._drained = asyncio.Event()
            await self._drained.wait()
        self.send(frame)

    def close(self) -> None:
        self.closed = True
        self._wake_senders()

    def end(self, code: int, reason: str) -> None:
        """Close the socket from the server side once the frames queued so far are out."""
        if self.closed:
            return
        self._close_with = (code, reason)
        self._queue(self._CLOSE)
        self.close()

    async def stop(self) -> None:
        """The socket is gone: stop writing (frames still queued are dropped)."""
        self.close()
        writer = self._writer
        if writer is not None:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)

    def _wake_senders(self) -> None:
        if self._drained is not None:
            self._drained.set()
            self._drained = None

    async def _write(self) -> None:
        outbox = self._outbox
        try:
            with contextlib.suppress(Exception):
                while outbox:
                    text = outbox.popleft()
                    if text == self._CLOSE:
                        code, reason = self._close_with
                        await self.websocket.close(code=code, reason=reason)
                        return
                    await self.websocket.send_text(text)
                    if len(outbox) < self.OUTBOX_LIMIT // 2:
                        self._wake_senders()
        finally:  # nothing is awaited between the last look at the outbox and here
            self._outbox = None
            self._writer = None
            self._wake_senders()


class ChatSockets:
    """This process's chat sockets. With replicas, ``fanout`` tells the others about pushes and
    ended users (their sockets may be there; None when this process is alone); ``deliver``
    applies what another replica told."""

    def __init__(self, fanout: Callable[[dict[str, Any]], None] | None = None) -> None:
        self._by_user: dict[str, set[ChatConnection]] = {}
        self.fanout = fanout

    def add(self, connection: ChatConnection) -> None:
        self._by_user.setdefault(connection.user_id, set()).add(connection)

    def remove(self, connection: ChatConnection) -> None:
        connections = self._by_user.get(connection.user_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._by_user[connection.user_id]

    @property
    def users(self) -> int:
        """Distinct users with at least one chat socket open."""
        return len(self._by_user)

    def user_ids(self) -> frozenset[str]:
        return frozenset(self._by_user)

    @property
    def connections(self) -> int:
        return sum(len(connections) for connections in self._by_user.values())

    @property
    def sending(self) -> int:
        """Sockets with frames waiting to go out (an idle one has none, and no writer task)."""
        return sum(connection.sending for connections in self._by_user.values() for connection in connections)

    def push(self, user_id: str, frame: ServerFrame) -> None:
        self._push_here(user_id, frame.model_dump_json())
        if self.fanout is not None:
            self.fanout({"type": "push", "user": user_id, "frame": frame.model_dump_json()})

    def _push_here(self, user_id: str, text: str) -> None:
        for connection in self._by_user.get(user_id, ()):
            connection.send_text(text)

    def end_user(self, user_id: str, code: int, reason: str) -> int:
        """Close every chat socket of ``user_id`` (blocked or deleted); how many were open here."""
        if self.fanout is not None:
            self.fanout({"type": "end_user", "user": user_id, "code": code, "reason": reason})
        return self._end_here(user_id, code, reason)

    def _end_here(self, user_id: str, code: int, reason: str) -> int:
        connections = list(self._by_user.get(user_id, ()))
        for connection in connections:
            connection.end(code, reason)
        return len(connections)

    def deliver(self, event: dict[str, Any]) -> None:
        """Apply a push or an account end another replica published."""
        if event.get("type") == "push":
            self._push_here(event["user"], event["frame"])
        elif event.get("type") == "end_user":
            self._end_here(event["user"], int(event["code"]), str(event["reason"]))

    def broadcast(self, frame: ServerFrame) -> None:
        for connections in self._by_user.values():
            for connection in connections:
                connection.send(frame)
