"""A signed-in user's own long-term memories, which live on the agent: asked over the link.

Every request names the person this gateway authenticated (``user:<id>``), never one a client
sent, so a user can only ever see, search or erase their own. The agent answers each
``memory_request`` with one ``memory_result`` or an ``error``; those become HTTP answers here.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal, Protocol

from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.relay.streams import AgentOfflineError
from aiclone_wire import Error, MemoryRequest, MemoryResult, user_person

MAX_MEMORY_ID_CHARS = 64
# what a lost link or a silent agent becomes for the user
_UNREACHABLE = {"agent_disconnected", "agent_timeout"}


class MemoryLink(Protocol):
    """Where memory requests go (the relay hub: this replica's link or another replica's)."""

    async def ask(self, request: MemoryRequest, local_only: bool = False) -> MemoryResult | Error: ...


def agent_offline() -> ApiError:
    return ApiError(
        503,
        "the clone is offline right now, and your memories live on it; try again when it is back",
        code="agent_offline",
    )


def memory_not_found(memory_id: str) -> ApiError:
    return ApiError(404, f"memory {memory_id} not found", code="memory_not_found")


class MemoryService:
    def __init__(self, link: MemoryLink) -> None:
        self.link = link

    async def list(self, user_id: str, query: str | None = None) -> MemoryResult:
        return await self._ask(user_id, "list", query=query or None)

    async def delete(self, user_id: str, memory_id: str) -> None:
        """Erase one of the user's memories; 404 when it is absent or someone else's."""
        if len(memory_id) > MAX_MEMORY_ID_CHARS:
            raise memory_not_found(memory_id[:MAX_MEMORY_ID_CHARS])
        result = await self._ask(user_id, "delete", memory_id=memory_id)
        if result.deleted == 0:
            raise memory_not_found(memory_id)

    async def delete_all(self, user_id: str) -> int:
        return (await self._ask(user_id, "delete_all")).deleted

    async def settings(self, user_id: str, enabled: bool | None = None) -> bool:
        """The user's own memory switch (``enabled`` None: read it; True/False: set it)."""
        return (await self._ask(user_id, "settings", enabled=enabled)).enabled

    async def _ask(
        self, user_id: str, op: Literal["list", "delete", "delete_all", "settings"], **fields: Any
    ) -> MemoryResult:
        request = MemoryRequest(id=uuid.uuid4().hex, person=user_person(user_id), op=op, **fields)
        try:
            answer = await self.link.ask(request)
        except AgentOfflineError:
            raise agent_offline() from None
        if isinstance(answer, MemoryResult):
            return answer
        if answer.code in _UNREACHABLE:
            raise agent_offline()
        if answer.code == "memory_not_found":
            raise memory_not_found(fields.get("memory_id") or "")
        raise ApiError(answer.status, answer.message, code=answer.code)
