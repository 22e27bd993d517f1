"""Everything the agent builds at startup, kept on ``app.state.runtime``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiclone_agent.adapter.service import AdapterService
from aiclone_agent.chat.service import ChatService
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.core.log_redaction import SecretRedactor
from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.base import EngineClient
from aiclone_agent.engine.settings import EngineSettingsService
from aiclone_agent.gateway.direct import DirectListener
from aiclone_agent.gateway.jwks import JwksCache
from aiclone_agent.gateway.link import GatewayLink
from aiclone_agent.gateway.network import NetworkPaths
from aiclone_agent.lan.listener import LanListener
from aiclone_agent.lan.revocations import RevokedLanTokens
from aiclone_agent.lan.tokens import LanTokens
from aiclone_agent.memory import MemoryStore
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_agent.overview.sampler import OverviewSampler
from aiclone_agent.rag.service import RagService
from aiclone_agent.telegram.service import TelegramService
from aiclone_agent.telegram.store import TelegramStore


@dataclass
class AgentRuntime:
    env: EnvSettings
    config: ConfigStore
    engine: EngineClient
    store: ConversationStore
    metrics: AgentMetrics
    chat: ChatService
    openai: OpenAIServingChat
    started_at: float = field(default_factory=time.time)
    network_mode: str = "offline"
    gateway: GatewayLink | None = None
    direct: DirectListener | None = None
    network: NetworkPaths | None = None
    rag: RagService | None = None
    telegram: TelegramService | None = None
    redactor: SecretRedactor = field(default_factory=SecretRedactor)
    adapter: AdapterService | None = None
    engine_settings: EngineSettingsService | None = None
    lan_tokens: LanTokens | None = None
    # the LAN listener (``lan.listener.LanListener``), built around its app in ``create_app``
    lan: LanListener | None = None
    overview: OverviewSampler | None = None
    # long-term memory of each person (``chat.memory`` wraps it for the chat)
    memory: MemoryStore | None = None

    @classmethod
    def build(cls, env: EnvSettings, config: ConfigStore, engine: EngineClient) -> AgentRuntime:
        metrics = AgentMetrics()
        metrics.watch_engine(engine.stats)
        store = ConversationStore(env.data_dir / "conversations.sqlite3")
        rag = RagService(env.data_dir / config.current.rag.db_path, config)
        # the knowledge base's embedder (none installed: BM25 + recency only, still working)
        memory = MemoryStore(
            env.data_dir / "memory", rag.embedder, text_limit=config.current.limits.max_message_chars
        )
        chat = ChatService(engine, store, config, metrics, rag, memory)
        started = time.time()
        metrics.network_mode.labels("offline").set(1)
        runtime = cls(env, config, engine, store, metrics, chat, OpenAIServingChat(chat, started), started)
        runtime.rag = rag
        runtime.memory = memory
        runtime.engine_settings = EngineSettingsService(config, engine, env.models_dir)
        runtime.adapter = AdapterService(engine, config, env.models_dir / "lora", env.data_dir / "adapters")
        runtime.redactor.add(config.current.gateway.agent_token)
        runtime.telegram = TelegramService(
            config, chat, TelegramStore(env.data_dir / "telegram.sqlite3"), runtime.redactor
        )
        jwks = JwksCache(env.data_dir / "gateway_jwks.json")
        revoked = RevokedLanTokens(env.data_dir / "lan_revocations.json")
        runtime.lan_tokens = LanTokens(jwks, revoked)
        runtime.network = network = NetworkPaths(
            on_mode=runtime.set_network_mode,
            on_request=lambda path: metrics.link_requests.labels(path).inc(),
        )
        runtime.gateway = GatewayLink(
            runtime.openai, config, jwks,
            on_connected=lambda linked: network.evaluate(),
            health=network.relay,
            running=network.running,
        )
        runtime.direct = DirectListener(
            runtime.openai,
            config,
            jwks,
            network.running,
            network.board,
            agent_id=runtime.gateway.agent_id,
            tls_dir=env.data_dir,
        )
        runtime.gateway.direct_url = runtime.direct.advertise_url
        runtime.gateway.direct_fingerprint = runtime.direct.fingerprint
        runtime.gateway.telegram = runtime.telegram
        # the relay link only: the direct path never changes the agent's security state
        runtime.gateway.lan_revocations = revoked
        runtime.overview = OverviewSampler(engine, metrics, network, runtime.gateway, env.overview_interval_s)
        runtime.gateway.on_gateway_stats = runtime.overview.gateway_stats
        return runtime

    def set_network_mode(self, mode: str) -> None:
        self.metrics.network_mode.labels(self.network_mode).set(0)
        self.metrics.network_mode.labels(mode).set(1)
        self.network_mode = mode

    async def close(self) -> None:
        if self.adapter is not None:
            await self.adapter.close()  # never waits for a conversion in progress
        if self.overview is not None:
            await self.overview.stop()
        if self.telegram is not None:
            await self.telegram.close()  # first: losing the link must not start polling now
        if self.gateway is not None:
            await self.gateway.stop()
        if self.direct is not None:
            await self.direct.stop()
        if self.lan is not None:
            await self.lan.stop()
        if self.network is not None:
            await self.network.stop()
        if self.telegram is not None:
            self.telegram.store.close()
        if self.rag is not None:
            await self.rag.close()
        if self.memory is not None:
            self.memory.close()
        await self.engine.close()
        self.store.close()
