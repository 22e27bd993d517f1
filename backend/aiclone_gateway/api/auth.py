"""``/api/auth/*``: register, login, refresh (rotating), logout, password change. Rate limited per client."""

from __future__ import annotations

import re

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiclone_gateway.api.deps import AuthDep, CurrentUser, RateLimited, RuntimeDep
from aiclone_gateway.core.errors import ApiError

router = APIRouter(prefix="/api/auth", tags=["auth"], dependencies=[RateLimited])
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(min_length=8, max_length=1024)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = value.strip().lower()
        if not EMAIL.match(value):
            raise ValueError("not a valid email address")
        return value


class UserOut(BaseModel):
    id: str
    email: str
    role: str


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=4096)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


@router.post("/register", status_code=201)
async def register(body: Credentials, auth: AuthDep) -> UserOut:
    user = await auth.register(body.email, body.password)
    return UserOut(id=user.id, email=user.email, role=user.role)


@router.post("/login")
async def login(body: Credentials, auth: AuthDep, runtime: RuntimeDep) -> TokenOut:
    try:
        pair = await auth.login(body.email, body.password)
    except ApiError:
        runtime.metrics.auth_failures.labels("password").inc()
        raise
    return TokenOut(**vars(pair))


@router.post("/refresh")
async def refresh(body: RefreshIn, auth: AuthDep, runtime: RuntimeDep) -> TokenOut:
    try:
        pair = await auth.refresh(body.refresh_token)
    except ApiError:
        runtime.metrics.auth_failures.labels("refresh_token").inc()
        raise
    return TokenOut(**vars(pair))


@router.post("/logout", status_code=204)
async def logout(body: RefreshIn, auth: AuthDep) -> None:
    await auth.logout(body.refresh_token)


@router.post("/password", status_code=204)
async def change_password(body: PasswordChange, user: CurrentUser, auth: AuthDep) -> None:
    """Sets a new password and signs the account out everywhere (refresh tokens revoked)."""
    await auth.change_password(user, body.current_password, body.new_password)
