"""``/api/conversations``: the local chat history (list and search, open, rename, delete, and
cut after a message so the admin's test chat can regenerate or edit and resend)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.api.deps import StoreDep
from aiclone_agent.chat.store import Conversation, ConversationStore
from aiclone_agent.core.errors import ApiError, error_responses

router = APIRouter(prefix="/api/conversations", tags=["conversations"], responses=error_responses(404))


class ConversationOut(BaseModel):
    id: str
    title: str
    channel: str
    created_at: float
    updated_at: float
    message_count: int
    author: str | None = None  # who wrote it on the LAN listener (their gateway account); None: the owner


class ConversationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=80)


class MessageOut(BaseModel):
    role: str
    content: str
    created_at: float
    finish_reason: str | None = None
    sources: list[dict[str, Any]] = []


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]


def _not_found(conversation_id: str) -> ApiError:
    return ApiError(404, f"conversation {conversation_id} not found", code="conversation_not_found")


async def conversation_detail(store: ConversationStore, conversation: Conversation) -> ConversationDetail:
    """A stored conversation with its messages, as the admin and the LAN listener serve it."""
    messages = [
        MessageOut(
            role=m.role,
            content=m.content,
            created_at=m.created_at,
            finish_reason=m.meta.get("finish_reason"),
            sources=m.meta.get("sources", []),
        )
        for m in await store.messages(conversation.id)
    ]
    return ConversationDetail(**vars(conversation), messages=messages)


@router.get("")
async def list_conversations(
    store: StoreDep,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
    q: str = Query("", max_length=200, description="only conversations whose title or messages contain this"),
) -> list[ConversationOut]:
    return [ConversationOut(**vars(c)) for c in await store.list(limit, offset, q.strip())]


@router.get("/{conversation_id}")
async def get_conversation(conversation_id: str, store: StoreDep) -> ConversationDetail:
    conversation = await store.get(conversation_id)
    if conversation is None:
        raise _not_found(conversation_id)
    return await conversation_detail(store, conversation)


@router.patch("/{conversation_id}")
async def rename_conversation(conversation_id: str, body: ConversationPatch, store: StoreDep) -> ConversationOut:
    title = body.title.strip()
    if not title:
        raise ApiError(400, "the title must not be blank", code="invalid_title", param="title")
    conversation = await store.rename(conversation_id, title)
    if conversation is None:
        raise _not_found(conversation_id)
    return ConversationOut(**vars(conversation))


@router.delete("/{conversation_id}/messages", status_code=204)
async def forget_messages_after(
    conversation_id: str, store: StoreDep, keep: int = Query(ge=0, le=1_000_000_000, description="messages to keep, oldest first")
) -> None:
    """Drop every message after the first ``keep`` (regenerate, or edit a question and resend)."""
    if await store.get(conversation_id) is None:
        raise _not_found(conversation_id)
    await store.truncate(conversation_id, keep)


@router.delete("/{conversation_id}", status_code=204)
async def delete_conversation(conversation_id: str, store: StoreDep) -> None:
    if not await store.delete(conversation_id):
        raise _not_found(conversation_id)
