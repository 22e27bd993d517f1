"""Everything the agent builds at startup, kept on ``app.state.runtime``.

``build_runtime`` builds each object once, in dependency order, complete through its constructor:
where two objects need each other, a small object both are given is built first (``AgentIdentity``
between the relay link and the direct listener, ``LatestGatewayStats`` between the link and the
overview sampler). Nothing is assigned to a collaborator afterwards, and routes never see this
module: they name the objects they use (``api.deps``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiclone_agent.adapter.service import AdapterService
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.chat.service import ChatService
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.core.log_redaction import SecretRedactor
from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.base import EngineClient
from aiclone_agent.engine.settings import EngineSettingsService
from aiclone_agent.gateway.direct import DirectListener
from aiclone_agent.gateway.jwks import JwksCache
from aiclone_agent.gateway.link import AgentIdentity, GatewayLink
from aiclone_agent.gateway.load import AgentLoadReport
from aiclone_agent.gateway.network import NetworkPaths
from aiclone_agent.lan.listener import LanListener
from aiclone_agent.lan.pairing import PairingCodes
from aiclone_agent.lan.revocations import RevokedLanTokens
from aiclone_agent.lan.tokens import LanTokens
from aiclone_agent.lan_app import LanServices, create_lan_app
from aiclone_agent.memory import MemoryStore
from aiclone_agent.openai_api.serving import OpenAIServingChat
from aiclone_agent.overview.sampler import LatestGatewayStats, OverviewSampler
from aiclone_agent.rag.service import RagService
from aiclone_agent.telegram.service import TelegramService
from aiclone_agent.telegram.store import TelegramStore


@dataclass(frozen=True)
class AgentRuntime:
    env: EnvSettings
    config: ConfigStore
    engine: EngineClient
    store: ConversationStore
    metrics: AgentMetrics
    chat: ChatService
    openai: OpenAIServingChat
    started_at: float
    redactor: SecretRedactor
    rag: RagService
    engine_settings: EngineSettingsService
    adapter: AdapterService
    telegram: TelegramService
    lan_tokens: LanTokens
    network: NetworkPaths
    gateway: GatewayLink
    direct: DirectListener
    # the LAN listener, serving its own app (``lan_app``) built from the objects above
    lan: LanListener
    overview: OverviewSampler
    # long-term memory of each person (the store, gated by channel and person), closed last
    memory: ChatMemory

    async def close(self) -> None:
        await self.adapter.close()  # never waits for a conversion in progress
        await self.overview.stop()
        await self.telegram.close()  # first: losing the link must not start polling now
        await self.gateway.stop()
        await self.direct.stop()
        await self.lan.stop()
        await self.network.stop()
        self.telegram.store.close()
        await self.rag.close()
        self.memory.close()
        await self.engine.close()
        self.store.close()


def build_runtime(env: EnvSettings, config: ConfigStore, engine: EngineClient) -> AgentRuntime:
    metrics = AgentMetrics()
    metrics.watch_engine(engine.stats)
    store = ConversationStore(env.data_dir / "conversations.sqlite3")
    rag = RagService(env.data_dir / config.current.rag.db_path, config)
    # the knowledge base's embedder (none installed: BM25 + recency only, still working)
    memory = ChatMemory(
        MemoryStore(
            env.data_dir / "memory", rag.embedder, text_limit=config.current.limits.max_message_chars
        ),
        config,
    )
    chat = ChatService(engine, store, config, metrics, rag, memory)
    started_at = time.time()
    openai = OpenAIServingChat(chat, started_at)
    redactor = SecretRedactor()
    redactor.add(config.current.gateway.agent_token)
    telegram = TelegramService(
        config, chat, memory, TelegramStore(env.data_dir / "telegram.sqlite3"), redactor
    )
    jwks = JwksCache(env.data_dir / "gateway_jwks.json")
    revoked = RevokedLanTokens(env.data_dir / "lan_revocations.json")
    lan_tokens = LanTokens(jwks, revoked)
    network = NetworkPaths(
        on_mode=metrics.set_network_mode,
        on_request=lambda path: metrics.link_requests.labels(path).inc(),
    )
    identity = AgentIdentity()
    direct = DirectListener(
        openai,
        memory,
        config,
        jwks,
        network.running,
        network.board,
        agent_id=identity.current,
        tls_dir=env.data_dir,
    )
    gateway_stats = LatestGatewayStats()
    adapter = AdapterService(engine, config, env.models_dir / "lora", env.data_dir / "adapters")
    load = AgentLoadReport(
        engine,
        config,
        model=lambda: openai.model_ids()[-1],
        adapter=lambda: _adapter_name(adapter),
        documents=lambda: [document.id for document in rag.documents()],
    )
    gateway = GatewayLink(
        openai,
        memory,
        config,
        jwks,
        identity,
        telegram=telegram,
        lan_revocations=revoked,  # the relay link only: the direct path never changes the security state
        on_gateway_stats=gateway_stats.receive,
        on_connected=lambda linked: network.evaluate(),
        health=network.relay,
        running=network.running,
        load=load,
        direct_url=direct.advertise_url,
        direct_fingerprint=direct.fingerprint,
    )
    lan_app = create_lan_app(LanServices(config, chat, memory, store, openai, lan_tokens, PairingCodes()))
    return AgentRuntime(
        env=env,
        config=config,
        engine=engine,
        store=store,
        metrics=metrics,
        chat=chat,
        openai=openai,
        started_at=started_at,
        redactor=redactor,
        rag=rag,
        engine_settings=EngineSettingsService(config, engine, env.models_dir),
        adapter=adapter,
        telegram=telegram,
        lan_tokens=lan_tokens,
        network=network,
        gateway=gateway,
        direct=direct,
        lan=LanListener(config, lan_app, env.log_level),
        overview=OverviewSampler(engine, metrics, network, gateway, gateway_stats, env.overview_interval_s),
        memory=memory,
    )


def _adapter_name(adapter: AdapterService) -> str:
    """The adapter the clone answers with, as the gateway's owner page compares agents: its name
    and scale, or "" for the base model alone."""
    status = adapter.status
    return f"{status.name or status.path}@{status.scale:g}" if status.state == "applied" else ""
