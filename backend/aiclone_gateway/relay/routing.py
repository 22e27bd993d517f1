"""One relayed request over the agent's best path, retried when its path fails before the first
chunk: on the agent's other path (same request id: the agent's idempotency key, so it drops the
first run and never answers twice), else on another agent of the clone linked here (the failed
agent's link is gone, and with it that agent's run: an agent cancels a link's requests when the
link drops). Each agent and path is tried once. Once a chunk has arrived, a lost path ends the
stream with its explicit error (the client offers to ask again)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Protocol

from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.relay.link import AgentLink, RelayStream
from aiclone_gateway.relay.streams import Channel, ReplyFrame, Streamed
from aiclone_wire import Chunk, Error, TelegramMessage
from aiclone_wire.paths import PathName

log = logging.getLogger(__name__)
# The error code a request gets when its link drops (AgentLink._fail_open_streams).
PATH_LOST = "agent_disconnected"
# An agent without the Telegram bot the message came to (another agent of the clone may have it).
UNKNOWN_BOT = "unknown_bot"


class Paths(Protocol):
    """Where a retry goes (the relay hub)."""

    metrics: GatewayMetrics

    def failover(
        self,
        agent_id: str,
        failed: PathName,
        tried: set[str],
        telegram: bool,
        conversation: str | None = None,
    ) -> tuple[str, PathName, AgentLink] | None:
        """Where the request goes next: the agent's other path when it is up, else another agent
        (none of ``tried``, to which ``agent_id`` is added) and its path."""


class RoutedStream:
    def __init__(
        self,
        hub: Paths,
        agent_id: str,
        work: Streamed,
        max_frame_bytes: int,
        path: PathName,
        link: AgentLink,
        channel: Channel = "api",
        person: str | None = None,
        conversation: str | None = None,
    ) -> None:
        self.hub = hub
        self.agent_id = agent_id
        self.work = work
        self.max_frame_bytes = max_frame_bytes
        self.channel = channel
        self.person = person
        self.conversation = conversation
        self.id = uuid.uuid4().hex
        self.path = path
        # Telegram messages are served on the relay link only (the bots were handed over there)
        self.telegram = isinstance(work, TelegramMessage)
        self.tried: set[str] = set()
        self._stream: RelayStream = link.open(
            work, max_frame_bytes=max_frame_bytes, channel=channel, request_id=self.id, person=person
        )

    def _retriable(self, error: Error) -> bool:
        return error.code == PATH_LOST or (self.telegram and error.code == UNKNOWN_BOT)

    @property
    def finished(self) -> bool:
        return self._stream.finished

    def cancel(self) -> None:
        self._stream.cancel()

    async def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]:
        started = False
        while True:
            retry = None
            reason = ""
            async for frame in self._stream.frames(idle_timeout_s):
                if isinstance(frame, Chunk):
                    started = True
                elif isinstance(frame, Error) and not started and self._retriable(frame):
                    retry = self.hub.failover(
                        self.agent_id, self.path, self.tried, self.telegram, self.conversation
                    )
                    if retry is not None:
                        reason = frame.code
                        break
                yield frame
            if retry is None:
                return
            failed = (self.agent_id, self.path)
            self.agent_id, self.path, link = retry
            self.hub.metrics.path_failovers.inc()
            log.info(
                "request %s: agent %s's %s path lost it before its first chunk (%s), retrying on agent %s over %s",
                self.id,
                *failed,
                reason,
                self.agent_id,
                self.path,
            )
            self._stream = link.open(
                self.work,
                max_frame_bytes=self.max_frame_bytes,
                channel=self.channel,
                request_id=self.id,
                person=self.person,
            )
