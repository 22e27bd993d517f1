"""The routes' dependencies: each object built at startup, typed, one alias per collaborator.

The objects live on ``app.state.runtime``: the whole ``AgentRuntime`` in the admin app, the few
the LAN app serves (``lan_app.LanServices``) in the LAN listener's. Routes name what they use
(``ChatDep``, ``GatewayDep``, ...) and never the runtime itself, so no router imports the module
that builds everything (that import is what closed the loop runtime -> lan -> api -> runtime).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aiclone_agent.adapter.service import AdapterService
from aiclone_agent.chat.memories import ChatMemory
from aiclone_agent.chat.service import ChatService
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.core.log_redaction import SecretRedactor
from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.base import EngineClient
from aiclone_agent.engine.settings import EngineSettingsService
from aiclone_agent.gateway.direct import DirectListener
from aiclone_agent.gateway.link import GatewayLink
from aiclone_agent.gateway.network import NetworkPaths
from aiclone_agent.lan.listener import LanListener
from aiclone_agent.lan.pairing import PairingCodes
from aiclone_agent.lan.tokens import LanTokens, LanUser
from aiclone_agent.overview.sampler import OverviewSampler
from aiclone_agent.rag.service import RagService
from aiclone_wire.memory import user_person


def _chat(request: Request) -> ChatService:
    return request.app.state.runtime.chat


def _memory(request: Request) -> ChatMemory:
    return request.app.state.runtime.memory


def _store(request: Request) -> ConversationStore:
    return request.app.state.runtime.store


def _config(request: Request) -> ConfigStore:
    return request.app.state.runtime.config


def _metrics(request: Request) -> AgentMetrics:
    return request.app.state.runtime.metrics


def _engine(request: Request) -> EngineClient:
    return request.app.state.runtime.engine


def _engine_settings(request: Request) -> EngineSettingsService:
    return request.app.state.runtime.engine_settings


def _overview(request: Request) -> OverviewSampler:
    return request.app.state.runtime.overview


def _adapter(request: Request) -> AdapterService:
    return request.app.state.runtime.adapter


def _rag(request: Request) -> RagService:
    return request.app.state.runtime.rag


def _gateway(request: Request) -> GatewayLink:
    return request.app.state.runtime.gateway


def _direct(request: Request) -> DirectListener:
    return request.app.state.runtime.direct


def _network(request: Request) -> NetworkPaths:
    return request.app.state.runtime.network


def _lan(request: Request) -> LanListener:
    return request.app.state.runtime.lan


def _lan_tokens(request: Request) -> LanTokens:
    return request.app.state.runtime.lan_tokens


def _redactor(request: Request) -> SecretRedactor:
    return request.app.state.runtime.redactor


def _started_at(request: Request) -> float:
    return request.app.state.runtime.started_at


def _pairing(request: Request) -> PairingCodes:
    return request.app.state.runtime.pairing


def _lan_user(request: Request, tokens: Annotated[LanTokens, Depends(_lan_tokens)]) -> LanUser:
    """The LAN listener's caller: the user of the LAN token in the Authorization header, checked offline."""
    return tokens.user(request.headers.get("authorization"))


ChatDep = Annotated[ChatService, Depends(_chat)]
MemoryDep = Annotated[ChatMemory, Depends(_memory)]
StoreDep = Annotated[ConversationStore, Depends(_store)]
ConfigDep = Annotated[ConfigStore, Depends(_config)]
MetricsDep = Annotated[AgentMetrics, Depends(_metrics)]
EngineDep = Annotated[EngineClient, Depends(_engine)]
EngineSettingsDep = Annotated[EngineSettingsService, Depends(_engine_settings)]
OverviewDep = Annotated[OverviewSampler, Depends(_overview)]
AdapterDep = Annotated[AdapterService, Depends(_adapter)]
RagDep = Annotated[RagService, Depends(_rag)]
GatewayDep = Annotated[GatewayLink, Depends(_gateway)]
DirectDep = Annotated[DirectListener, Depends(_direct)]
NetworkDep = Annotated[NetworkPaths, Depends(_network)]
LanDep = Annotated[LanListener, Depends(_lan)]
LanTokensDep = Annotated[LanTokens, Depends(_lan_tokens)]
RedactorDep = Annotated[SecretRedactor, Depends(_redactor)]
StartedAtDep = Annotated[float, Depends(_started_at)]
LanUserDep = Annotated[LanUser, Depends(_lan_user)]
PairingDep = Annotated[PairingCodes, Depends(_pairing)]
RequireLanUser = Depends(_lan_user)


def lan_person(user: LanUserDep) -> str:
    """The person key of the LAN token's user: the gateway user (``sub``), the same person as on the web."""
    return user_person(user.id)
