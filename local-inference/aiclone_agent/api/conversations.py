"""``/api/conversations``: the local chat history."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel

from aiclone_agent.api.deps import StoreDep
from aiclone_agent.core.errors import ApiError

router = APIRouter(prefix="/api/conversations", tags=["conversations"])


class ConversationOut(BaseModel):
    id: str
    title: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int


class MessageOut(BaseModel):
    role: str
    content: str
    created_at: float
    finish_reason: str | None = None


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


@router.get("")
async def list_conversations(
    store: StoreDep, limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0)
) -> list[ConversationOut]:
    return [ConversationOut(**vars(c)) for c in await store.list(limit, offset)]


@router.get("/{conversation_id}")
async def get_conversation(conversation_id: str, store: StoreDep) -> ConversationDetail:
    conversation = await store.get(conversation_id)
    if conversation is None:
        raise ApiError(404, f"conversation {conversation_id} not found", code="conversation_not_found")
    messages = [
        MessageOut(role=m.role, content=m.content, created_at=m.created_at, finish_reason=m.meta.get("finish_reason"))
        for m in await store.messages(conversation_id)
    ]
    return ConversationDetail(**vars(conversation), messages=messages)


@router.delete("/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: str, store: StoreDep) -> None:
    if not await store.delete(conversation_id):
        raise ApiError(404, f"conversation {conversation_id} not found", code="conversation_not_found")
