"""Public probes: ``/api/status``, ``/healthz``, ``/metrics``, ``/.well-known/jwks.json``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from aiclone_gateway import __version__
from aiclone_gateway.api.deps import RuntimeDep

router = APIRouter(tags=["status"])


@router.get("/api/status")
async def status(runtime: RuntimeDep) -> dict:
    hello = runtime.hub.last_hello
    return {
        "agent_online": runtime.hub.online,
        **runtime.hub.network(),
        "clone": {"name": hello.clone_name if hello else None},
        "version": __version__,
    }


@router.get("/healthz")
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure makes the gateway unhealthy
        return JSONResponse(
            {"status": "unhealthy", "reason": f"database: {exc.__class__.__name__}"}, status_code=503
        )
    return JSONResponse({"status": "ok", "agent_online": runtime.hub.online})


@router.get("/metrics")
async def metrics(runtime: RuntimeDep) -> Response:
    runtime.metrics.queue_length.set(await runtime.conversations.queue_length())
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/jwks.json")
async def jwks(runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(runtime.tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})
