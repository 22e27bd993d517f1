"""Agent tokens (owner only, ``/api/agents``) and API keys (``/api/keys``); secrets shown once."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiclone_gateway.api.deps import (
    CredentialsDep,
    CurrentUser,
    HubDep,
    OwnerUser,
    ReceptionDep,
    RuntimeDep,
)
from aiclone_gateway.core.errors import ApiError, error_responses
from aiclone_wire.pairing import pairing_string

router = APIRouter(tags=["credentials"], responses=error_responses(401, 403))


class NameIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="default", min_length=1, max_length=120)


class AgentFingerprintOut(BaseModel):
    """What the agent serves: model, adapter (name@scale, "" for none), persona and documents hashes."""

    model: str
    adapter: str
    persona: str
    documents: str


class AgentTokenOut(BaseModel):
    """One agent token, and while its agent is linked (to any replica) how it is doing."""

    id: str
    name: str
    created_at: float
    linked: bool = False
    mode: str = "offline"
    # sequences decoding, requests waiting for a slot (as the agent last reported) and its slots
    running: int = 0
    waiting: int = 0
    parallel: int | None = None
    # this replica's requests open to the agent now
    in_flight: int = 0
    tokens_per_s: float | None = None
    rtt_ms: float | None = None
    fingerprint: AgentFingerprintOut | None = None
    # the replica holding the link when another one does (None: this one, or not linked)
    replica: str | None = None


class AgentTokenCreated(AgentTokenOut):
    token: str
    # this gateway's public address and the token in one line, for the agent's Gateway page
    pairing: str


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: float


class ApiKeyCreated(ApiKeyOut):
    key: str


@router.post("/api/agents", status_code=201)
async def create_agent_token(
    _: OwnerUser, credentials: CredentialsDep, runtime: RuntimeDep, body: NameIn | None = None
) -> AgentTokenCreated:
    row, token = await credentials.create_agent_token((body or NameIn()).name)
    return AgentTokenCreated(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        token=token,
        pairing=pairing_string(runtime.settings.public_url, token),
    )


@router.get("/api/agents")
async def list_agent_tokens(_: OwnerUser, credentials: CredentialsDep, hub: HubDep) -> list[AgentTokenOut]:
    live = hub.agents()
    return [
        AgentTokenOut(
            id=r.id, name=r.name, created_at=r.created_at, linked=r.id in live, **live.get(r.id, {})
        )
        for r in await credentials.agent_tokens()
    ]


@router.delete("/api/agents/{token_id}", status_code=204, responses=error_responses(404))
async def revoke_agent_token(
    token_id: str, _: OwnerUser, credentials: CredentialsDep, reception: ReceptionDep
) -> None:
    if not await credentials.revoke_agent_token(token_id):
        raise ApiError(404, f"agent token {token_id} not found", code="not_found")
    reception.revoke(token_id)


@router.post("/api/keys", status_code=201)
async def create_api_key(
    user: CurrentUser, credentials: CredentialsDep, body: NameIn | None = None
) -> ApiKeyCreated:
    row, key = await credentials.create_api_key(user.id, (body or NameIn()).name)
    return ApiKeyCreated(id=row.id, name=row.name, prefix=row.prefix, created_at=row.created_at, key=key)


@router.get("/api/keys")
async def list_api_keys(user: CurrentUser, credentials: CredentialsDep) -> list[ApiKeyOut]:
    return [
        ApiKeyOut(id=r.id, name=r.name, prefix=r.prefix, created_at=r.created_at)
        for r in await credentials.api_keys(user.id)
    ]


@router.delete("/api/keys/{key_id}", status_code=204, responses=error_responses(404))
async def revoke_api_key(key_id: str, user: CurrentUser, credentials: CredentialsDep) -> None:
    if not await credentials.revoke_api_key(user.id, key_id):
        raise ApiError(404, f"API key {key_id} not found", code="not_found")
