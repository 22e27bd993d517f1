"""``WS /agent/ws``: the agent's link. Agent token in the Authorization header, then hello both ways."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from aiclone_gateway import __version__
from aiclone_gateway.api.deps import RuntimeDep
from aiclone_wire import PROTOCOL_VERSION, Error, Hello, WireError, decode, encode
from aiclone_wire.dial import HELLO_TIMEOUT_S

router = APIRouter(tags=["relay"])


@router.websocket("/agent/ws")
async def agent_link(websocket: WebSocket, runtime: RuntimeDep) -> None:
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    agent = await runtime.credentials.agent_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if agent is None:
        runtime.metrics.auth_failures.labels("agent_token").inc()
        await websocket.close(code=1008, reason="invalid agent token")
        return
    await websocket.accept()
    try:
        hello = decode(await asyncio.wait_for(websocket.receive_text(), HELLO_TIMEOUT_S))
    except (asyncio.TimeoutError, WireError, WebSocketDisconnect):
        await websocket.close(code=1002, reason="expected a hello frame")
        return
    if not isinstance(hello, Hello) or hello.protocol_version != PROTOCOL_VERSION:
        version = getattr(hello, "protocol_version", None)
        await websocket.send_text(
            encode(
                Error(
                    code="protocol_version",
                    message=f"gateway speaks protocol {PROTOCOL_VERSION}, agent sent {version}",
                    status=400,
                )
            )
        )
        await websocket.close(code=4002, reason="unsupported protocol version")
        return
    await websocket.send_text(
        encode(
            Hello(
                role="gateway",
                software_version=__version__,
                capabilities=["chat", "openai", "credit", "agent_load"],
                jwks=runtime.tokens.jwks(),
                jwt_issuer=runtime.tokens.issuer,
                agent_id=agent.id,
            )
        )
    )
    await runtime.reception.serve(websocket, agent.id, hello)
