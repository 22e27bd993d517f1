"""A request retried on another agent, wherever it is linked, when its agent fails it before the
first chunk.

``relay.routing.RoutedStream`` already moves a request to the other path of its agent, then to
another agent linked to this replica. With several replicas the other agents may be linked
elsewhere: this stream adds that last step. When the agent it was given (here or on another
replica) cannot take the request (``AgentOfflineError`` on opening: the owner record was stale,
the replica is gone) or loses it before any chunk (``agent_disconnected``, ``agent_offline``), the
next agent is chosen among all the others (the balancer's rule, the failed ones excluded) and
the request is sent there. The client sees one stream; once a chunk has arrived, a lost agent
ends it with its explicit error (a text is never spliced from two agents), and each agent is
tried at most once, so a request is never answered twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from aiclone_gateway.relay.streams import AgentOfflineError, ReplyFrame, ReplyStream
from aiclone_wire import Chunk, Error

log = logging.getLogger(__name__)
# What an agent answers when it lost (or never had) the request: another agent may take it.
AGENT_LOST = frozenset({"agent_disconnected", "agent_offline"})

OpenOn = Callable[[str], AbstractAsyncContextManager[ReplyStream]]
ChooseNext = Callable[[set[str]], "str | None"]


class FailoverStream:
    def __init__(self, stack: AsyncExitStack, open_on: OpenOn, choose_next: ChooseNext) -> None:
        """``open_on(agent_id)``: the request served by that agent (entered on ``stack``, which
        the caller closes); ``choose_next(tried)``: the next agent, None when none is left."""
        self._stack = stack
        self._open_on = open_on
        self._choose_next = choose_next
        self.tried: set[str] = set()
        self.agent_id = ""
        self._stream: ReplyStream | None = None

    async def start(self, agent_id: str) -> None:
        """Open on ``agent_id``, or on the next agent when it cannot take the request; raises
        ``AgentOfflineError`` when no agent can."""
        candidate: str | None = agent_id
        while candidate is not None:
            self.tried.add(candidate)
            try:
                self._stream = await self._stack.enter_async_context(self._open_on(candidate))
            except AgentOfflineError:
                log.info("agent %s could not take the request; choosing another", candidate)
                candidate = self._choose_next(self.tried)
                continue
            self.agent_id = candidate
            return
        raise AgentOfflineError

    @property
    def id(self) -> str:
        assert self._stream is not None
        return self._stream.id

    @property
    def finished(self) -> bool:
        return self._stream is not None and self._stream.finished

    def cancel(self) -> None:
        if self._stream is not None:
            self._stream.cancel()

    async def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]:
        started = False
        while self._stream is not None:
            lost: Error | None = None
            async for frame in self._stream.frames(idle_timeout_s):
                if isinstance(frame, Chunk):
                    started = True
                elif isinstance(frame, Error) and frame.code in AGENT_LOST and not started:
                    lost = frame
                    break
                yield frame
            if lost is None:
                return
            failed = self.agent_id
            following = self._choose_next(self.tried)
            if following is None:
                yield lost
                return
            log.info(
                "request %s: agent %s lost it before its first chunk, retrying on %s",
                self.id,
                failed,
                following,
            )
            try:
                await self.start(following)
            except AgentOfflineError:
                yield lost
                return
