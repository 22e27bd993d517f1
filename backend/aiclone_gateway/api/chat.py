"""Public chat: ``POST /api/chat/ticket``, ``WS /ws/chat`` (``chat_socket``, served by
``main.GatewayApp``) and the SSE fallback ``POST /api/chat/stream``."""

from __future__ import annotations

import logging
import uuid
from contextlib import aclosing
from urllib.parse import parse_qsl

from fastapi import APIRouter, WebSocket
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError
from starlette.websockets import WebSocketDisconnect

from aiclone_gateway.api.deps import ChatDep, CurrentUser, GatewayParts, RuntimeDep
from aiclone_gateway.chat.protocol import CancelIn, ClientFrame, ErrorFrame, MessageIn, ServerFrame
from aiclone_gateway.chat.service import ChatService
from aiclone_gateway.chat.sockets import ChatConnection
from aiclone_gateway.core.errors import error_responses

router = APIRouter(tags=["chat"], responses=error_responses(401, 403, 503))
log = logging.getLogger(__name__)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class TicketOut(BaseModel):
    ticket: str
    expires_in: int


@router.post("/api/chat/ticket")
async def chat_ticket(user: CurrentUser, runtime: RuntimeDep) -> TicketOut:
    return TicketOut(
        ticket=await runtime.tickets.issue(user.id), expires_in=int(runtime.settings.ticket_ttl_s)
    )


def _sse(frame: ServerFrame) -> bytes:
    return b"data: " + frame.model_dump_json().encode() + b"\n\n"


@router.post("/api/chat/stream")
async def chat_stream(body: MessageIn, user: CurrentUser, chat: ChatDep) -> StreamingResponse:
    async def events():
        async with aclosing(
            chat.turn(user.id, body.conversation_id, body.text, body.client_id, uuid.uuid4().hex)
        ) as frames:
            async for frame in frames:
                yield _sse(frame)

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


async def _answer(chat: ChatService, connection: ChatConnection, message: MessageIn) -> None:
    request_id = uuid.uuid4().hex
    try:
        async with aclosing(
            chat.turn(
                connection.user_id, message.conversation_id, message.text, message.client_id, request_id
            )
        ) as frames:
            async for frame in frames:
                await connection.send_in_turn(frame)
    except Exception:
        log.exception("chat request %s failed", request_id)
        connection.send(
            ErrorFrame(
                request_id=request_id,
                code="internal_error",
                message="the gateway failed to answer; please retry",
            )
        )


def _ticket(query_string: bytes) -> str:
    return dict(parse_qsl(query_string.decode("latin-1"))).get("ticket", "")


async def chat_socket(websocket: WebSocket, runtime: GatewayParts) -> None:
    """``WS /ws/chat?ticket=...``: served by ``main.GatewayApp`` ahead of FastAPI's routing and
    middleware, whose per-request objects an idle socket would otherwise keep for hours (there may
    be tens of thousands open); so this handler reads its ticket and Origin itself."""
    # The ticket is spent before anything else is checked: one refused for a bad Origin (a page
    # on another site that got hold of it) can never be tried again from elsewhere.
    user_id = await runtime.tickets.redeem(_ticket(websocket.scope["query_string"]))
    origin = websocket.headers.get("origin")
    if origin is None or origin not in runtime.settings.chat_origins:  # a missing Origin is refused too
        runtime.metrics.auth_failures.labels("origin").inc()
        await websocket.close(code=1008, reason="origin not allowed")
        return
    if user_id is None:
        runtime.metrics.auth_failures.labels("ticket").inc()
        await websocket.close(code=1008, reason="invalid or expired ticket")
        return
    if await runtime.auth.active_user(user_id) is None:  # blocked or deleted since the ticket was issued
        runtime.metrics.auth_failures.labels("ticket").inc()
        await websocket.close(code=1008, reason="account blocked or deleted")
        return
    await websocket.accept()
    connection = ChatConnection(websocket, user_id)
    runtime.sockets.add(connection)
    connection.send(runtime.chat.status_frame())
    try:
        while True:
            try:
                frame = ClientFrame.validate_json(await websocket.receive_text())
            except ValidationError as exc:
                connection.send(
                    ErrorFrame(
                        request_id=None, code="invalid_frame", message=exc.errors(include_url=False)[0]["msg"]
                    )
                )
                continue
            if isinstance(frame, CancelIn):
                runtime.chat.cancel(user_id, frame.request_id)
                continue
            runtime.chat.spawn(_answer(runtime.chat, connection, frame))
    except (WebSocketDisconnect, RuntimeError):
        pass  # running answers finish and are stored; the user sees them on return
    finally:
        runtime.sockets.remove(connection)
        await connection.stop()
