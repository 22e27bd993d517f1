"""``/api/users/me`` and the owner's ``/api/admin/*`` pages: users (block, delete), registration mode,
invite links."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from aiclone_gateway.api.deps import (
    AccountsDep,
    AuthDep,
    CurrentUser,
    OwnerUser,
    RegistrationDep,
    RuntimeDep,
)
from aiclone_gateway.auth.accounts import SettableRole
from aiclone_gateway.auth.registration import RegistrationMode
from aiclone_gateway.core.errors import ApiError, error_responses

router = APIRouter(tags=["users"], responses=error_responses(401, 403))


class MeOut(BaseModel):
    id: str
    email: str
    role: str
    created_at: float


class UserUpdate(BaseModel):
    """What ``GET /api/admin/users`` lists for one user; only ``role`` changes, the rest may only
    repeat itself."""

    model_config = ConfigDict(extra="forbid")
    role: SettableRole
    id: str | None = None
    email: str | None = None
    created_at: float | None = None


# Close codes in the 4000 range are the application's own (RFC 6455 7.4.2); the page shows why.
CLOSE_BLOCKED = 4403
CLOSE_DELETED = 4410


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: RegistrationMode


class InviteOut(BaseModel):
    id: str
    created_at: float
    used_at: float | None
    used_by: str | None


class InviteCreated(InviteOut):
    code: str
    url: str


@router.get("/api/users/me")
async def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.id, email=user.email, role=user.role, created_at=user.created_at)


@router.get("/api/admin/users")
async def list_users(_: OwnerUser, auth: AuthDep) -> list[MeOut]:
    return [MeOut(id=u.id, email=u.email, role=u.role, created_at=u.created_at) for u in await auth.users()]


@router.patch("/api/admin/users/{user_id}", responses=error_responses(404))
async def update_user(
    user_id: str, body: UserUpdate, owner: OwnerUser, accounts: AccountsDep, runtime: RuntimeDep
) -> MeOut:
    """Block a user (signed out everywhere, open chats closed at once) or let them back in."""
    current = await accounts.get(user_id)
    for field in ("id", "email", "created_at"):
        sent = getattr(body, field)
        if sent is not None and sent != getattr(current, field):
            raise ApiError(400, f"{field} cannot be changed", code="read_only", param=field)
    user = await accounts.set_role(owner, user_id, body.role)
    if user.role == "blocked":
        await runtime.lan_tokens.revoke_all(user_id)  # the agent's LAN listener refuses them too
        runtime.chat.cancel_user(user_id)
        runtime.sockets.end_user(user_id, CLOSE_BLOCKED, "account blocked")
    return MeOut(id=user.id, email=user.email, role=user.role, created_at=user.created_at)


@router.delete("/api/admin/users/{user_id}", status_code=204, responses=error_responses(404))
async def delete_user(user_id: str, owner: OwnerUser, accounts: AccountsDep, runtime: RuntimeDep) -> None:
    """Delete a user with their conversations, API keys and sessions; their open chats close, their
    LAN tokens are revoked (the revocations outlive the account until the tokens expire) and their
    memories on the agent are erased (now, or when the agent is back)."""
    if user_id != owner.id:  # the owner's own account is refused below, its tokens untouched
        await runtime.lan_tokens.revoke_all(user_id)
    await accounts.delete(owner, user_id)
    runtime.memory_erasures.send_now()
    runtime.chat.cancel_user(user_id)
    runtime.sockets.end_user(user_id, CLOSE_DELETED, "account deleted")


@router.get("/api/admin/registration")
async def get_registration(_: OwnerUser, registration: RegistrationDep) -> Registration:
    return Registration(mode=await registration.mode())


@router.put("/api/admin/registration")
async def set_registration(body: Registration, _: OwnerUser, registration: RegistrationDep) -> Registration:
    return Registration(mode=await registration.set_mode(body.mode))


@router.post("/api/admin/invites", status_code=201)
async def create_invite(_: OwnerUser, registration: RegistrationDep, runtime: RuntimeDep) -> InviteCreated:
    row, code = await registration.create_invite()
    url = f"{runtime.settings.public_url.rstrip('/')}/register?invite={code}"
    return InviteCreated(id=row.id, created_at=row.created_at, used_at=None, used_by=None, code=code, url=url)


@router.get("/api/admin/invites")
async def list_invites(_: OwnerUser, registration: RegistrationDep) -> list[InviteOut]:
    return [
        InviteOut(id=r.id, created_at=r.created_at, used_at=r.used_at, used_by=r.used_by)
        for r in await registration.invites()
    ]


@router.delete("/api/admin/invites/{invite_id}", status_code=204, responses=error_responses(404))
async def revoke_invite(invite_id: str, _: OwnerUser, registration: RegistrationDep) -> None:
    if not await registration.revoke_invite(invite_id):
        raise ApiError(404, f"unused invite {invite_id} not found", code="not_found")
