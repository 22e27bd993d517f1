"""uvicorn's WebSocket protocol (websockets' sans-I/O core), less what an open socket never uses.

Tens of thousands of chat sockets may sit idle on one gateway, each holding its uvicorn protocol
for hours. Measured with tracemalloc (bench/load), uvicorn's ``WebSocketsSansIOProtocol`` kept
about 15 KiB per idle socket; of that, this class drops what is idle weight:

* the inbox, an ``asyncio.Queue`` (three deques, about 2.5 KiB), becomes ``_Inbox``: a deque
  only while frames wait to be read, and one future while the app waits for one;
* ``writable``, an ``asyncio.Event`` (a deque of waiters, about 1.5 KiB), becomes ``_Writable``:
  nothing while the socket is writable, one future while the transport is paused;
* the handshake's request and response (their headers: about 4 KiB) once it is answered; the
  request's headers are emptied, since websockets' parser keeps the request itself.

What stays is uvicorn's and websockets' own: the protocol object, websockets' ``ServerProtocol``
(its parser generator and read buffer), the ASGI scope with the handshake's headers, the
transport and the app's one task.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class _Inbox:
    """The frames and events uvicorn hands the app; one reader at a time (the ASGI app's)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def empty(self) -> bool:
        return not self._items


class _Writable:
    """Set while the transport takes writes; a paused transport makes one future to wait on."""

    __slots__ = ("_paused",)

    def __init__(self) -> None:
        self._paused: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        return self._paused is None

    def set(self) -> None:
        paused, self._paused = self._paused, None
        if paused is not None and not paused.done():
            paused.set_result(None)

    def clear(self) -> None:
        if self._paused is None:
            self._paused = asyncio.get_running_loop().create_future()

    async def wait(self) -> None:
        while self._paused is not None:
            await asyncio.shield(self._paused)  # several senders may wait; one cancelled spares the rest


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """``uvicorn.run(..., ws=LeanWebSocketProtocol)``: the same protocol, lighter when idle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Writable()  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # Answered: uvicorn reads neither again. websockets' parser keeps the request for the
            # socket's life (a local of its generator), so its headers are emptied (the app has
            # its own copy in the scope).
            self.request.headers.clear()
            self.request = self.response = None  # type: ignore[assignment]
