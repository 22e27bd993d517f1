"""What the relay hub needs from the other gateway replicas (``cluster.node.ClusterNode``).

With several replicas an agent's link may be held by another one: the hub asks which agents the
others hold (``remotes``, each with its replica, network state and load), relays requests for
one of them to its replica, and records the links it holds itself. Alone, the gateway
has no replicas and the hub gets ``None``. The relay room declares what it needs and the cluster
room provides it, so the cluster depends on the relay and never the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from aiclone_gateway.relay.streams import Channel, ReplyStream, Streamed
from aiclone_wire import Error, MemoryRequest, MemoryResult


class RemoteAgent(Protocol):
    """The agent as the replica holding its link recorded it."""

    @property
    def agent_id(self) -> str: ...

    @property
    def replica(self) -> str: ...

    @property
    def hello(self) -> dict[str, Any]: ...

    @property
    def network(self) -> dict[str, Any]:
        """Its network mode, paths, round trip and last load report (``RelayHub.local_network``)."""


class Replicas(Protocol):
    @property
    def remote(self) -> RemoteAgent | None:
        """The newest agent another live replica holds, else None."""

    @property
    def remotes(self) -> Mapping[str, RemoteAgent]:
        """Every agent another live replica holds, by agent id."""

    async def claim(self, agent_id: str, hello: dict[str, Any], network: dict[str, Any]) -> bool:
        """This replica holds the agent's relay link now; True when ``remote`` changed."""

    async def release(self, agent_id: str) -> bool:
        """This replica's relay link to the agent ended; True when ``remote`` changed."""

    def relay(
        self, work: Streamed, channel: Channel, person: str | None = None, agent_id: str | None = None
    ) -> AbstractAsyncContextManager[ReplyStream]:
        """Serve one request through the replica that holds ``agent_id``'s link (None: the newest
        remote agent; ``person``: the asker's memory key, stamped by this replica)."""

    async def ask(self, request: MemoryRequest, idle_timeout_s: float) -> MemoryResult | Error:
        """Ask one memory request through the replica that holds the link: its one answer."""

    def publish(self, event: dict[str, Any]) -> None:
        """Tell the other replicas (a user event)."""
