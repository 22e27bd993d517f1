"""Accounts and sessions: sign-up (the first user owns the gateway), login, refresh rotation."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.auth.registration import RegistrationMode, RegistrationPolicy
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.core.security import PasswordHashing
from aiclone_gateway.core.tokens import InvalidTokenError, TokenIssuer
from aiclone_gateway.models import GatewayState, RefreshToken, User


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


def _unauthorized(message: str, code: str) -> ApiError:
    return ApiError(401, message, code=code, headers={"WWW-Authenticate": "Bearer"})


class AuthService:
    def __init__(
        self,
        db: async_sessionmaker,
        passwords: PasswordHashing,
        tokens: TokenIssuer,
        settings: Settings,
        registration: RegistrationPolicy,
    ) -> None:
        self.db = db
        self.registration = registration
        self.passwords = passwords
        self.tokens = tokens
        self.settings = settings

    async def register(
        self,
        email: str,
        password: str,
        invite: str | None = None,
        first_setup: RegistrationMode | None = None,
    ) -> User:
        """The first account owns the gateway and may choose who signs up after it (``first_setup``)."""
        password_hash = await self.passwords.hash(password)
        async with self.db() as session:
            user = User(email=email.lower(), password_hash=password_hash, role="user")
            session.add(user)
            try:
                await session.flush()  # the INSERT takes the write lock first (SQLite)
            except IntegrityError:
                raise ApiError(
                    409, "an account with this email already exists", code="email_taken", param="email"
                ) from None
            # Atomic claim: of concurrent sign-ups exactly one sees owner_id still empty.
            claimed = await session.execute(
                update(GatewayState)
                .where(GatewayState.id == 1, GatewayState.owner_id.is_(None))
                .values(owner_id=user.id)
            )
            if claimed.rowcount == 1:
                user.role = "owner"
                if first_setup is not None:
                    await session.execute(
                        update(GatewayState).where(GatewayState.id == 1).values(registration_mode=first_setup)
                    )
            elif first_setup is not None:
                await session.rollback()
                raise ApiError(
                    403,
                    "only the gateway's first account chooses who may sign up; the owner changes it later",
                    code="owner_only",
                    param="registration",
                )
            else:
                try:
                    await self.registration.admit(session, user.id, invite)
                except ApiError:
                    await session.rollback()
                    raise
            await session.commit()
        return user

    async def login(self, email: str, password: str) -> TokenPair:
        async with self.db() as session:
            user = await session.scalar(select(User).where(User.email == email.lower()))
        if not await self.passwords.verify(user.password_hash if user else None, password) or user is None:
            raise _unauthorized("wrong email or password", "invalid_credentials")
        return await self._issue_pair(user, family_id=uuid.uuid4().hex)

    async def _issue_pair(self, user: User, family_id: str) -> TokenPair:
        access, _ = self.tokens.issue(user.id, "access", self.settings.access_token_ttl_s, role=user.role)
        refresh, claims = self.tokens.issue(
            user.id, "refresh", self.settings.refresh_token_ttl_s, fam=family_id
        )
        async with self.db() as session:
            session.add(
                RefreshToken(
                    id=claims.jti, user_id=user.id, family_id=family_id, expires_at=claims.expires_at
                )
            )
            await session.commit()
        return TokenPair(access, refresh, self.settings.access_token_ttl_s)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent; presenting a spent one revokes its whole family."""
        claims = self._verify_refresh(refresh_token)
        now = time.time()
        async with self.db() as session:
            row = await session.get(RefreshToken, claims.jti)
            if row is None or row.revoked_at is not None:
                raise _unauthorized("refresh token revoked", "token_revoked")
            spent = await session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                .values(used_at=now)
            )
            if spent.rowcount != 1:
                await session.execute(
                    update(RefreshToken)
                    .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
                await session.commit()
                raise _unauthorized(
                    "refresh token reuse detected: this login was revoked everywhere", "token_reused"
                )
            user = await session.get(User, row.user_id)
            await session.commit()
        if user is None:
            raise _unauthorized("the account no longer exists", "invalid_token")
        return await self._issue_pair(user, row.family_id)

    async def logout(self, refresh_token: str) -> None:
        claims = self._verify_refresh(refresh_token)
        async with self.db() as session:
            row = await session.get(RefreshToken, claims.jti)
            if row is not None:
                await session.execute(
                    update(RefreshToken)
                    .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=time.time())
                )
                await session.commit()

    def _verify_refresh(self, token: str):
        try:
            return self.tokens.verify(token, "refresh")
        except InvalidTokenError as exc:
            raise _unauthorized(str(exc), "invalid_token") from exc

    async def user_for_access_token(self, token: str) -> User:
        try:
            claims = self.tokens.verify(token, "access")
        except InvalidTokenError as exc:
            raise _unauthorized(str(exc), "invalid_token") from exc
        async with self.db() as session:
            user = await session.get(User, claims.subject)
        if user is None:
            raise _unauthorized("the account no longer exists", "invalid_token")
        return user

    async def users(self) -> list[User]:
        async with self.db() as session:
            return list((await session.scalars(select(User).order_by(User.created_at))).all())

    async def needs_owner(self) -> bool:
        async with self.db() as session:
            state = await session.get(GatewayState, 1)
        return state is None or state.owner_id is None
