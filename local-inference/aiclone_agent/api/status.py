"""``/api/status``, ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aiclone_agent import __version__
from aiclone_agent.api.deps import RuntimeDep
from aiclone_agent.engine.base import EngineError
from aiclone_agent.engine.gpu_offload import live_status
from aiclone_agent.engine.reloadable import ReloadableEngine

router = APIRouter(tags=["status"])


@router.get("/api/status")
async def status(runtime: RuntimeDep) -> dict:
    info = runtime.engine.info
    return {
        "version": __version__,
        "backend": info.backend,
        "backend_reason": info.reason,
        "model": {
            "name": info.model_name,
            "display_name": runtime.engine_settings.display_name,
            "path": info.model_path,
            "n_gpu_layers": info.n_gpu_layers,
            "chosen_because": info.model_reason,
            "broken_files": [{"file": file, "error": error} for file, error in info.broken_models],
            **info.details,
        },
        "gpu": await anyio.to_thread.run_sync(live_status, info.gpu) if info.gpu else None,
        "context_size": info.n_ctx,
        "engine": runtime.engine.stats(),
        "engine_reload": (
            runtime.engine.reload_status.as_dict() if isinstance(runtime.engine, ReloadableEngine) else None
        ),
        "uptime_s": round(time.time() - runtime.started_at, 1),
        "network_mode": runtime.network.evaluate(),
        "paths": runtime.network.describe(),
        "network_reason": runtime.network.last_reason,
        "gateway": {
            "url": runtime.gateway.status.url,
            "connected": runtime.gateway.status.connected,
            "rtt_ms": runtime.gateway.status.rtt_ms,
            "direct_url": runtime.direct.advertise_url,
            "direct_error": runtime.direct.last_error,
        },
        "lan": {
            **(runtime.lan.status() if runtime.lan else {"enabled": False, "address": None, "error": None}),
            "revocations": runtime.lan_tokens.revoked.status() if runtime.lan_tokens else None,
        },
        "rag": runtime.rag.status() if runtime.rag else None,
        "clone": {"id": runtime.config.current.clone.id, "name": runtime.config.current.clone.name},
        "adapter": runtime.adapter.status.model_dump(),
    }


@router.get("/healthz")
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    try:
        await runtime.engine.check_health()
    except EngineError as exc:
        return JSONResponse({"status": "unhealthy", "reason": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    for name, path in runtime.network.describe().items():
        runtime.metrics.path_up.labels(name).set(1 if path["up"] else 0)
        runtime.metrics.path_rtt.labels(name).set((path["rtt_ms"] or 0) / 1000)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
