"""The direct path: the gateway dials the listener an agent advertised in its hello (``direct_url``).

It presents a short-lived JWT signed for that agent (``TokenIssuer.issue_direct``: aud = the
agent's id), says hello, and hands the socket to the hub as the agent's direct path (an
``AgentLink``, the same multiplexed request streams as the relay link). When the path drops it
dials again after a capped, jittered backoff, for as long as the agent's advertised URL stands.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from starlette.websockets import WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from aiclone_gateway import __version__
from aiclone_gateway.core.tokens import TokenIssuer
from aiclone_wire import DIRECT_PATH, MAX_FRAME_BYTES, PROTOCOL_VERSION, Hello, WireError, decode, encode

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10


def direct_url(advertised: str) -> str:
    """``http://host:3100`` / ``ws://host:3100/`` -> ``ws://host:3100/agent/direct``."""
    url = advertised.strip().rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    return url if url.endswith(DIRECT_PATH) else url + DIRECT_PATH


class DialedSocket:
    """A dialed ``websockets`` connection with the (Starlette) methods ``AgentLink`` uses."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def receive_text(self) -> str:
        try:
            message = await self.ws.recv()
        except ConnectionClosed as exc:
            raise WebSocketDisconnect(exc.rcvd.code if exc.rcvd else 1006) from exc
        return message if isinstance(message, str) else message.decode()

    async def send_text(self, text: str) -> None:
        try:
            await self.ws.send(text)
        except ConnectionClosed as exc:
            raise WebSocketDisconnect(1006) from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.ws.close(code, reason)


ServeDirect = Callable[[DialedSocket, str, Hello], Awaitable[None]]


class DirectDialer:
    """Keeps one dialing task per agent that advertised a direct URL."""

    def __init__(self, tokens: TokenIssuer, token_ttl_s: int, redial_max_s: float) -> None:
        self.tokens = tokens
        self.token_ttl_s = token_ttl_s
        self.redial_max_s = redial_max_s
        self.last_error: dict[str, str] = {}
        self._tasks: dict[str, tuple[str, asyncio.Task]] = {}

    def follow(self, agent_id: str, advertised: str | None, serve: ServeDirect) -> None:
        """Dial ``advertised`` for ``agent_id`` (a new URL replaces the old; ``None`` stops)."""
        current = self._tasks.get(agent_id)
        if current is not None and advertised and current[0] == advertised and not current[1].done():
            return
        self.forget(agent_id)
        if advertised:
            task = asyncio.create_task(
                self._dial(agent_id, direct_url(advertised), serve), name=f"direct-{agent_id}"
            )
            self._tasks[agent_id] = (advertised, task)

    def forget(self, agent_id: str) -> None:
        current = self._tasks.pop(agent_id, None)
        if current is not None:
            current[1].cancel()

    async def close(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _dial(self, agent_id: str, url: str, serve: ServeDirect) -> None:
        attempt = 0
        while True:
            try:
                token = self.tokens.issue_direct(agent_id, self.token_ttl_s)
                async with connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    compression=None,
                    ping_interval=None,
                    close_timeout=2,
                    open_timeout=HELLO_TIMEOUT_S,
                    max_size=MAX_FRAME_BYTES,
                    proxy=None,
                ) as ws:
                    await ws.send(
                        encode(
                            Hello(
                                role="gateway",
                                software_version=__version__,
                                capabilities=["chat", "openai", "credit"],
                            )
                        )
                    )
                    hello = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
                    if not isinstance(hello, Hello) or hello.protocol_version != PROTOCOL_VERSION:
                        raise WireError(f"unexpected answer to hello: {hello.type}")
                    attempt = 0
                    self.last_error.pop(agent_id, None)
                    log.info("direct path to agent %s up (%s)", agent_id, url)
                    await serve(DialedSocket(ws), agent_id, hello)
                    self.last_error[agent_id] = "the direct path closed"
            except InvalidStatus as exc:
                self.last_error[agent_id] = (
                    f"the agent refused the direct path (HTTP {exc.response.status_code})"
                )
            except (OSError, asyncio.TimeoutError, WebSocketException, WireError) as exc:
                self.last_error[agent_id] = f"{exc.__class__.__name__}: {exc}"
            delay = min(self.redial_max_s, 0.5 * 2**attempt) * random.uniform(0.8, 1.0)
            attempt = min(attempt + 1, 16)
            log.info(
                "direct path to agent %s down (%s); dialing again in %.1f s",
                agent_id,
                self.last_error[agent_id],
                delay,
            )
            await asyncio.sleep(delay)
