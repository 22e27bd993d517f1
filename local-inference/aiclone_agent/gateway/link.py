"""The agent's outbound link to its gateway (relay mode: works behind NAT).

``GatewayLink`` dials ``<gateway.url>/agent/ws`` with the agent token, says hello, then serves
``request`` frames concurrently (``requests.run_request``) until the link drops, and dials
again after a capped, jittered exponential backoff. Pings measure the round trip; a gateway
silent past ``silence_timeout_s`` is treated as gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from aiclone_agent import __version__
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.gateway.backoff import Backoff
from aiclone_agent.gateway.jwks import JwksCache
from aiclone_agent.gateway.requests import CreditWindow, run_request, run_telegram_request
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Cancel,
    Credit,
    Error,
    Hello,
    Ping,
    Pong,
    Request,
    TelegramRequest,
    TelegramStatus,
    WireError,
    decode,
    encode,
)

if TYPE_CHECKING:
    from aiclone_agent.telegram.service import TelegramService

log = logging.getLogger(__name__)
HELLO_TIMEOUT_S = 10


class LinkRefusedError(Exception):
    """The gateway answered the hello with an error (e.g. another protocol version)."""


def link_url(url: str) -> str:
    """``https://host`` / ``wss://host/`` -> ``wss://host/agent/ws``."""
    url = url.strip().rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    return url if url.endswith("/agent/ws") else f"{url}/agent/ws"


@dataclass
class LinkStatus:
    url: str = ""
    connected: bool = False
    rtt_ms: float | None = None
    last_error: str | None = None


class GatewayLink:
    def __init__(
        self,
        serving: OpenAIServingChat,
        config: ConfigStore,
        jwks: JwksCache,
        on_connected: Callable[[bool], None],
        direct_url: str | None = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 5.0,
        silence_timeout_s: float = 15.0,
    ) -> None:
        self.serving = serving
        self.config = config
        self.jwks = jwks
        self.on_connected = on_connected
        self.direct_url = direct_url
        self.backoff = backoff or Backoff()
        self.ping_interval_s = ping_interval_s
        self.silence_timeout_s = silence_timeout_s
        self.status = LinkStatus()
        self._task: asyncio.Task | None = None
        # Takes webhook delivery of the Telegram bots through the gateway while linked.
        self.telegram: TelegramService | None = None

    def start(self) -> None:
        """Dial the configured gateway (no-op without url and token)."""
        section = self.config.current.gateway
        self.status = LinkStatus(url=section.url)
        if section.url and section.agent_token and self._task is None:
            self._task = asyncio.create_task(
                self._run(link_url(section.url), section.agent_token), name="gateway-link"
            )

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._set_connected(False)

    async def restart(self) -> None:
        await self.stop()
        self.start()

    def _set_connected(self, connected: bool) -> None:
        if self.status.connected != connected:
            self.status.connected = connected
            if not connected:
                self.status.rtt_ms = None
            self.on_connected(connected)

    async def _run(self, url: str, token: str) -> None:
        attempt = 0
        while True:
            try:
                async with connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    compression=None,
                    ping_interval=None,
                    open_timeout=HELLO_TIMEOUT_S,
                    max_size=MAX_FRAME_BYTES,
                    proxy=None,
                ) as ws:
                    await self._hello(ws)
                    attempt = 0
                    self.status.last_error = None
                    self._set_connected(True)
                    log.info("linked to gateway %s", url)
                    await self._serve(ws)
                    self.status.last_error = self.status.last_error or "the gateway closed the link"
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.status.last_error = f"the gateway refused the link (HTTP {status}): check gateway.agent_token"
            except (OSError, asyncio.TimeoutError, WebSocketException, WireError, LinkRefusedError) as exc:
                self.status.last_error = f"{exc.__class__.__name__}: {exc}"
            finally:
                self._set_connected(False)
            delay = self.backoff.delay(attempt)
            attempt += 1
            log.info("gateway link down (%s); retrying in %.1f s", self.status.last_error, delay)
            await asyncio.sleep(delay)

    async def _hello(self, ws: ClientConnection) -> None:
        clone = self.config.current.clone
        await ws.send(
            encode(
                Hello(
                    role="agent",
                    software_version=__version__,
                    capabilities=["chat", "openai", "cancel", "credit", "telegram"],
                    clone_id=clone.id,
                    clone_name=clone.name,
                    models=self.serving.model_ids(),
                    direct_url=self.direct_url,
                )
            )
        )
        reply = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
        if isinstance(reply, Error):
            raise LinkRefusedError(reply.message)
        if not isinstance(reply, Hello) or reply.protocol_version != PROTOCOL_VERSION:
            raise LinkRefusedError(f"unexpected answer to hello: {reply.type}")
        if reply.jwks:
            self.jwks.save(reply.jwks)

    async def _serve(self, ws: ClientConnection) -> None:
        outbox: asyncio.Queue[str] = asyncio.Queue()
        running: dict[str, tuple[asyncio.Task, CreditWindow]] = {}
        heard = time.monotonic()

        def send(frame) -> None:
            outbox.put_nowait(encode(frame))

        async def write() -> None:
            while True:
                await ws.send(await outbox.get())

        async def ping() -> None:
            while time.monotonic() - heard < self.silence_timeout_s:
                send(Ping(sent_at=time.monotonic()))
                await asyncio.sleep(self.ping_interval_s)
            self.status.last_error = f"the gateway was silent for {self.silence_timeout_s:g} s"

        async def read() -> None:
            nonlocal heard
            async for text in ws:
                heard = time.monotonic()
                try:
                    frame = decode(text)
                except WireError as exc:
                    log.warning("bad frame from the gateway: %s", exc)
                    continue
                if isinstance(frame, (Request, TelegramRequest)):
                    credit = CreditWindow(frame.credit)
                    if isinstance(frame, TelegramRequest):
                        work = run_telegram_request(self.telegram, frame, send)
                    else:
                        work = run_request(self.serving, frame, credit, send)
                    task = asyncio.create_task(work)
                    running[frame.id] = (task, credit)
                    task.add_done_callback(lambda _, rid=frame.id: running.pop(rid, None))
                elif isinstance(frame, Cancel):
                    if frame.id in running:
                        running[frame.id][0].cancel()
                elif isinstance(frame, Credit):
                    if frame.id in running:
                        running[frame.id][1].grant(frame.chunks)
                elif isinstance(frame, TelegramStatus):
                    if self.telegram is not None:
                        side.append(asyncio.create_task(self.telegram.link_status(frame)))
                elif isinstance(frame, Ping):
                    send(Pong(sent_at=frame.sent_at))
                elif isinstance(frame, Pong):
                    self.status.rtt_ms = round((time.monotonic() - frame.sent_at) * 1000, 3)

        side: list[asyncio.Task] = []
        tasks = [asyncio.create_task(coro) for coro in (read(), write(), ping())]
        if self.telegram is not None:
            side.append(asyncio.create_task(self.telegram.link_up(send)))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception():
                    raise task.exception()
        finally:
            requests = [task for task, _ in running.values()]
            for task in [*requests, *tasks]:
                task.cancel()
            await asyncio.gather(*requests, *tasks, *side, return_exceptions=True)
            if self.telegram is not None:
                await self.telegram.link_down()
            with contextlib.suppress(Exception):
                await ws.close()
