"""``/api/auth/*``: register, login, refresh (rotating), logout, password change. Rate limited per client."""

from __future__ import annotations

import re

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aiclone_gateway.api.deps import (
    AuthDep,
    CurrentUser,
    LanTokensDep,
    RateLimited,
    RegistrationDep,
    RuntimeDep,
)
from aiclone_gateway.auth.password_policy import MIN_LENGTH
from aiclone_gateway.auth.registration import RegistrationMode
from aiclone_gateway.core.errors import ApiError, error_responses

# the rate limit (429) guards every route; a sign-in that fails is a 401, a blocked account a 403,
# a name already taken a 409
router = APIRouter(
    prefix="/api/auth",
    tags=["auth"],
    dependencies=[RateLimited],
    responses=error_responses(401, 403, 409, 429),
)
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


class RegisterIn(Credentials):
    # A single-use invite code (``inv_...``) when sign-up is by invitation.
    invite: str | None = Field(default=None, max_length=128)
    # Only the first account (the owner) may send this: who may sign up after it.
    registration: RegistrationMode | None = None
    # The gateway's first account in production: the one-time code the gateway printed at start.
    setup_code: str | None = Field(default=None, max_length=128)


class SignUpInfo(BaseModel):
    needs_owner: bool
    mode: RegistrationMode
    # The first sign-up must bring the one-time setup code (a production gateway without owner).
    needs_setup_code: bool
    # The password rule the form says before submitting: this many characters at least, and not
    # one of the common passwords the gateway ships (``auth/common_passwords.txt``).
    password_min_length: int = MIN_LENGTH


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


@router.get("/registration")
async def sign_up_info(auth: AuthDep, registration: RegistrationDep) -> SignUpInfo:
    """What the sign-up page should offer: first setup, open, invite code, or closed."""
    needs_owner = await auth.needs_owner()
    return SignUpInfo(
        needs_owner=needs_owner,
        mode=await registration.mode(),
        needs_setup_code=needs_owner and auth.setup.required,
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


@router.post("/register", status_code=201)
async def register(body: RegisterIn, auth: AuthDep) -> UserOut:
    user = await auth.register(body.email, body.password, body.invite, body.registration, body.setup_code)
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
async def change_password(
    body: PasswordChange, user: CurrentUser, auth: AuthDep, lan_tokens: LanTokensDep
) -> None:
    """Sets a new password and signs the account out everywhere (refresh and LAN tokens revoked)."""
    await auth.change_password(user, body.current_password, body.new_password)
    await lan_tokens.revoke_all(user.id)
