"""One relayed request over the agent's best path, retried once on the other path when its path
fails before the first chunk (same request id: the agent's idempotency key, so it is never
answered twice). Once a chunk has arrived, a lost path ends the stream with its explicit error."""

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


class Paths(Protocol):
    """Where a retry goes (the relay hub)."""

    metrics: GatewayMetrics

    def failover(self, agent_id: str, failed: PathName) -> tuple[PathName, AgentLink] | None:
        """The agent's other path and its link, when it is up."""


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
    ) -> None:
        self.hub = hub
        self.agent_id = agent_id
        self.work = work
        self.max_frame_bytes = max_frame_bytes
        self.channel = channel
        self.person = person
        self.id = uuid.uuid4().hex
        self.path = path
        # Telegram messages are served on the relay link only (the bots were handed over there)
        self.retried = isinstance(work, TelegramMessage)
        self._stream: RelayStream = link.open(
            work, max_frame_bytes=max_frame_bytes, channel=channel, request_id=self.id, person=person
        )

    @property
    def finished(self) -> bool:
        return self._stream.finished

    def cancel(self) -> None:
        self._stream.cancel()

    async def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]:
        started = False
        while True:
            retry = None
            async for frame in self._stream.frames(idle_timeout_s):
                if isinstance(frame, Chunk):
                    started = True
                elif (
                    isinstance(frame, Error) and frame.code == PATH_LOST and not started and not self.retried
                ):
                    retry = self.hub.failover(self.agent_id, self.path)
                    if retry is not None:
                        break
                yield frame
            if retry is None:
                return
            failed, (self.path, link) = self.path, retry
            self.retried = True
            self.hub.metrics.path_failovers.inc()
            log.info(
                "request %s: %s path lost before its first chunk, retrying over %s",
                self.id,
                failed,
                self.path,
            )
            self._stream = link.open(
                self.work,
                max_frame_bytes=self.max_frame_bytes,
                channel=self.channel,
                request_id=self.id,
                person=self.person,
            )
