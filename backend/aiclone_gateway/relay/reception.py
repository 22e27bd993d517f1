"""Where an agent's links come in: the relay link it dials, and the direct path the gateway dials
back when the agent advertises one.

Each link is held in the hub while it lives (``RelayHub.holding``). The relay link carries more
than requests: the agent hands its Telegram bots over on it, it gets the greeting frames right
after its hello (the LAN token revocations, so an agent that was away learns what changed
meanwhile), and the gateway's live numbers when it asks for them. The direct path carries
requests and answers only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from fastapi import WebSocket

from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.tokens import TokenIssuer
from aiclone_gateway.relay.direct import DialedSocket, DirectDialer
from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.link import AgentLink
from aiclone_wire import GatewayStats, Hello, TelegramBots, TelegramStatus
from aiclone_wire.paths import PathHealth, PathName

log = logging.getLogger(__name__)
# The agent asks for the gateway's numbers in its hello (older agents would log each one as unknown).
STATS_CAPABILITY = "gateway_stats"
# Takes over the agent's Telegram bots (telegram.delivery); answers with their state.
TelegramHandover = Callable[[TelegramBots], Awaitable[TelegramStatus]]
# The frames each new relay link gets right after its hello.
Greeting = Callable[[], Awaitable[list[Any]]]


class GatewayNumbers(Protocol):
    """The gateway's live numbers (``chat.stats_feed``), told to agents that ask."""

    @property
    def interval_s(self) -> float: ...

    async def snapshot(self, requests_in_flight: int) -> GatewayStats: ...


class AgentReception:
    def __init__(
        self,
        hub: RelayHub,
        settings: Settings,
        tokens: TokenIssuer,
        on_telegram: TelegramHandover,
        greeting: Greeting,
        stats: GatewayNumbers,
        fanout: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        """``fanout``: tells the other replicas (the cluster's user events); None when alone."""
        self.hub = hub
        self.settings = settings
        self.on_telegram = on_telegram
        self.greeting = greeting
        self.stats = stats
        self.fanout = fanout
        self.dialer = DirectDialer(
            tokens,
            settings.direct_token_ttl_s,
            settings.direct_redial_max_s,
            [ipaddress.ip_network(n, strict=False) for n in settings.direct_allowed_networks],
            urlsplit(settings.public_url).hostname,
        )

    async def serve(self, websocket: WebSocket, agent_id: str, hello: Hello) -> None:
        """Hold an authenticated agent's relay link until it ends; it replaces that agent's older one."""
        self.dialer.follow(agent_id, hello.direct_url, hello.direct_fingerprint, self.serve_direct)
        await self._hold("relay", agent_id, websocket, hello)

    async def serve_direct(self, socket: DialedSocket, agent_id: str, hello: Hello) -> None:
        """Hold the direct path the gateway dialed to an agent until it ends."""
        await self._hold("direct", agent_id, socket, hello)

    async def _hold(self, path: PathName, agent_id: str, websocket: Any, hello: Hello) -> None:
        settings = self.settings
        link = AgentLink(
            websocket,
            agent_id,
            hello,
            self.hub.metrics,
            settings.heartbeat_interval_s,
            settings.heartbeat_timeout_s,
            on_telegram=self.on_telegram if path == "relay" else None,
            health=PathHealth(path),
            probe=self.hub.probe,
        )
        wants_stats = path == "relay" and STATS_CAPABILITY in hello.capabilities
        # the numbers as the agent found them, taken before the link counts as online (which
        # starts the queue's drain): the first report says what waited for it
        first = await self._snapshot(link) if wants_stats else None
        async with self.hub.holding(path, link):
            feed = None
            if wants_stats:
                feed = asyncio.create_task(self._feed_stats(link, first), name="gateway-stats")
            try:
                # news that changes the agent's security state (LAN revocations) travels on the
                # relay link only: the agent ignores it on the direct path
                for frame in await self.greeting() if path == "relay" else []:
                    link.send(frame)
                await link.run()
            finally:
                if feed is not None:
                    feed.cancel()
                    await asyncio.gather(feed, return_exceptions=True)

    async def _snapshot(self, link: AgentLink) -> GatewayStats | None:
        try:
            return await self.stats.snapshot(self.hub.requests_in_flight)
        except Exception:  # a database hiccup skips one report, never the link
            log.exception("could not gather the gateway's numbers for agent %s", link.agent_id)
            return None

    async def _feed_stats(self, link: AgentLink, first: GatewayStats | None) -> None:
        """Tell the agent the gateway's numbers as it found them (right after hello), then the
        numbers now every interval."""
        report = first
        while True:
            if report is not None:
                link.send(report)
            await asyncio.sleep(self.stats.interval_s)
            report = await self._snapshot(link)

    def disconnect(self, agent_id: str, reason: str = "agent token revoked") -> None:
        """Drop the agent's links to this process and stop dialing its direct path."""
        self.dialer.forget(agent_id)
        self.hub.disconnect(agent_id, reason)

    def revoke(self, agent_id: str) -> None:
        """The agent's token was revoked: drop its links here and on every other replica."""
        self.disconnect(agent_id)
        if self.fanout is not None:  # its link may be held by another replica
            self.fanout({"type": "disconnect_agent", "agent": agent_id})

    async def close(self) -> None:
        await self.dialer.close()
