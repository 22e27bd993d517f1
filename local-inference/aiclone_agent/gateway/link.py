"""The agent's outbound link to its gateway (relay mode: works behind NAT).

``GatewayLink`` dials ``<gateway.url>/agent/ws`` with the agent token, says hello, then serves
``request`` frames concurrently (``requests.run_request``) until the link drops, and dials
again after a capped, jittered exponential backoff. The frames themselves are served by a
``LinkSession`` (shared with the direct listener); pings measure the round trip into the relay
path's ``PathHealth``, and a gateway silent past ``silence_timeout_s`` is treated as gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from aiclone_agent import __version__
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.gateway.backoff import Backoff
from aiclone_agent.gateway.jwks import JwksCache
from aiclone_agent.gateway.lan_address import lan_url
from aiclone_agent.gateway.load import LOAD_CAPABILITY, AgentLoadReport
from aiclone_agent.gateway.session import LinkSession, RunningRequests
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_wire import (
    PROTOCOL_VERSION,
    Error,
    GatewayStats,
    Hello,
    WireError,
    decode,
    encode,
)
from aiclone_wire.dial import DIAL_OPTIONS, HELLO_TIMEOUT_S
from aiclone_wire.paths import PathHealth

if TYPE_CHECKING:
    from aiclone_agent.lan.revocations import RevokedLanTokens
    from aiclone_agent.telegram.service import TelegramService

log = logging.getLogger(__name__)


class LinkRefusedError(Exception):
    """The gateway answered the hello with an error (e.g. another protocol version)."""


def link_url(url: str) -> str:
    """``https://host`` / ``wss://host/`` -> ``wss://host/agent/ws``."""
    url = url.strip().rstrip("/")
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(http):
            url = ws + url[len(http) :]
    return url if url.endswith("/agent/ws") else f"{url}/agent/ws"


def link_error_code(exc: BaseException) -> str:
    """Why the link could not be made, as a code the admin page says in its language (the
    exception's own words stay in ``last_error`` and the log)."""
    if isinstance(exc, InvalidStatus):
        return "gateway_token_refused" if exc.response.status_code in (401, 403) else "gateway_refused"
    if isinstance(exc, LinkRefusedError):
        return "gateway_refused"
    if isinstance(exc, (OSError, asyncio.TimeoutError)):
        return "gateway_unreachable"
    return "gateway_link_lost"


@dataclass
class LinkStatus:
    url: str = ""
    connected: bool = False
    last_error: str | None = None  # for the log and API clients: may carry a library's words
    last_error_code: str | None = None  # what the admin page says, in its language (error_codes)
    health: PathHealth | None = None
    # links made since the agent started (each one after the first is a reconnect)
    links: int = 0

    @property
    def reconnects(self) -> int:
        return max(0, self.links - 1)

    @property
    def rtt_ms(self) -> float | None:
        rtt = self.health.rtt_s if self.health is not None and self.connected else None
        return None if rtt is None else round(rtt * 1000, 3)


class AgentIdentity:
    """The id the gateway knows this agent by, learned from the relay link's hello: the audience of
    the gateway's direct tokens. Built before both paths: the link writes it, the direct listener
    reads it (``current``)."""

    def __init__(self) -> None:
        self.agent_id: str | None = None

    def current(self) -> str | None:
        return self.agent_id


