"""What a relayed request looks like to the code that asked for it, wherever it is served.

A request goes over this replica's own link to the agent (``relay.routing.RoutedStream``) or,
with several replicas, over Redis to the replica that holds the link (``cluster.forwarding``);
the chat, the OpenAI API and Telegram see one surface either way. This module imports nothing of
the gateway, so raising or catching these errors never drags the hub or the cluster in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal, Protocol

from aiclone_wire import Chunk, End, Error, MemoryRequest, TelegramMessage

ReplyFrame = Chunk | End | Error
# What is streamed over a link: an OpenAI request body, or a Telegram message (only the webhook
# code has one).
Streamed = dict[str, Any] | TelegramMessage
# What is relayed to the replica holding the link: a streamed request, or a signed-in user's memory
# request (asked for its one answer: ``RelayHub.ask``).
Work = Streamed | MemoryRequest
# Who asked (the agent's scheduler weighs it): ``web`` for the public chat, ``api`` for API clients.
Channel = Literal["web", "api"]


class AgentOfflineError(Exception):
    """No agent is linked: the request cannot be relayed now."""


class FrameTooLargeError(Exception):
    """A request would not fit one frame on the link; it is refused before it is sent."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the request is {size} bytes on the link; the limit is {limit}")
        self.size, self.limit = size, limit


class ReplyStream(Protocol):
    """The agent's answer to one request: its frames in order, ending with ``end`` or ``error``."""

    @property
    def id(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    def cancel(self) -> None:
        """Stop the agent's work; the frames end with finish reason ``cancelled``."""

    def frames(self, idle_timeout_s: float) -> AsyncIterator[ReplyFrame]: ...
