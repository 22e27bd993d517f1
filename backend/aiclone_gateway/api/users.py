"""``/api/users/me`` and the owner's ``/api/admin/*`` switches."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from aiclone_gateway.api.deps import AuthDep, CurrentUser, OwnerUser

router = APIRouter(tags=["users"])


class MeOut(BaseModel):
    id: str
    email: str
    role: str
    created_at: float


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    open: bool


@router.get("/api/users/me")
async def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.id, email=user.email, role=user.role, created_at=user.created_at)


@router.get("/api/admin/registration")
async def get_registration(_: OwnerUser, auth: AuthDep) -> Registration:
    return Registration(open=await auth.registration_open())


@router.put("/api/admin/registration")
async def set_registration(body: Registration, _: OwnerUser, auth: AuthDep) -> Registration:
    return Registration(open=await auth.set_registration(body.open))
