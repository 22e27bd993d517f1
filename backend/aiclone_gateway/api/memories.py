"""``/api/me/memories`` and ``/api/me/memory-settings``: what the clone remembers about the
signed-in user, which they can search, erase, or switch off for themselves. The memories live on
the agent; each call is relayed there for the user this gateway authenticated."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from aiclone_gateway.api.deps import CurrentUser, MemoriesDep
from aiclone_gateway.chat.protocol import Memory, recalled_memories
from aiclone_gateway.core.errors import error_responses
from aiclone_wire.memory import MAX_MEMORY_QUERY_CHARS

# 401: not signed in; 503: the clone is offline (code agent_offline), and the memories live on it
router = APIRouter(prefix="/api/me", tags=["memories"], responses=error_responses(401, 503))


class MemoriesOut(BaseModel):
    memories: list[Memory]
    enabled: bool


class DeletedOut(BaseModel):
    deleted: int


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


@router.get("/memories")
async def list_memories(
    user: CurrentUser,
    memories: MemoriesDep,
    q: Annotated[str | None, Query(max_length=MAX_MEMORY_QUERY_CHARS)] = None,
) -> MemoriesOut:
    """The user's memories, newest first (``q``: only those matching a search)."""
    result = await memories.list(user.id, q)
    return MemoriesOut(memories=recalled_memories(result.memories), enabled=result.enabled)


@router.delete(
    "/memories/{memory_id}",
    status_code=204,
    responses=error_responses(404),  # no such memory of theirs (memory_not_found)
)
async def delete_memory(memory_id: str, user: CurrentUser, memories: MemoriesDep) -> None:
    await memories.delete(user.id, memory_id)


@router.delete("/memories")
async def delete_all_memories(user: CurrentUser, memories: MemoriesDep) -> DeletedOut:
    return DeletedOut(deleted=await memories.delete_all(user.id))


@router.get("/memory-settings")
async def get_memory_settings(user: CurrentUser, memories: MemoriesDep) -> MemorySettings:
    return MemorySettings(enabled=await memories.settings(user.id))


@router.put("/memory-settings")
async def set_memory_settings(
    body: MemorySettings, user: CurrentUser, memories: MemoriesDep
) -> MemorySettings:
    """Switch memory on or off for this user alone: off, nothing is kept or recalled for them."""
    return MemorySettings(enabled=await memories.settings(user.id, body.enabled))
