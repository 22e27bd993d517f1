"""Keeping each linked agent's list of revoked LAN tokens current, whichever replica revoked one.

The agent's LAN listener checks LAN tokens offline, so a revocation counts only once the agent
holds it. Whatever changes the list (a user revoking a token, a new password, a blocked or deleted
account) calls ``changed`` on the replica where it happened. With several replicas that replica
also appends a ``lan_revocations_changed`` user event (the Redis stream every replica follows,
never pub/sub), and every replica holding an agent link reads the whole list from the database and
sends it over its links: the agent may be linked to any of them, or several agents to several.

Reads run one at a time and a change during a read starts another, so the last list sent was read
after the last change: an older list never overtakes a newer one (the agent replaces its list with
each frame). A replica that gains a link later sends the list from the database in its greeting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiclone_wire import LanRevocations

log = logging.getLogger(__name__)
CHANGED_EVENT = "lan_revocations_changed"


class AgentLinks(Protocol):
    """The links this process holds (the relay hub)."""

    @property
    def linked_here(self) -> bool: ...

    def broadcast(self, frame: Any) -> None: ...


class LanRevocationPush:
    def __init__(
        self,
        read: Callable[[], Awaitable[LanRevocations]],
        links: AgentLinks,
        fanout: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.read = read
        self.links = links
        # tells the other replicas (the cluster's user events); None when this process is alone
        self.fanout = fanout
        self._stale = False
        self._task: asyncio.Task | None = None

    def changed(self) -> None:
        """The list changed here (committed): tell the other replicas, push it to the links here."""
        if self.fanout is not None:
            self.fanout({"type": CHANGED_EVENT})
        self.changed_elsewhere()

    def changed_elsewhere(self) -> None:
        """The list changed (here or on another replica): send it to the agents linked here.

        With no link here nothing is read: a link made later gets the list in its greeting, read
        after it was registered, so after this change."""
        if not self.links.linked_here:
            return
        self._stale = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._push(), name="lan-revocations")

    async def _push(self) -> None:
        while self._stale:
            self._stale = False
            try:
                frame = await self.read()
            except Exception:
                log.exception("LAN revocations: reading the list failed; the next change or link sends it")
                return
            self.links.broadcast(frame)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
