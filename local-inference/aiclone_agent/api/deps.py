"""Dependency aliases: the objects built at startup (kept on ``app.state``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from aiclone_agent.chat.service import ChatService
from aiclone_agent.chat.store import ConversationStore
from aiclone_agent.core.config import ConfigStore
from aiclone_agent.core.metrics import AgentMetrics
from aiclone_agent.engine.settings import EngineSettingsService
from aiclone_agent.overview.sampler import OverviewSampler
from aiclone_agent.runtime import AgentRuntime


def _runtime(request: Request) -> AgentRuntime:
    return request.app.state.runtime


def _chat(request: Request) -> ChatService:
    return request.app.state.runtime.chat


def _store(request: Request) -> ConversationStore:
    return request.app.state.runtime.store


def _config(request: Request) -> ConfigStore:
    return request.app.state.runtime.config


def _metrics(request: Request) -> AgentMetrics:
    return request.app.state.runtime.metrics


def _engine_settings(request: Request) -> EngineSettingsService:
    return request.app.state.runtime.engine_settings


def _overview(request: Request) -> OverviewSampler:
    sampler = request.app.state.runtime.overview
    assert sampler is not None  # built with the runtime
    return sampler


RuntimeDep = Annotated[AgentRuntime, Depends(_runtime)]
ChatDep = Annotated[ChatService, Depends(_chat)]
StoreDep = Annotated[ConversationStore, Depends(_store)]
ConfigDep = Annotated[ConfigStore, Depends(_config)]
MetricsDep = Annotated[AgentMetrics, Depends(_metrics)]
EngineSettingsDep = Annotated[EngineSettingsService, Depends(_engine_settings)]
OverviewDep = Annotated[OverviewSampler, Depends(_overview)]
