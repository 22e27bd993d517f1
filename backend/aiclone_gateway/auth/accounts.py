"""The owner's say over other accounts: block a user (and let them back), or delete one with
everything they stored. A blocked account keeps its conversations but cannot sign in, refresh, use
an access token or an API key; what they had open is closed by the caller (``ChatSockets``)."""

from __future__ import annotations

import time
from typing import Literal

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.models import MemoryErasure, RefreshToken, User
from aiclone_wire import user_person

SettableRole = Literal["user", "blocked"]


def account_blocked() -> ApiError:
    return ApiError(403, "this account is blocked by the clone's owner", code="account_blocked")


def ensure_active(user: User) -> User:
    if user.role == "blocked":
        raise account_blocked()
    return user


class AccountAdmin:
    def __init__(self, db: async_sessionmaker) -> None:
        self.db = db

    async def get(self, user_id: str) -> User:
        async with self.db() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise ApiError(404, f"user {user_id} not found", code="not_found")
        return user

    async def set_role(self, owner: User, user_id: str, role: SettableRole) -> User:
        """Blocking signs the account out everywhere. The owner's own role and ownership itself are
        not changed here."""
        async with self.db() as session:
            user = await self._other(session, owner, user_id)
            if user.role == role:
                return user
            user.role = role
            if role == "blocked":
                await session.execute(
                    update(RefreshToken)
                    .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
                    .values(revoked_at=time.time())
                )
            await session.commit()
            await session.refresh(user)
            return user

    async def delete(self, owner: User, user_id: str) -> None:
        """The account and, through the foreign keys, its conversations, messages (queued questions
        too), API keys and sessions; the erasure of its memories on the agent is queued in the same
        transaction (``memory.erasures`` sends it)."""
        async with self.db() as session:
            await self._other(session, owner, user_id)
            await session.execute(delete(User).where(User.id == user_id))
            session.add(MemoryErasure(person=user_person(user_id)))
            await session.commit()

    @staticmethod
    async def _other(session, owner: User, user_id: str) -> User:
        if user_id == owner.id:
            raise ApiError(
                400, "the owner's own account cannot be blocked or deleted here", code="own_account"
            )
        user = await session.get(User, user_id)
        if user is None:
            raise ApiError(404, f"user {user_id} not found", code="not_found")
        return user
