"""``/api/clone``: the persona (id, name, system prompt), persisted to config.yaml."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.api.deps import ChatDep, ConfigDep
from aiclone_agent.core.errors import ApiError

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
async def update_clone(body: CloneUpdate, config: ConfigDep, chat: ChatDep) -> CloneOut:
    changes = body.model_dump(exclude_none=True)
    if body.system_prompt is not None:
        used, most = chat.persona_room(body.system_prompt)
        if used > most:
            raise ApiError(
                400,
                f"the system prompt is {used} tokens but at most {most} fit: the model's context is "
                f"{chat.engine.info.n_ctx} tokens, {config.current.model.max_tokens} are kept for the answer "
                f"and {chat.MIN_CONVERSATION_TOKENS} for the conversation; shorten it",
                code="system_prompt_too_long",
                param="system_prompt",
                params={"used": used, "most": most},
            )

    def apply(data: dict) -> None:
        data["clone"].update(changes)

    clone = config.update(apply).clone
    return CloneOut(id=clone.id, name=clone.name, system_prompt=clone.system_prompt)
