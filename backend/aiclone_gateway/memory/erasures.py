"""Erasures the agent owes: a deleted account's memories, erased on the agent even when it was
offline when the account went.

Deleting an account writes a ``memory_erasures`` row (``delete_all`` for ``user:<id>``) in the
deletion's own transaction, so a crash right after cannot lose it. Whenever the agent becomes
reachable (a link here, or on another replica), and right after each deletion, the rows go to the
agent oldest first; a row is removed only once the agent's ``memory_result`` acknowledges it.
Sending twice is harmless (erasing an erased person deletes nothing), so replicas need not agree
on who sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.memory.service import MemoryLink
from aiclone_gateway.models import MemoryErasure
from aiclone_gateway.relay.streams import AgentOfflineError
from aiclone_wire import MemoryRequest, MemoryResult

log = logging.getLogger(__name__)


class WatchedLink(MemoryLink, Protocol):
    """The relay hub: where erasures go, and who says when the agent comes back."""

    def on_change(self, listener: Callable[[bool], None]) -> None: ...


class MemoryErasures:
    def __init__(self, db: async_sessionmaker, link: WatchedLink) -> None:
        self.db = db
        self.link = link
        self._again = False
        self._task: asyncio.Task | None = None
        link.on_change(self.agent_changed)

    def agent_changed(self, online: bool) -> None:
        """The hub's listener: the agent came back, so what it missed goes now."""
        if online:
            self.send_now()

    def send_now(self) -> None:
        """Send what is owed (in the background; one sender at a time, a call meanwhile runs it again)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._send(), name="memory-erasures")

    async def pending(self) -> list[MemoryErasure]:
        async with self.db() as session:
            rows = await session.scalars(select(MemoryErasure).order_by(MemoryErasure.created_at))
            return list(rows)

    async def _send(self) -> None:
        while self._again:
            self._again = False
            try:
                for row in await self.pending():
                    if not await self._send_one(row):
                        return
            except Exception:
                log.exception("memory erasures: sending failed; the next link or deletion retries")
                return

    async def _send_one(self, row: MemoryErasure) -> bool:
        """False when the agent did not acknowledge (offline, or it answered an error)."""
        request = MemoryRequest(id=row.id, person=row.person, op="delete_all")
        try:
            answer = await self.link.ask(request)
        except AgentOfflineError:
            return False
        if not isinstance(answer, MemoryResult):
            log.warning(
                "memory erasure for %s not acknowledged: %s %s", row.person, answer.code, answer.message
            )
            return False
        async with self.db() as session:
            await session.execute(delete(MemoryErasure).where(MemoryErasure.id == row.id))
            await session.commit()
        log.info("memory erasure for %s acknowledged (%d memories erased)", row.person, answer.deleted)
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
