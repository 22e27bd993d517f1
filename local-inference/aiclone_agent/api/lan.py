"""``/api/lan/*``: the chat of the LAN listener, mounted only in its app (``lan_app``). Who asks
comes from their LAN token; each user sees and continues only their own conversations, which stay
on this PC and appear in the admin's list with their name (channel ``lan``)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from aiclone_agent.api.chat import ChatRequest, start_turn, stream_turn
from aiclone_agent.api.conversations import ConversationDetail, ConversationOut, conversation_detail
from aiclone_agent.api.deps import ChatDep, ConfigDep, LanUserDep, StoreDep
from aiclone_agent.chat.service import Author, ConversationNotFoundError

router = APIRouter(prefix="/api/lan", tags=["lan"])
CHANNEL = "lan"


class LanMe(BaseModel):
    id: str
    name: str
    role: str
    expires_at: float
    clone_name: str


@router.get("/me")
async def me(user: LanUserDep, config: ConfigDep) -> LanMe:
    return LanMe(
        id=user.id,
        name=user.name,
        role=user.role,
        expires_at=user.expires_at,
        clone_name=config.current.clone.name,
    )


@router.post("/chat/stream")
async def chat_stream(
    body: ChatRequest, user: LanUserDep, chat: ChatDep, config: ConfigDep
) -> StreamingResponse:
    conversation_id, generation = await start_turn(body, chat, config, CHANNEL, Author(user.id, user.name))
    return stream_turn(chat, conversation_id, generation)


@router.get("/conversations")
async def list_conversations(
    user: LanUserDep,
    store: StoreDep,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000_000),
) -> list[ConversationOut]:
    return [ConversationOut(**vars(c)) for c in await store.list(limit, offset, author_id=user.id)]


@router.get("/conversations/{conversation_id}")
async def get_conversation(conversation_id: str, user: LanUserDep, store: StoreDep) -> ConversationDetail:
    conversation = await store.get(conversation_id, author_id=user.id)
    if conversation is None:  # another user's reads exactly as one that does not exist
        raise ConversationNotFoundError(conversation_id)
    return await conversation_detail(store, conversation)
