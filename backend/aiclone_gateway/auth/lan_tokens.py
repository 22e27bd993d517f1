"""LAN tokens: a signed-in user's pass for the agent's LAN listener, where the clone keeps answering
at home with the VDS or the internet down. The agent checks them offline (signature with the cached
JWKS, exp, iss, aud, typ), so a revoked one must reach it before it matters: every revocation not
yet expired is sent to the linked agent (``LanRevocations``) when it changes, by whichever replica
holds its link (``relay.lan_revocations``), and after each hello; the agent keeps the list on disk."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.core.tokens import TokenIssuer
from aiclone_gateway.models import LanToken, User
from aiclone_wire import LanRevocations, RevokedToken


class LanTokenService:
    def __init__(
        self,
        db: async_sessionmaker,
        tokens: TokenIssuer,
        ttl_s: int,
        max_per_user: int,
        changed: Callable[[], None],
    ) -> None:
        self.db = db
        self.tokens = tokens
        self.ttl_s = ttl_s
        self.max_per_user = max_per_user
        # after a revocation is committed: the list goes to the agents on every replica
        self.changed = changed

    async def create(self, user: User, name: str) -> tuple[LanToken, str]:
        """A new token; expired ones are dropped and the user's live ones capped."""
        now = int(time.time())
        row = LanToken(
            id=uuid.uuid4().hex, user_id=user.id, name=name, created_at=now, expires_at=now + self.ttl_s
        )
        async with self.db() as session:
            await session.execute(delete(LanToken).where(LanToken.expires_at <= now))  # refused anyway
            live = await session.scalar(
                select(func.count())
                .select_from(LanToken)
                .where(LanToken.user_id == user.id, LanToken.revoked_at.is_(None))
            )
            if (live or 0) >= self.max_per_user:
                await session.rollback()
                raise ApiError(
                    409,
                    f"you have {self.max_per_user} LAN tokens, the most allowed: revoke one first",
                    code="too_many_lan_tokens",
                    params={"limit": self.max_per_user},
                )
            session.add(row)
            await session.commit()
        token = self.tokens.issue_lan(user.id, user.email, user.role, row.id, now, now + self.ttl_s)
        return row, token

    async def live(self, user_id: str) -> list[LanToken]:
        """The user's live tokens (not revoked, not expired), oldest first."""
        async with self.db() as session:
            query = (
                select(LanToken)
                .where(
                    LanToken.user_id == user_id,
                    LanToken.revoked_at.is_(None),
                    LanToken.expires_at > time.time(),
                )
                .order_by(LanToken.created_at)
            )
            return list((await session.scalars(query)).all())

    async def revoke(self, user_id: str, token_id: str) -> bool:
        return await self._revoke(LanToken.user_id == user_id, LanToken.id == token_id) == 1

    async def revoke_all(self, user_id: str) -> int:
        """Every live LAN token of the user (a new password, a blocked or deleted account)."""
        return await self._revoke(LanToken.user_id == user_id)

    async def _revoke(self, *where) -> int:
        async with self.db() as session:
            result = await session.execute(
                update(LanToken).where(*where, LanToken.revoked_at.is_(None)).values(revoked_at=time.time())
            )
            await session.commit()
        if result.rowcount:
            self.changed()
        return result.rowcount


async def revoked_lan_tokens(db: async_sessionmaker) -> LanRevocations:
    """Every revoked token that has not expired yet (past its exp the agent refuses it anyway)."""
    async with db() as session:
        rows = await session.execute(
            select(LanToken.id, LanToken.expires_at).where(
                LanToken.revoked_at.is_not(None), LanToken.expires_at > time.time()
            )
        )
        return LanRevocations(revoked=[RevokedToken(jti=jti, expires_at=exp) for jti, exp in rows.all()])
