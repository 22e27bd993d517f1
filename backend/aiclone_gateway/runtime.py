"""Everything the gateway builds at startup, kept on ``app.state.runtime``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from aiclone_gateway.auth.accounts import AccountAdmin
from aiclone_gateway.auth.credentials import CredentialStore
from aiclone_gateway.auth.lan_tokens import LanTokenService
from aiclone_gateway.auth.registration import RegistrationPolicy
from aiclone_gateway.auth.service import AuthService
from aiclone_gateway.chat.service import ChatLimits, ChatService
from aiclone_gateway.chat.sockets import ChatSockets
from aiclone_gateway.chat.store import ChatQuotas, ConversationStore
from aiclone_gateway.chat.tickets import TicketBook
from aiclone_gateway.core.config import Settings
from aiclone_gateway.core.db import create_engine, session_factory
from aiclone_gateway.core.metrics import GatewayMetrics
from aiclone_gateway.core.rate_limit import SlidingWindowLimiter
from aiclone_gateway.core.security import PasswordHashing, TokenHashing
from aiclone_gateway.core.tokens import TokenIssuer, load_or_create_key
from aiclone_gateway.openai_api.serving import OpenAIRelay
from aiclone_gateway.relay.hub import RelayHub
from aiclone_gateway.relay.stats_feed import GatewayStatsFeed
from aiclone_gateway.telegram.delivery import TelegramDelivery
from aiclone_gateway.telegram.vault import TokenVault


@dataclass
class GatewayRuntime:
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
    sockets: ChatSockets
    chat: ChatService
    openai: OpenAIRelay
    tickets: TicketBook
    auth_limiter: SlidingWindowLimiter
    telegram: TelegramDelivery
    lan_tokens: LanTokenService

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
        hub = RelayHub(settings, metrics, tokens)
        hashing = TokenHashing(settings.secret_key)
        registration = RegistrationPolicy(db, hashing)
        sockets = ChatSockets()
        conversations = ConversationStore(
            db,
            ChatQuotas(
                max_queued=settings.chat_max_queued_per_user,
                max_conversations=settings.chat_max_conversations_per_user,
                max_messages_per_conversation=settings.chat_max_messages_per_conversation,
            ),
        )
        telegram = TelegramDelivery(
            db,
            hub,
            TokenVault(settings.secret_key),
            settings.public_url,
            settings.relay_idle_timeout_s,
            api_url=settings.telegram_api_url,
            seen_updates_ttl_s=settings.telegram_seen_updates_ttl_s,
        )
        hub.on_telegram = telegram.take_over
        lan_tokens = LanTokenService(
            db, tokens, settings.lan_token_ttl_s, settings.max_lan_tokens_per_user, publish=hub.broadcast
        )

        async def greeting() -> list[Any]:
            return [await lan_tokens.revocations()]

        hub.greeting = greeting
        hub.stats = GatewayStatsFeed(sockets, conversations, metrics, settings.stats_interval_s)
        return cls(
            settings=settings,
            engine=engine,
            db=db,
            metrics=metrics,
            tokens=tokens,
            auth=AuthService(db, PasswordHashing(), tokens, settings, registration),
            accounts=AccountAdmin(db),
            registration=registration,
            credentials=CredentialStore(db, hashing, settings.max_api_keys_per_user),
            conversations=conversations,
            hub=hub,
            sockets=sockets,
            chat=ChatService(
                conversations,
                hub,
                sockets,
                metrics,
                settings.relay_idle_timeout_s,
                settings.max_relay_frame_bytes,
                ChatLimits(
                    messages_per_minute=settings.chat_messages_per_minute,
                    max_concurrent=settings.chat_max_concurrent_per_user,
                    max_queued_attempts=settings.chat_max_queued_attempts,
                ),
            ),
            openai=OpenAIRelay(hub, settings.relay_idle_timeout_s, settings.offline_retry_after_s),
            tickets=TicketBook(settings.ticket_ttl_s),
            auth_limiter=SlidingWindowLimiter(settings.auth_rate_limit, settings.auth_rate_window_s),
            telegram=telegram,
            lan_tokens=lan_tokens,
        )

    async def close(self) -> None:
        await self.hub.close()
        await self.telegram.close()
        await self.chat.close()
        await self.engine.dispose()
