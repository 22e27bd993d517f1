"""``/api/lan/*``: the chat of the LAN listener, mounted only in its app (``lan_app``). Who asks
comes from their LAN token; each user sees and continues only their own conversations, which stay
on this PC and appear in the admin's list with their name (channel ``lan``). ``/api/lan/me/memories*``
and ``/api/lan/me/memory-settings`` are the token's person's long-term memory, shaped as the
gateway's ``/api/me/…``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from aiclone_agent.api.chat import ChatRequest, start_turn, stream_turn
from aiclone_agent.api.conversations import ConversationDetail, ConversationOut, conversation_detail
from aiclone_agent.api.deps import ChatDep, ConfigDep, LanUserDep, MemoryDep, PairingDep, StoreDep
from aiclone_agent.chat.service import Author, ConversationNotFoundError
from aiclone_wire.memory import MAX_MEMORY_QUERY_CHARS, MemoryRecord, user_person

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


class PairingCode(BaseModel):
    code: str  # XXXX-XXXX
    expires_in_s: float


class PairIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=32)


class Paired(BaseModel):
    token: str


@router.post("/pairing-codes", status_code=201)
async def new_pairing_code(
    _: LanUserDep, pairing: PairingDep, authorization: Annotated[str, Header()]
) -> PairingCode:
    """A one-time code another device at home exchanges for this device's LAN token."""
    code, ttl_s = pairing.issue(authorization.partition(" ")[2].strip())
    return PairingCode(code=code, expires_in_s=ttl_s)


@router.post("/pair")
async def pair(body: PairIn, pairing: PairingDep) -> Paired:
    """A pairing code for its LAN token (no token needed: the code is the proof, once)."""
    return Paired(token=pairing.redeem(body.code))


@router.post("/chat/stream")
async def chat_stream(
    body: ChatRequest, user: LanUserDep, chat: ChatDep, config: ConfigDep
) -> StreamingResponse:
    conversation_id, generation = await start_turn(
        body, chat, config, CHANNEL, Author(user.id, user.name), user_person(user.id)
    )
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


class MyMemories(BaseModel):
    memories: list[MemoryRecord]
    enabled: bool  # the person's own switch


class MemorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class Deleted(BaseModel):
    deleted: int


@router.get("/me/memories")
async def my_memories(
    user: LanUserDep,
    memory: MemoryDep,
    q: Annotated[str | None, Query(max_length=MAX_MEMORY_QUERY_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> MyMemories:
    person = user_person(user.id)
    return MyMemories(
        memories=await memory.records(person, q, limit, offset), enabled=await memory.enabled(person)
    )


@router.delete("/me/memories/{memory_id}", status_code=204)
async def forget_one(memory_id: str, user: LanUserDep, memory: MemoryDep) -> Response:
    await memory.delete(memory_id, user_person(user.id))  # another's: 404, as an absent one
    return Response(status_code=204)


@router.delete("/me/memories")
async def forget_all(user: LanUserDep, memory: MemoryDep) -> Deleted:
    return Deleted(deleted=await memory.delete_all(user_person(user.id)))


@router.get("/me/memory-settings")
async def memory_settings(user: LanUserDep, memory: MemoryDep) -> MemorySettings:
    return MemorySettings(enabled=await memory.enabled(user_person(user.id)))


@router.put("/me/memory-settings")
async def change_memory_settings(body: MemorySettings, user: LanUserDep, memory: MemoryDep) -> MemorySettings:
    return MemorySettings(enabled=await memory.enabled(user_person(user.id), body.enabled))
