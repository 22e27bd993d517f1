"""``/api/clone``: the persona (id, name, system prompt), persisted to config.yaml."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.api.deps import ConfigDep

router = APIRouter(prefix="/api/clone", tags=["clone"])


class CloneOut(BaseModel):
    id: str
    name: str
    system_prompt: str


class CloneUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    system_prompt: str | None = Field(default=None, max_length=20_000)


@router.get("")
async def get_clone(config: ConfigDep) -> CloneOut:
    clone = config.current.clone
    return CloneOut(id=clone.id, name=clone.name, system_prompt=clone.system_prompt)


@router.put("")
async def update_clone(body: CloneUpdate, config: ConfigDep) -> CloneOut:
    changes = body.model_dump(exclude_none=True)

    def apply(data: dict) -> None:
        data["clone"].update(changes)

    clone = config.update(apply).clone
    return CloneOut(id=clone.id, name=clone.name, system_prompt=clone.system_prompt)