class GatewayLink:
    def __init__(
        self,
        serving: OpenAIServingChat,
        memory: ChatMemory,
        config: ConfigStore,
        jwks: JwksCache,
        identity: AgentIdentity,
        *,
        telegram: TelegramService,
        lan_revocations: RevokedLanTokens,
        on_gateway_stats: Callable[[GatewayStats], None],
        on_connected: Callable[[bool], object],
        health: PathHealth,
        running: RunningRequests,
        load: AgentLoadReport | None = None,
        direct_url: str | None = None,
        direct_fingerprint: str | None = None,
        backoff: Backoff | None = None,
        ping_interval_s: float = 5.0,
        silence_timeout_s: float = 15.0,
    ) -> None:
        self.serving = serving
        self.memory = memory
        self.config = config
        self.jwks = jwks
        self.identity = identity
        # Takes webhook delivery of the Telegram bots through the gateway while linked.
        self.telegram = telegram
        # where the gateway's LAN token revocations are kept (the relay link only: the direct path
        # never changes the agent's security state)
        self.lan_revocations = lan_revocations
        # Receives the gateway's live numbers (the overview page's gateway charts).
        self.on_gateway_stats = on_gateway_stats
        self.on_connected = on_connected
        self.health = health
        self.running = running
        # the agent's load, told to a gateway that takes it (several agents of one clone share its work)
        self.load = load
        self._gateway_takes_load = False
        # what the hello announces: the direct listener's URL (None: no direct path) and the SHA-256
        # of its certificate, which the gateway pins when it dials that URL
        self.direct_url = direct_url
        self.direct_fingerprint = direct_fingerprint
        self.backoff = backoff  # None: ``gateway.reconnect_max_s``, read at each retry
        self.ping_interval_s = ping_interval_s
        self.silence_timeout_s = silence_timeout_s
        self.status = LinkStatus(health=self.health)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Dial the configured gateway (no-op without url and token)."""
        section = self.config.current.gateway
        self.status = LinkStatus(url=section.url, health=self.health, links=self.status.links)
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
            self.on_connected(connected)

    async def _run(self, url: str, token: str) -> None:
        attempt = 0
        while True:
            try:
                async with connect(
                    url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    **DIAL_OPTIONS,
                ) as ws:
                    await self._hello(ws)
                    attempt = 0
                    self.status.last_error = self.status.last_error_code = None
                    self.status.links += 1
                    self.health.up(time.monotonic())  # trusted from the hello on
                    self._set_connected(True)
                    log.info("linked to gateway %s", url)
                    await self._serve(ws)
                    self.status.last_error = self.status.last_error or "the gateway closed the link"
                    self.status.last_error_code = self.status.last_error_code or "gateway_closed"
            except InvalidStatus as exc:
                status = exc.response.status_code
                self.status.last_error = (
                    f"the gateway refused the link (HTTP {status}): check gateway.agent_token"
                )
                self.status.last_error_code = link_error_code(exc)
            except (OSError, asyncio.TimeoutError, WebSocketException, WireError, LinkRefusedError) as exc:
                self.status.last_error = f"{exc.__class__.__name__}: {exc}"
                self.status.last_error_code = link_error_code(exc)
            finally:
                self._set_connected(False)
            backoff = self.backoff or Backoff(cap_s=self.config.current.gateway.reconnect_max_s)
            delay = backoff.delay(attempt)
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
                    capabilities=["chat", "openai", "cancel", "credit", "telegram", "gateway_stats"],
                    clone_id=clone.id,
                    clone_name=clone.name,
                    models=self.serving.model_ids(),
                    direct_url=self.direct_url,
                    direct_fingerprint=self.direct_fingerprint if self.direct_url else None,
                    lan_url=lan_url(self.config.current.lan),
                )
            )
        )
        reply = decode(await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT_S))
        if isinstance(reply, Error):
            raise LinkRefusedError(reply.message)
        if not isinstance(reply, Hello) or reply.protocol_version != PROTOCOL_VERSION:
            raise LinkRefusedError(f"unexpected answer to hello: {reply.type}")
        if reply.jwks:
            self.jwks.save(reply.jwks, reply.jwt_issuer)
        if reply.agent_id:
            self.identity.agent_id = reply.agent_id
        self._gateway_takes_load = LOAD_CAPABILITY in reply.capabilities

    async def _serve(self, ws: ClientConnection) -> None:
        session = LinkSession(
            ws,
            self.serving,
            self.memory,
            self.running,
            self.health,
            self.ping_interval_s,
            self.silence_timeout_s,
            telegram=self.telegram,
            lan_revocations=self.lan_revocations,
            on_gateway_stats=self.on_gateway_stats,
            load=self.load if self._gateway_takes_load else None,
        )
        try:
            await session.serve()
        finally:
            if session.close_reason:
                self.status.last_error = session.close_reason
                self.status.last_error_code = "gateway_link_lost"
