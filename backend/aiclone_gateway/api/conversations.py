"""``/api/conversations``: the signed-in user's own conversations, never anyone else's."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from aiclone_gateway.api.deps import ConversationsDep, CurrentUser
from aiclone_gateway.chat.store import ConversationNotFoundError
from aiclone_gateway.core.errors import ApiError, error_responses

router = APIRouter(
    prefix="/api/conversations", tags=["conversations"], responses=error_responses(401, 403, 404)
)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat().replace("+00:00", "Z")


class ConversationOut(BaseModel):
    id: str
    title: str
    updated_at: str


class MessageOut(BaseModel):
    id: str
    role: str
    content: str
    status: str
    created_at: str
    sources: list[dict[str, Any]] = []


class ConversationDetail(BaseModel):
    id: str
    title: str
    messages: list[MessageOut]


@router.get("")
async def list_conversations(
    user: CurrentUser,
    store: ConversationsDep,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> list[ConversationOut]:
    return [
        ConversationOut(id=c.id, title=c.title, updated_at=iso(c.updated_at))
        for c in await store.list(user.id, limit, offset)
    ]


@router.get("/{conversation_id}")
async def get_conversation(
    conversation_id: str, user: CurrentUser, store: ConversationsDep
) -> ConversationDetail:
    try:
        conversation = await store.get(user.id, conversation_id)
    except ConversationNotFoundError:
        raise ApiError(
            404, f"conversation {conversation_id} not found", code="conversation_not_found"
        ) from None
    messages = [
        MessageOut(
            id=m.id,
            role=m.role,
            content=m.content,
            status=m.status,
            created_at=iso(m.created_at),
            sources=json.loads(m.sources) if m.sources else [],
        )
        for m in await store.messages(conversation.id)
    ]
    return ConversationDetail(id=conversation.id, title=conversation.title, messages=messages)
