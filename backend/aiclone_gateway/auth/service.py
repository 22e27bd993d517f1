"""Accounts and sessions: sign-up (the first user owns the gateway; in production only with the
one-time setup code), login, refresh rotation."""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.auth.accounts import ensure_active
from aiclone_gateway.auth.owner_setup import OwnerSetupCode
from aiclone_gateway.auth.password_policy import check_password
from aiclone_gateway.auth.registration import RegistrationMode, RegistrationPolicy
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.core.security import PasswordHashing
from aiclone_gateway.core.tokens import InvalidTokenError, TokenClaims, TokenIssuer
from aiclone_gateway.models import GatewayState, RefreshToken, User


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


def _successor_id(jti: str) -> str:
    """The jti of the token that replaces ``jti``: fixed in advance, so concurrent refreshes
    with one token can only ever create one successor (the primary key sees to it)."""
    return hashlib.sha256(f"successor:{jti}".encode()).hexdigest()[:32]


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
        setup: OwnerSetupCode,
    ) -> None:
        self.db = db
        self.registration = registration
        self.setup = setup
        self.passwords = passwords
        self.tokens = tokens
        self.settings = settings

    async def register(
        self,
        email: str,
        password: str,
        invite: str | None = None,
        first_setup: RegistrationMode | None = None,
        setup_code: str | None = None,
    ) -> User:
        """The first account owns the gateway and may choose who signs up after it (``first_setup``).

        In production it must bring the one-time setup code: checked inside the transaction that
        claims the ownership, so of concurrent sign-ups only one with the right code becomes the
        owner and one without it creates nothing."""
        check_password(password)
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
                try:
                    self.setup.check(setup_code)
                except ApiError:
                    await session.rollback()
                    raise
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
        if user.role == "owner":
            self.setup.spent()
        return user

    async def login(self, email: str, password: str) -> TokenPair:
        async with self.db() as session:
            user = await session.scalar(select(User).where(User.email == email.lower()))
        if not await self.passwords.verify(user.password_hash if user else None, password) or user is None:
            raise _unauthorized("wrong email or password", "invalid_credentials")
        return await self._issue_pair(ensure_active(user), family_id=uuid.uuid4().hex)

    async def _issue_pair(self, user: User, family_id: str) -> TokenPair:
        issued_at = int(time.time())
        row = RefreshToken(
            id=uuid.uuid4().hex,
            user_id=user.id,
            family_id=family_id,
            expires_at=issued_at + self.settings.refresh_token_ttl_s,
            created_at=issued_at,
        )
        async with self.db() as session:
            session.add(row)
            await session.commit()
        return self._pair(user, row)

    def _pair(self, user: User, row: RefreshToken) -> TokenPair:
        """The access token is new each time; the refresh token is the one ``row`` records,
        signed from its stored claims (so signing it twice gives the same token)."""
        access, _ = self.tokens.issue(user.id, "access", self.settings.access_token_ttl_s, role=user.role)
        issued_at = int(row.created_at)
        refresh, _ = self.tokens.issue(
            user.id,
            "refresh",
            int(row.expires_at) - issued_at,
            jti=row.id,
            issued_at=issued_at,
            fam=row.family_id,
        )
        return TokenPair(access, refresh, self.settings.access_token_ttl_s)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token is spent and its successor recorded in the same commit.

        Presenting a spent token again revokes its whole family (reuse detection), except within
        ``refresh_reuse_grace_s`` of its first use while its successor is still unspent: then it
        is a second tab that refreshed at the same moment, and it gets the same successor, so both
        tabs stay signed in. A replay after the successor was used still revokes the family.
        """
        claims = self._verify_refresh(refresh_token)
        now = time.time()
        successor_id = _successor_id(claims.jti)
        async with self.db() as session:
            row = await session.get(RefreshToken, claims.jti)
            if row is None or row.revoked_at is not None:
                raise _unauthorized("refresh token revoked", "token_revoked")
            user = await session.get(User, row.user_id)
            if user is None:
                raise _unauthorized("the account no longer exists", "invalid_token")
            user_id, family_id = user.id, row.family_id  # a rollback below expires the loaded rows
            spent = await session.execute(
                update(RefreshToken)
                .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
                .values(used_at=now)
            )
            if spent.rowcount == 1:
                issued_at = int(now)
                successor = RefreshToken(
                    id=successor_id,
                    user_id=user_id,
                    family_id=family_id,
                    expires_at=issued_at + self.settings.refresh_token_ttl_s,
                    created_at=issued_at,
                )
                session.add(successor)
                await session.commit()
                return self._pair(user, successor)
            await session.rollback()  # the winner has committed: read its spend and successor
            spent_row = await session.get(RefreshToken, claims.jti, populate_existing=True)
            known = await session.get(RefreshToken, successor_id, populate_existing=True)
            user = await session.get(User, user_id, populate_existing=True)
            grace = self.settings.refresh_reuse_grace_s
            if (
                spent_row is not None
                and spent_row.revoked_at is None
                and spent_row.used_at is not None
                and now - spent_row.used_at <= grace
                and known is not None
                and known.revoked_at is None
                and known.used_at is None
                and user is not None
            ):
                return self._pair(user, known)
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            await session.commit()
        raise _unauthorized("refresh token reuse detected: this login was revoked everywhere", "token_reused")

    async def change_password(self, user: User, current_password: str, new_password: str) -> None:
        """A new password signs the account out everywhere: every refresh token is revoked."""
        if not await self.passwords.verify(user.password_hash, current_password):
            raise ApiError(
                403, "the current password is wrong", code="wrong_password", param="current_password"
            )
        check_password(new_password, "new_password")
        password_hash = await self.passwords.hash(new_password)
        async with self.db() as session:
            await session.execute(update(User).where(User.id == user.id).values(password_hash=password_hash))
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            await session.commit()

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

    def _verify_refresh(self, token: str) -> TokenClaims:
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
        return ensure_active(user)

    async def active_user(self, user_id: str) -> User | None:
        """The account behind a chat ticket, unless it was deleted or blocked since."""
        async with self.db() as session:
            user = await session.get(User, user_id)
        return user if user is not None and user.role != "blocked" else None

    async def users(self) -> list[User]:
        async with self.db() as session:
            return list((await session.scalars(select(User).order_by(User.created_at))).all())

    async def needs_owner(self) -> bool:
        async with self.db() as session:
            state = await session.get(GatewayState, 1)
        return state is None or state.owner_id is None
