"""Who may sign up: the registration mode (open / invite / closed) and single-use invite links."""

from __future__ import annotations

import time
from typing import Literal

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.core.security import TokenHashing
from aiclone_gateway.models import GatewayState, Invite

RegistrationMode = Literal["open", "invite", "closed"]
INVITE_PREFIX = "inv_"


class RegistrationPolicy:
    def __init__(self, db: async_sessionmaker, hashing: TokenHashing) -> None:
        self.db = db
        self.hashing = hashing

    async def mode(self) -> RegistrationMode:
        async with self.db() as session:
            state = await session.get(GatewayState, 1)
        return state.registration_mode if state else "open"

    async def set_mode(self, mode: RegistrationMode) -> RegistrationMode:
        async with self.db() as session:
            await session.execute(
                update(GatewayState).where(GatewayState.id == 1).values(registration_mode=mode)
            )
            await session.commit()
        return mode

    async def admit(self, session: AsyncSession, user_id: str, invite: str | None) -> None:
        """Inside the sign-up's transaction: let a non-owner in, spending their invite when one is needed."""
        state = await session.get(GatewayState, 1)
        mode = state.registration_mode if state else "open"
        if mode == "closed":
            raise ApiError(403, "registration is closed", code="registration_closed")
        if mode == "open":
            return
        if not invite:
            raise ApiError(
                403, "sign-up needs an invite link from the owner", code="invite_required", param="invite"
            )
        spent = await session.execute(
            update(Invite)
            .where(
                Invite.code_hash == self.hashing.digest(invite),
                Invite.used_at.is_(None),
                Invite.revoked_at.is_(None),
            )
            .values(used_at=time.time(), used_by=user_id)
        )
        assert isinstance(spent, CursorResult)  # an UPDATE's result counts the rows it changed
        if spent.rowcount != 1:
            raise ApiError(
                403, "this invite link was already used or revoked", code="invite_invalid", param="invite"
            )

    async def create_invite(self) -> tuple[Invite, str]:
        code = TokenHashing.new_token(INVITE_PREFIX)
        row = Invite(code_hash=self.hashing.digest(code))
        async with self.db() as session:
            session.add(row)
            await session.commit()
        return row, code

    async def invites(self) -> list[Invite]:
        async with self.db() as session:
            query = select(Invite).where(Invite.revoked_at.is_(None)).order_by(Invite.created_at)
            return list((await session.scalars(query)).all())

    async def revoke_invite(self, invite_id: str) -> bool:
        async with self.db() as session:
            result = await session.execute(
                update(Invite)
                .where(Invite.id == invite_id, Invite.revoked_at.is_(None), Invite.used_at.is_(None))
                .values(revoked_at=time.time())
            )
            await session.commit()
        return result.rowcount == 1
