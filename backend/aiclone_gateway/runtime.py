"""Everything the gateway builds at startup, kept on ``app.state.runtime``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from aiclone_gateway.auth.accounts import AccountAdmin
from aiclone_gateway.auth.credentials import CredentialStore
from aiclone_gateway.auth.lan_tokens import LanTokenService, revoked_lan_tokens
from aiclone_gateway.auth.owner_setup import FILE_NAME as SETUP_CODE_FILE
from aiclone_gateway.auth.owner_setup import OwnerSetupCode
from aiclone_gateway.auth.registration import RegistrationPolicy
from aiclone_gateway.auth.service import AuthService
from aiclone_gateway.chat.service import ChatLimits, ChatService
from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.stats_feed import GatewayStatsFeed
from aiclone_gateway.chat.store import ChatQuotas, ConversationStore
from aiclone_gateway.chat.tickets import TicketBook
from aiclone_gateway.cluster.duties import ReplicaDuties
from aiclone_gateway.cluster.node import ClusterNode
from aiclone_gateway.cluster.shared_limits import RedisConcurrency, RedisRateLimiter, RedisTicketBook
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.db import create_engine, session_factory
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.core.rate_limit import SlidingWindowLimiter
from aiclone_gateway.core.security import PasswordHashing, TokenHashing
from aiclone_gateway.core.tokens import TokenIssuer, load_or_create_key
from aiclone_gateway.memory.erasures import MemoryErasures
from aiclone_gateway.memory.service import MemoryService
from aiclone_gateway.openai_api.serving import OpenAIRelay
from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.lan_revocations import CHANGED_EVENT, LanRevocationPush
from aiclone_gateway.relay.reception import AgentReception
from aiclone_gateway.telegram.delivery import TelegramDelivery
from aiclone_gateway.telegram.vault import TokenVault
from aiclone_wire import LanRevocations

DRAIN_CHECK_S = 5.0


@dataclass(frozen=True)
class ReplicaNews:
    """Another replica's news for the users and agent links held here (the cluster's user events)."""

    chat: ChatService
    reception: AgentReception
    lan_revocations: LanRevocationPush
    sockets: ChatSockets

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("type") == "end_user":
            self.chat.cancel_user(event["user"])
        if event.get("type") == "disconnect_agent":
            self.reception.disconnect(event["agent"])
        if event.get("type") == CHANGED_EVENT:
            self.lan_revocations.changed_elsewhere()
        self.sockets.deliver(event)


@dataclass
class GatewayRuntime:
    """Built in dependency order by ``build``: every part gets its collaborators when it is made."""

    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker
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
    openai: OpenAIRelay
    tickets: TicketBook | RedisTicketBook
    auth_limiter: SlidingWindowLimiter | RedisRateLimiter
    telegram: TelegramDelivery
    lan_tokens: LanTokenService
    lan_revocations: LanRevocationPush
    memories: MemoryService
    memory_erasures: MemoryErasures
    # Several replicas (AICLONE_GATEWAY_REDIS_URL): this one's place among them and what it does
    # for them while it runs; both None when it is alone.
    cluster: ClusterNode | None = None
    cluster_duties: ReplicaDuties | None = None
    _tasks: list[asyncio.Task] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings) -> GatewayRuntime:
        engine = create_engine(settings.database_url)
        db = session_factory(engine)
        metrics = GatewayMetrics()
        tokens = TokenIssuer(
            load_or_create_key(settings.key_file),
            settings.jwt_issuer,
            settings.jwt_audience,
            leeway_s=settings.jwt_leeway_s,
        )
        hashing = TokenHashing(settings.secret_key)
        registration = RegistrationPolicy(db, hashing)
        conversations = ConversationStore(
            db,
            ChatQuotas(
                max_queued=settings.chat_max_queued_per_user,
                max_conversations=settings.chat_max_conversations_per_user,
                max_messages_per_conversation=settings.chat_max_messages_per_conversation,
            ),
        )
        cluster = (
            ClusterNode.connect(
                settings.redis_url, settings.redis_prefix, settings.replica_id, settings.cluster_owner_ttl_s
            )
            if settings.redis_url
            else None
        )
        fanout = cluster.publish if cluster is not None else None
        sockets = ChatSockets(fanout=fanout)
        hub = RelayHub(settings, metrics, replicas=cluster)
        telegram = TelegramDelivery(
            db,
            hub,
            TokenVault(settings.secret_key),
            settings.public_url,
            settings.relay_idle_timeout_s,
            api_url=settings.telegram_api_url,
            seen_updates_ttl_s=settings.telegram_seen_updates_ttl_s,
            in_progress=metrics.telegram_in_progress,
            replica=settings.replica_id,
        )

        async def revocations() -> LanRevocations:
            return await revoked_lan_tokens(db)

        async def greeting() -> list[Any]:
            return [await revocations()]

        revocation_push = LanRevocationPush(revocations, hub, fanout=fanout)
        lan_tokens = LanTokenService(
            db,
            tokens,
            settings.lan_token_ttl_s,
            settings.max_lan_tokens_per_user,
            changed=revocation_push.changed,
        )
        stats = GatewayStatsFeed(sockets, conversations, metrics, settings.stats_interval_s, replicas=cluster)
        reception = AgentReception(hub, settings, tokens, telegram.take_over, greeting, stats, fanout=fanout)
        chat_limits = ChatLimits(
            messages_per_minute=settings.chat_messages_per_minute,
            max_concurrent=settings.chat_max_concurrent_per_user,
            max_queued_attempts=settings.chat_max_queued_attempts,
        )
        tickets: TicketBook | RedisTicketBook = TicketBook(settings.ticket_ttl_s)
        auth_limiter: SlidingWindowLimiter | RedisRateLimiter = SlidingWindowLimiter(
            settings.auth_rate_limit, settings.auth_rate_window_s
        )
        chat_rate: RedisRateLimiter | None = None
        chat_concurrency: RedisConcurrency | None = None
        if cluster is not None:
            redis, keys = cluster.redis, cluster.keys
            tickets = RedisTicketBook(redis, keys, settings.ticket_ttl_s)
            auth_limiter = RedisRateLimiter(
                redis, keys, "auth", settings.auth_rate_limit, settings.auth_rate_window_s
            )
            chat_rate = RedisRateLimiter(redis, keys, "chat", chat_limits.messages_per_minute, 60.0)
            chat_concurrency = RedisConcurrency(redis, keys, chat_limits.max_concurrent)
        chat = ChatService(
            conversations,
            hub,
            sockets,
            metrics,
            settings.relay_idle_timeout_s,
            settings.max_relay_frame_bytes,
            settings.replica_id,
            chat_limits,
            rate=chat_rate,
            concurrency=chat_concurrency,
        )
        cluster_duties = (
            ReplicaDuties(
                cluster,
                hub,
                settings.relay_idle_timeout_s,
                local_stats=lambda: stats.local(hub.requests_in_flight),
                local_users=sockets.user_ids,
                on_user_event=ReplicaNews(chat, reception, revocation_push, sockets),
                waiting_for_reader=metrics.relay_waiting_for_reader,
            )
            if cluster is not None
            else None
        )
        memory_erasures = MemoryErasures(db, hub)
        return cls(
            settings=settings,
            engine=engine,
            db=db,
            metrics=metrics,
            tokens=tokens,
            auth=AuthService(
                db,
                PasswordHashing(),
                tokens,
                settings,
                registration,
                OwnerSetupCode(settings.data_dir / SETUP_CODE_FILE, settings.environment == "production"),
            ),
            accounts=AccountAdmin(db),
            registration=registration,
            credentials=CredentialStore(db, hashing, settings.max_api_keys_per_user),
            conversations=conversations,
            hub=hub,
            reception=reception,
            sockets=sockets,
            chat=chat,
            openai=OpenAIRelay(hub, settings.relay_idle_timeout_s, settings.offline_retry_after_s),
            tickets=tickets,
            auth_limiter=auth_limiter,
            telegram=telegram,
            lan_tokens=lan_tokens,
            lan_revocations=revocation_push,
            memories=MemoryService(hub),
            memory_erasures=memory_erasures,
            cluster=cluster,
            cluster_duties=cluster_duties,
        )

    async def start(self) -> None:
        """What runs once the app starts: the setup code shown while nobody owns the gateway, bots
        reloaded, the cluster joined, cut answers requeued."""
        if await self.auth.needs_owner():
            self.auth.setup.announce()
        await self.telegram.load()
        others: set[str] = set()
        if self.cluster is not None and self.cluster_duties is not None:
            await self.cluster_duties.start()
            others = await self.cluster.alive_replicas() - {self.settings.replica_id}
            self._tasks.append(asyncio.create_task(self._drain_now_and_then(), name="cluster-drain"))
        await self.chat.recover(others)
        await self.telegram.recover(others)

    async def _drain_now_and_then(self) -> None:
        """With replicas, a question queued on another replica (its relay failed) is answered by
        the replica holding the link without waiting for the next relink."""
        while True:
            await asyncio.sleep(DRAIN_CHECK_S)
            if self.hub.linked_here:
                self.chat.schedule_drain()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.lan_revocations.close()
        await self.reception.close()
        await self.memory_erasures.close()
        await self.hub.close()
        if self.cluster_duties is not None:
            await self.cluster_duties.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                await self.cluster.close()
        await self.telegram.close()
        await self.chat.close()
        await self.engine.dispose()
