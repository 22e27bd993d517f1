"""The relay hub: which agent link is live, and opening request streams over it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import WebSocket

from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.relay.link import AgentLink, RelayStream
from aiclone_wire import Hello, TelegramBots, TelegramMessage, TelegramStatus

log = logging.getLogger(__name__)


class AgentOfflineError(Exception):
    """No agent is linked: the request cannot be relayed now."""


class RelayHub:
    def __init__(self, settings: Settings, metrics: GatewayMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self._links: dict[str, AgentLink] = {}
        self._listeners: list[Callable[[bool], None]] = []
        # The newest agent's hello, kept while it is away (clone name, models).
        self.last_hello: Hello | None = None
        # Takes over the agent's Telegram bots (set by the runtime: telegram.delivery).
        self.on_telegram: Callable[[TelegramBots], Awaitable[TelegramStatus]] | None = None

    @property
    def online(self) -> bool:
        return bool(self._links)

    @property
    def link(self) -> AgentLink | None:
        return next(reversed(self._links.values()), None)

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """``listener(online)`` runs (synchronously) whenever the hub goes online or offline."""
        self._listeners.append(listener)

    def _notify(self) -> None:
        self.metrics.linked_agents.set(len(self._links))
        for listener in self._listeners:
            listener(self.online)

    async def serve(self, websocket: WebSocket, agent_id: str, hello: Hello) -> None:
        """Hold an authenticated agent's link until it ends; it replaces that agent's older link."""
        link = AgentLink(
            websocket,
            agent_id,
            hello,
            self.metrics,
            self.settings.heartbeat_interval_s,
            self.settings.heartbeat_timeout_s,
            on_telegram=self.on_telegram,
        )
        was_online = self.online
        previous = self._links.pop(agent_id, None)
        if previous is not None:
            log.info("agent %s linked again: replacing its previous link", agent_id)
            previous.stop("replaced")
        self._links[agent_id] = link
        self.last_hello = hello
        log.info("agent %s linked (%s, protocol %d)", agent_id, hello.clone_name, hello.protocol_version)
        if not was_online:
            self._notify()
        try:
            await link.run()
        finally:
            if self._links.get(agent_id) is link:
                del self._links[agent_id]
                log.info("agent %s unlinked: %s", agent_id, link.close_reason)
                if not self.online:
                    self.metrics.link_rtt.set(0)
                    self._notify()

    def disconnect(self, agent_id: str) -> None:
        link = self._links.get(agent_id)
        if link is not None:
            link.stop("agent token revoked")

    @asynccontextmanager
    async def stream(self, work: dict[str, Any] | TelegramMessage, channel: str = "api") -> AsyncIterator[RelayStream]:
        """Relay one request (``channel``: ``web`` for the public chat, ``api`` for API clients, which
        the agent's scheduler weighs); leaving the block early cancels it at the agent.

        Raises ``AgentOfflineError`` without a link and ``FrameTooLargeError`` for a request
        over the link's frame limit (it is never sent, so it cannot drop the link)."""
        link = self.link
        if link is None:
            raise AgentOfflineError
        stream = link.open(work, max_frame_bytes=self.settings.max_relay_frame_bytes, channel=channel)
        try:
            yield stream
        finally:
            if not stream.finished:
                stream.cancel()
            self.metrics.relayed_requests.labels("finished" if stream.finished else "cancelled").inc()
