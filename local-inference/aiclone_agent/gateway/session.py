"""One authenticated link to the gateway, whichever side dialed: serves its frames until it drops.

The relay link (the agent dials the gateway) and the direct path (the gateway dials the agent's
direct listener) speak the same frames after hello, so both run a ``LinkSession`` over their
WebSocket (``websockets`` client or server connection: same API). Requests run concurrently;
a request id the agent already runs on another path (the gateway retrying on the other path after
a failure before the first chunk) replaces the old run, so an answer is never sent twice.
The relay link's session also tells the gateway the agent's load (``gateway.load``) when the
gateway takes it. Only a session given a store acts on the frames that change the agent's security state (LAN
revocations) or its bots: the relay link's; the direct path's session is given none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.gateway.load import CHECK_INTERVAL_S, REFRESH_INTERVAL_S, AgentLoadReport, changed
from aiclone_agent.gateway.requests import CreditWindow, run_memory_request, run_request, run_telegram_request
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire import (
    Cancel,
    Credit,
    GatewayStats,
    LanRevocations,
    MemoryRequest,
    Ping,
    Pong,
    Request,
    TelegramRequest,
    TelegramStatus,
    WireError,
    decode,
    encode,
)
from aiclone_wire.paths import PathHealth

if TYPE_CHECKING:
    from aiclone_agent.lan.revocations import RevokedLanTokens
    from aiclone_agent.telegram.service import TelegramService

log = logging.getLogger(__name__)


class RunningRequests:
    """Requests in progress on any path, by id (shared by the relay link and the direct listener)."""

    def __init__(self, on_request: Callable[[str], None] | None = None) -> None:
        self._running: dict[str, tuple[asyncio.Task, CreditWindow]] = {}
        # called with the path name of each request started (metrics)
        self.on_request = on_request

    def start(self, request_id: str, task: asyncio.Task, credit: CreditWindow, path: str = "relay") -> None:
        if self.on_request is not None:
            self.on_request(path)
        previous = self._running.get(request_id)
        if previous is not None:
            log.info("request %s retried on another path: dropping its first run", request_id)
            previous[0].cancel()
        self._running[request_id] = (task, credit)

        def done(_: asyncio.Task) -> None:
            if self._running.get(request_id, (None,))[0] is task:
                del self._running[request_id]

        task.add_done_callback(done)

    def cancel(self, request_id: str) -> None:
        if request_id in self._running:
            self._running[request_id][0].cancel()

    def grant(self, request_id: str, chunks: int) -> None:
        if request_id in self._running:
            self._running[request_id][1].grant(chunks)


class LinkSession:
    def __init__(
        self,
        ws: Any,
        serving: OpenAIServingChat,
        memory: ChatMemory,
        running: RunningRequests,
        health: PathHealth,
        ping_interval_s: float,
        silence_timeout_s: float,
        telegram: TelegramService | None = None,
        lan_revocations: RevokedLanTokens | None = None,
        on_gateway_stats: Callable[[GatewayStats], None] | None = None,
        load: AgentLoadReport | None = None,
    ) -> None:
        """``load``: reports the agent's load on this link (None: the gateway does not take it)."""
        self.ws = ws
        self.load = load
        # answers the gateway's memory_request frames (a signed-in user's own memories)
        self.memory = memory
        self.lan_revocations = lan_revocations
        self.on_gateway_stats = on_gateway_stats
        self.serving = serving
        self.running = running
        self.health = health
        self.ping_interval_s = ping_interval_s
        self.silence_timeout_s = silence_timeout_s
        self.telegram = telegram
        self.close_reason: str | None = None
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._mine: set[asyncio.Task] = set()
        self._side: list[asyncio.Task] = []

    def send(self, frame: Any) -> None:
        self._outbox.put_nowait(encode(frame))

    async def serve(self) -> None:
        """Run until the socket closes or the gateway stays silent; in-flight requests are cancelled."""
        self.health.up(time.monotonic())
        tasks = [asyncio.create_task(coro) for coro in (self._read(), self._write(), self._ping())]
        if self.telegram is not None:
            self._side.append(asyncio.create_task(self.telegram.link_up(self.send)))
        if self.load is not None:
            tasks.append(asyncio.create_task(self._report_load(self.load), name="agent-load"))
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                if task.done() and not task.cancelled() and (failure := task.exception()) is not None:
                    raise failure
        finally:
            self.health.down()
            mine = list(self._mine)
            for task in [*mine, *tasks]:
                task.cancel()
            await asyncio.gather(*mine, *tasks, *self._side, return_exceptions=True)
            if self.telegram is not None:
                await self.telegram.link_down()
            with contextlib.suppress(Exception):
                await self.ws.close()

    async def _report_load(self, load: AgentLoadReport) -> None:
        """Tell the gateway the load now, then whenever it changes (checked every
        ``CHECK_INTERVAL_S``, so bursts are rate-limited) and every ``REFRESH_INTERVAL_S`` anyway."""
        sent = None
        sent_at = 0.0
        while True:
            try:
                report = load.report()
            except Exception:  # a report is news, never a reason to drop the link
                log.exception("could not measure the agent's load")
                report = None
            now = time.monotonic()
            if report is not None and (changed(sent, report) or now - sent_at >= REFRESH_INTERVAL_S):
                self.send(report)
                sent, sent_at = report, now
            await asyncio.sleep(CHECK_INTERVAL_S)

    async def _write(self) -> None:
        while True:
            await self.ws.send(await self._outbox.get())

    async def _ping(self) -> None:
        while time.monotonic() - (self.health.last_heard or 0) < self.silence_timeout_s:
            self.send(Ping(sent_at=time.monotonic()))
            await asyncio.sleep(self.ping_interval_s)
        self.close_reason = f"the gateway was silent for {self.silence_timeout_s:g} s"

    async def _read(self) -> None:
        async for text in self.ws:
            now = time.monotonic()
            self.health.heard(now)
            try:
                frame = decode(text)
            except WireError as exc:
                log.warning("bad frame from the gateway: %s", exc)
                continue
            if isinstance(frame, (Request, TelegramRequest)):
                credit = CreditWindow(frame.credit)
                if isinstance(frame, TelegramRequest):
                    work = run_telegram_request(self.telegram, frame, self.send)
                else:
                    work = run_request(self.serving, frame, credit, self.send)
                task = asyncio.create_task(work)
                self._mine.add(task)
                task.add_done_callback(self._mine.discard)
                self.running.start(frame.id, task, credit, self.health.name)
            elif isinstance(frame, MemoryRequest):
                task = asyncio.create_task(run_memory_request(self.memory, frame, self.send))
                self._mine.add(task)
                task.add_done_callback(self._mine.discard)
            elif isinstance(frame, Cancel):
                self.running.cancel(frame.id)
            elif isinstance(frame, Credit):
                self.running.grant(frame.id, frame.chunks)
            elif isinstance(frame, TelegramStatus):
                if self.telegram is not None:
                    self._side.append(asyncio.create_task(self.telegram.link_status(frame)))
            elif isinstance(frame, LanRevocations):
                if self.lan_revocations is not None:
                    self.lan_revocations.replace(frame)
                else:  # the direct path: security state changes only over the relay link
                    log.warning(
                        "LAN revocations on the %s path ignored: the relay link alone sends them",
                        self.health.name,
                    )
            elif isinstance(frame, GatewayStats):
                if self.on_gateway_stats is not None:
                    self.on_gateway_stats(frame)
            elif isinstance(frame, Ping):
                self.send(Pong(sent_at=frame.sent_at))
            elif isinstance(frame, Pong):
                self.health.pong(now, now - frame.sent_at)
