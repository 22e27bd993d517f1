"""Probes: ``/api/status``, ``/healthz`` and ``/.well-known/jwks.json`` are public; ``/metrics``
needs the scraper's ``metrics_token`` or the owner's access token."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from aiclone_gateway import __version__
from aiclone_gateway.api.deps import RuntimeDep, bearer_token
from aiclone_gateway.core.errors import ApiError, error_responses

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


async def _metrics_reader(request: Request, runtime: RuntimeDep) -> None:
    presented = bearer_token(request)
    expected = runtime.settings.metrics_token
    if presented and expected and hmac.compare_digest(presented.encode(), expected.encode()):
        return
    if presented:
        try:
            if (await runtime.auth.user_for_access_token(presented)).role == "owner":
                return
        except ApiError:
            pass
    runtime.metrics.auth_failures.labels("metrics").inc()
    raise ApiError(
        401,
        "metrics need 'Authorization: Bearer <AICLONE_GATEWAY_METRICS_TOKEN>' or the owner's access token",
        code="not_authenticated",
        headers={"WWW-Authenticate": "Bearer"},
    )


@router.get("/metrics", dependencies=[Depends(_metrics_reader)], responses=error_responses(401))
async def metrics(runtime: RuntimeDep) -> Response:
    runtime.metrics.queue_length.set(await runtime.conversations.queue_length())
    runtime.metrics.chat_sockets.set(runtime.sockets.connections)
    runtime.metrics.chat_sockets_sending.set(runtime.sockets.sending)
    runtime.metrics.event_loop_tasks.set(len(asyncio.all_tasks()))
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/.well-known/jwks.json")
async def jwks(runtime: RuntimeDep) -> JSONResponse:
    return JSONResponse(runtime.tokens.jwks(), headers={"Cache-Control": "public, max-age=300"})
