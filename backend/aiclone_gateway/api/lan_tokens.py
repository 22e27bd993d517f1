"""``/api/lan-tokens``: a signed-in user's passes for the agent's LAN listener (chat at home when
the VDS or the internet is down). The token is shown once; revoking one reaches the agent over
its link (``LanTokenService``)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from aiclone_gateway.api.deps import CurrentUser, HubDep, LanTokensDep
from aiclone_gateway.core.errors import ApiError, error_responses

router = APIRouter(prefix="/api/lan-tokens", tags=["lan"], responses=error_responses(401, 403))


class LanTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="home", min_length=1, max_length=120)


class LanTokenOut(BaseModel):
    id: str
    name: str
    created_at: float
    expires_at: float


class LanTokenCreated(LanTokenOut):
    token: str


@router.post("", status_code=201)
async def create_lan_token(
    user: CurrentUser, lan_tokens: LanTokensDep, body: LanTokenIn | None = None
) -> LanTokenCreated:
    row, token = await lan_tokens.create(user, (body or LanTokenIn()).name.strip() or "home")
    return LanTokenCreated(
        id=row.id, name=row.name, created_at=row.created_at, expires_at=row.expires_at, token=token
    )


class LanAddress(BaseModel):
    # the LAN chat page's address as the linked agent reported it (None: no agent, or no listener)
    url: str | None


@router.get("/address")
async def lan_address(_: CurrentUser, hub: HubDep) -> LanAddress:
    """Where the clone answers at home, for the signed-in "Use at home" page (a private address:
    not in the public ``/api/status``)."""
    hello = hub.last_hello
    return LanAddress(url=hello.lan_url if hello else None)


@router.get("")
async def list_lan_tokens(user: CurrentUser, lan_tokens: LanTokensDep) -> list[LanTokenOut]:
    return [
        LanTokenOut(id=r.id, name=r.name, created_at=r.created_at, expires_at=r.expires_at)
        for r in await lan_tokens.live(user.id)
    ]


@router.delete("/{token_id}", status_code=204, responses=error_responses(404))
async def revoke_lan_token(token_id: str, user: CurrentUser, lan_tokens: LanTokensDep) -> None:
    if not await lan_tokens.revoke(user.id, token_id):
        raise ApiError(404, f"LAN token {token_id} not found", code="not_found")
