"""``/api/engine``: the owner's engine settings (generation defaults, how the model loads) and the
GGUF models in ``models/base/`` to pick from. What ``GET /api/engine/settings`` returns, ``PUT`` accepts."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from aiclone_agent.api.deps import EngineSettingsDep
from aiclone_agent.core.errors import error_responses
from aiclone_agent.engine.settings import EngineSettings, EngineSettingsUpdate, ModelList

router = APIRouter(prefix="/api/engine", tags=["engine"], responses=error_responses(503))


@router.get("/settings")
async def get_settings(settings: EngineSettingsDep) -> EngineSettings:
    return settings.current()


@router.put("/settings")
async def put_settings(body: EngineSettingsUpdate, settings: EngineSettingsDep) -> EngineSettings:
    return await settings.update(body)


@router.get("/models")
async def get_models(settings: EngineSettingsDep) -> ModelList:
    return await anyio.to_thread.run_sync(settings.models)
