"""``/api/status``, ``/healthz`` and ``/metrics``."""

from __future__ import annotations

import time

import anyio
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aiclone_agent import __version__
from aiclone_agent.api.deps import (
    AdapterDep,
    ConfigDep,
    DirectDep,
    EngineDep,
    EngineSettingsDep,
    GatewayDep,
    LanDep,
    LanTokensDep,
    MetricsDep,
    NetworkDep,
    RagDep,
    StartedAtDep,
)
from aiclone_agent.engine.base import EngineError
from aiclone_agent.engine.gpu_offload import live_status
from aiclone_agent.engine.reloadable import ReloadableEngine

router = APIRouter(tags=["status"])


@router.get("/api/status")
async def status(
    engine: EngineDep,
    engine_settings: EngineSettingsDep,
    config: ConfigDep,
    network: NetworkDep,
    gateway: GatewayDep,
    direct: DirectDep,
    lan: LanDep,
    lan_tokens: LanTokensDep,
    rag: RagDep,
    adapter: AdapterDep,
    started_at: StartedAtDep,
) -> dict:
    info = engine.info
    return {
        "version": __version__,
        "backend": info.backend,
        "backend_reason": info.reason,
        # the reasons as a page says them (aiclone_wire.error_codes); the texts stay for API clients
        "backend_reason_code": info.reason_code or None,
        "backend_reason_params": info.reason_params,
        "model": {
            "name": info.model_name,
            "display_name": engine_settings.display_name,
            "path": info.model_path,
            "n_gpu_layers": info.n_gpu_layers,
            "chosen_because": info.model_reason,
            "chosen_because_code": info.model_reason_code or None,
            "chosen_because_params": info.model_reason_params,
            "broken_files": [{"file": file, "error": error} for file, error in info.broken_models],
            **info.details,
        },
        "gpu": await anyio.to_thread.run_sync(live_status, info.gpu) if info.gpu else None,
        "context_size": info.n_ctx,
        "engine": engine.stats(),
        "engine_reload": engine.reload_status.as_dict() if isinstance(engine, ReloadableEngine) else None,
        "uptime_s": round(time.time() - started_at, 1),
        "network_mode": network.evaluate(),
        "paths": network.describe(),
        "network_reason": network.last_reason,
        "gateway": {
            "url": gateway.status.url,
            "connected": gateway.status.connected,
            "rtt_ms": gateway.status.rtt_ms,
            "direct_url": direct.advertise_url,
            "direct_error": direct.last_error,
            "direct_error_code": direct.last_error_code,  # what a page says (aiclone_wire.error_codes)
            "direct": {"state": direct.state, "address": direct.address, "pending": direct.pending},
        },
        "lan": {**lan.status(), "revocations": lan_tokens.revoked.status()},
        "rag": rag.status(),
        "clone": {"id": config.current.clone.id, "name": config.current.clone.name},
        "adapter": adapter.status.model_dump(),
    }


@router.get("/healthz")
async def healthz(engine: EngineDep) -> JSONResponse:
    try:
        await engine.check_health()
    except EngineError as exc:
        return JSONResponse({"status": "unhealthy", "reason": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics")
async def metrics(network: NetworkDep, metrics: MetricsDep) -> Response:
    for name, path in network.describe().items():
        metrics.path_up.labels(name).set(1 if path["up"] else 0)
        metrics.path_rtt.labels(name).set((path["rtt_ms"] or 0) / 1000)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
