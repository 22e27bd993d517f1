"""Everything the agent builds at startup, kept on ``app.state.runtime``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiclone_agent.chat.service import ChatService
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.config import ConfigStore, EnvSettings
from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.base import EngineClient
from aiclone_agent.openai_api.serving import OpenAIServingChat


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

    @classmethod
    def build(cls, env: EnvSettings, config: ConfigStore, engine: EngineClient) -> AgentRuntime:
        metrics = AgentMetrics()
        store = ConversationStore(env.data_dir / "conversations.sqlite3")
        chat = ChatService(engine, store, config, metrics)
        started = time.time()
        metrics.network_mode.labels("offline").set(1)
        return cls(env, config, engine, store, metrics, chat, OpenAIServingChat(chat, started), started)

    async def close(self) -> None:
        await self.engine.close()
        self.store.close()
