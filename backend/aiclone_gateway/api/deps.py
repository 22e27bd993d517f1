"""Dependency aliases: the runtime's parts and the caller's identity.

The routes see the runtime through ``GatewayParts``, never the module that builds it
(``runtime.py`` imports every service, the ``/v1`` relay among them, whose router imports these
aliases: importing it here would close a circle).
"""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from aiclone_gateway.auth.accounts import AccountAdmin, ensure_active
from aiclone_gateway.auth.credentials import CredentialStore
from aiclone_gateway.auth.lan_tokens import LanTokenService
from aiclone_gateway.auth.registration import RegistrationPolicy
from aiclone_gateway.auth.service import AuthService
from aiclone_gateway.chat.service import ChatService
from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ConversationStore
from aiclone_gateway.chat.tickets import TicketBook
from aiclone_gateway.cluster.shared_limits import RedisRateLimiter, RedisTicketBook
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.errors import ApiError
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.core.rate_limit import SlidingWindowLimiter, retry_after
from aiclone_gateway.core.tokens import TokenIssuer
from aiclone_gateway.memory.erasures import MemoryErasures
from aiclone_gateway.memory.service import MemoryService
from aiclone_gateway.models import User
from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.reception import AgentReception
from aiclone_gateway.telegram.delivery import TelegramDelivery


class GatewayParts(Protocol):
    """What the routes use of the runtime (``runtime.GatewayRuntime``, kept on ``app.state``)."""

    settings: Settings
    engine: AsyncEngine
    metrics: GatewayMetrics
    tokens: TokenIssuer
    auth: AuthService
    accounts: AccountAdmin
    registration: RegistrationPolicy
    credentials: CredentialStore
    conversations: ConversationStore
    hub: RelayHub
    reception: AgentReception
    sockets: ChatSockets
    chat: ChatService
    tickets: TicketBook | RedisTicketBook
    auth_limiter: SlidingWindowLimiter | RedisRateLimiter
    telegram: TelegramDelivery
    lan_tokens: LanTokenService
    memories: MemoryService
    memory_erasures: MemoryErasures


def _runtime(connection: HTTPConnection) -> GatewayParts:
    parts: GatewayParts = connection.app.state.runtime
    return parts


RuntimeDep = Annotated[GatewayParts, Depends(_runtime)]


def _memories(runtime: RuntimeDep) -> MemoryService:
    return runtime.memories


def _auth(runtime: RuntimeDep) -> AuthService:
    return runtime.auth


def _accounts(runtime: RuntimeDep) -> AccountAdmin:
    return runtime.accounts


def _registration(runtime: RuntimeDep) -> RegistrationPolicy:
    return runtime.registration


def _credentials(runtime: RuntimeDep) -> CredentialStore:
    return runtime.credentials


def _conversations(runtime: RuntimeDep) -> ConversationStore:
    return runtime.conversations


def _chat(runtime: RuntimeDep) -> ChatService:
    return runtime.chat


def _hub(runtime: RuntimeDep) -> RelayHub:
    return runtime.hub


def _reception(runtime: RuntimeDep) -> AgentReception:
    return runtime.reception


def _lan_tokens(runtime: RuntimeDep) -> LanTokenService:
    return runtime.lan_tokens


AuthDep = Annotated[AuthService, Depends(_auth)]
AccountsDep = Annotated[AccountAdmin, Depends(_accounts)]
RegistrationDep = Annotated[RegistrationPolicy, Depends(_registration)]
CredentialsDep = Annotated[CredentialStore, Depends(_credentials)]
ConversationsDep = Annotated[ConversationStore, Depends(_conversations)]
ChatDep = Annotated[ChatService, Depends(_chat)]
HubDep = Annotated[RelayHub, Depends(_hub)]
ReceptionDep = Annotated[AgentReception, Depends(_reception)]
LanTokensDep = Annotated[LanTokenService, Depends(_lan_tokens)]
MemoriesDep = Annotated[MemoryService, Depends(_memories)]


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _current_user(request: Request, runtime: RuntimeDep) -> User:
    token = bearer_token(request)
    if token is None:
        runtime.metrics.auth_failures.labels("missing").inc()
        raise ApiError(
            401,
            "sign in first: send 'Authorization: Bearer <access token>'",
            code="not_authenticated",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        return await runtime.auth.user_for_access_token(token)
    except ApiError:
        runtime.metrics.auth_failures.labels("access_token").inc()
        raise


CurrentUser = Annotated[User, Depends(_current_user)]


async def _owner(user: CurrentUser) -> User:
    if user.role != "owner":
        raise ApiError(403, "only the owner of this gateway may do this", code="owner_only")
    return user


OwnerUser = Annotated[User, Depends(_owner)]


async def _api_key_user(request: Request, runtime: RuntimeDep) -> User:
    key = bearer_token(request)
    user = await runtime.credentials.user_for_api_key(key) if key else None
    if user is None:
        runtime.metrics.auth_failures.labels("api_key").inc()
        raise ApiError(
            401, "Incorrect API key provided. Create one at POST /api/keys.", code="invalid_api_key"
        )
    return ensure_active(user)


ApiKeyUser = Annotated[User, Depends(_api_key_user)]


async def _rate_limited(request: Request, runtime: RuntimeDep) -> None:
    client = request.client.host if request.client else "unknown"
    wait = await runtime.auth_limiter.check(f"{client}:{request.url.path}")
    if wait is not None:
        raise ApiError(
            429,
            "too many attempts; try again later",
            code="rate_limited",
            headers={"Retry-After": retry_after(wait)},
        )


RateLimited = Depends(_rate_limited)
