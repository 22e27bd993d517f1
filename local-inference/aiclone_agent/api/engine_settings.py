"""``/api/engine``: the owner's engine settings (generation defaults, how the model loads) and the
GGUF models in ``models/base/`` to pick from. What ``GET /api/engine/settings`` returns, ``PUT`` accepts.
``POST /api/engine/reload`` applies the saved settings in-process (``engine/reloadable.py``)."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from aiclone_agent.api.deps import AdapterDep, ConfigDep, EngineDep, EngineSettingsDep
from aiclone_agent.core.errors import ApiError, error_responses
from aiclone_agent.engine.base import EngineClient, EngineError
from aiclone_agent.engine.reloadable import ReloadableEngine
from aiclone_agent.engine.selector import load_engine
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


@router.post("/reload", status_code=202)
async def reload_engine(
    engine: EngineDep, config: ConfigDep, settings: EngineSettingsDep, adapter: AdapterDep
) -> dict[str, object]:
    """Reload the engine with the saved settings; progress in ``/api/status.engine_reload``."""
    if not isinstance(engine, ReloadableEngine):
        raise ApiError(
            409, "this engine cannot be reloaded in-process; restart the agent", code="engine_not_reloadable"
        )
    model = config.current.model
    models_dir = settings.base_dir.parent

    def load() -> EngineClient:
        return load_engine(model, models_dir)

    async def after() -> None:
        settings.applied(model)
        adapter.begin()  # the new engine has no adapter yet: read and apply it again

    try:
        return engine.start_reload(load, after).as_dict()
    except EngineError as exc:
        raise ApiError(409, str(exc), code="engine_reload_failed") from exc
