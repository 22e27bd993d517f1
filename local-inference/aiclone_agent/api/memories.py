"""``/api/memories``: every person's long-term memory, for the owner (search, pin, erase, export).

Each record names its person here (and only here: a person's own views never do). Erasures are
durable when the answer comes (SQLite, Chroma and the BM25 index alike).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict

from aiclone_agent.api.deps import MemoryDep
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.core.errors import error_responses
from aiclone_wire.memory import MAX_MEMORY_QUERY_CHARS, PERSON_KEY_PATTERN, MemoryRecord

# 404: no such memory (memory_not_found); 503: the agent runs without a memory store
router = APIRouter(prefix="/api/memories", tags=["memories"], responses=error_responses(404, 503))
PersonQuery = Annotated[str, Query(min_length=1, max_length=128, pattern=PERSON_KEY_PATTERN)]
EXPORT_LIMIT = 1_000_000  # a person's store is capped far below this


class PersonCount(BaseModel):
    person: str
    count: int


class MemoriesPage(BaseModel):
    memories: list[MemoryRecord]
    persons: list[PersonCount]  # everyone with memories, and how many


class PinUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pinned: bool


class Deleted(BaseModel):
    deleted: int


@router.get("")
async def list_memories(
    memory: MemoryDep,
    person: Annotated[str | None, Query(min_length=1, max_length=128, pattern=PERSON_KEY_PATTERN)] = None,
    q: Annotated[str | None, Query(max_length=MAX_MEMORY_QUERY_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> MemoriesPage:
    records = (
        await memory.records(None, q, limit, offset)
        if person is None
        else await _named(memory, person, q, limit, offset)
    )
    return MemoriesPage(
        memories=records, persons=[PersonCount(person=p, count=n) for p, n in await memory.persons()]
    )


async def _named(
    memory: ChatMemory, person: str, q: str | None, limit: int, offset: int
) -> list[MemoryRecord]:
    """One person's records, naming them (the admin's views always say whose)."""
    return [r.model_copy(update={"person": person}) for r in await memory.records(person, q, limit, offset)]


@router.get("/export")
async def export_memories(memory: MemoryDep, person: PersonQuery) -> Response:
    """One person's memories as a JSON file (all of them, newest first)."""
    records = await _named(memory, person, None, EXPORT_LIMIT, 0)
    body = {
        "person": person,
        "exported_at": datetime.now(timezone.utc).isoformat(),
        "memories": [r.model_dump(mode="json") for r in records],
    }
    name = "memories-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in person) + ".json"
    return Response(
        json.dumps(body, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.patch("/{memory_id}")
async def pin_memory(memory_id: str, body: PinUpdate, memory: MemoryDep) -> MemoryRecord:
    return await memory.set_pinned(memory_id, body.pinned)


@router.delete("/{memory_id}", status_code=204)
async def delete_memory(memory_id: str, memory: MemoryDep) -> Response:
    await memory.delete(memory_id)
    return Response(status_code=204)


@router.delete("")
async def delete_person_memories(memory: MemoryDep, person: PersonQuery) -> Deleted:
    return Deleted(deleted=await memory.delete_all(person))
