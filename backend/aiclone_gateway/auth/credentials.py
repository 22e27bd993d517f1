"""Machine credentials: agent tokens (the agent's link) and API keys (the OpenAI API)."""

from __future__ import annotations

import time

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.core.security import TokenHashing
from aiclone_gateway.models import AgentToken, ApiKey, User

AGENT_TOKEN_PREFIX = "agt_"
API_KEY_PREFIX = "sk-aic-"


class CredentialStore:
    def __init__(
        self, db: async_sessionmaker, hashing: TokenHashing, max_api_keys_per_user: int = 25
    ) -> None:
        self.db = db
        self.hashing = hashing
        self.max_api_keys_per_user = max_api_keys_per_user

    async def create_agent_token(self, name: str) -> tuple[AgentToken, str]:
        token = TokenHashing.new_token(AGENT_TOKEN_PREFIX)
        row = AgentToken(name=name, token_hash=self.hashing.digest(token))
        async with self.db() as session:
            session.add(row)
            await session.commit()
        return row, token

    async def agent_tokens(self) -> list[AgentToken]:
        async with self.db() as session:
            query = select(AgentToken).where(AgentToken.revoked_at.is_(None)).order_by(AgentToken.created_at)
            return list((await session.scalars(query)).all())

    async def agent_for_token(self, token: str) -> AgentToken | None:
        async with self.db() as session:
            return await session.scalar(
                select(AgentToken).where(
                    AgentToken.token_hash == self.hashing.digest(token), AgentToken.revoked_at.is_(None)
                )
            )

    async def revoke_agent_token(self, token_id: str) -> bool:
        async with self.db() as session:
            result = await session.execute(
                update(AgentToken)
                .where(AgentToken.id == token_id, AgentToken.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            await session.commit()
        return result.rowcount == 1

    async def create_api_key(self, user_id: str, name: str) -> tuple[ApiKey, str]:
        """A new key; the user's revoked keys are dropped and live ones capped, so the table
        cannot grow without bound."""
        key = TokenHashing.new_token(API_KEY_PREFIX)
        row = ApiKey(user_id=user_id, name=name, prefix=key[:12], key_hash=self.hashing.digest(key))
        async with self.db() as session:
            await session.execute(
                delete(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_not(None))
            )
            live = await session.scalar(
                select(func.count()).select_from(ApiKey).where(ApiKey.user_id == user_id)
            )
            if (live or 0) >= self.max_api_keys_per_user:
                await session.rollback()
                raise ApiError(
                    409,
                    f"you have {self.max_api_keys_per_user} API keys, the most allowed: revoke one first",
                    code="too_many_api_keys",
                    params={"limit": self.max_api_keys_per_user},
                )
            session.add(row)
            await session.commit()
        return row, key

    async def api_keys(self, user_id: str) -> list[ApiKey]:
        async with self.db() as session:
            query = (
                select(ApiKey)
                .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                .order_by(ApiKey.created_at)
            )
            return list((await session.scalars(query)).all())

    async def revoke_api_key(self, user_id: str, key_id: str) -> bool:
        async with self.db() as session:
            result = await session.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id, ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            await session.commit()
        return result.rowcount == 1

    async def user_for_api_key(self, key: str) -> User | None:
        async with self.db() as session:
            return await session.scalar(
                select(User)
                .join(ApiKey, ApiKey.user_id == User.id)
                .where(ApiKey.key_hash == self.hashing.digest(key), ApiKey.revoked_at.is_(None))
            )
