"""The chat WebSocket (OWASP ASVS V4.4) against a real gateway process.

Found before the fix: a socket without an Origin header was let in, and a ticket refused for a
foreign Origin stayed usable, so a page on another site that got hold of a ticket could retry it.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets

from tests.backend.conftest import ALLOWED_ORIGIN, ChatUser, GatewayProcess


def _url(user: ChatUser, ticket: str) -> str:
    return f"{user.gateway.ws_url}/ws/chat?ticket={ticket}"


async def _opens(user: ChatUser, ticket: str, origin: str | None = ALLOWED_ORIGIN) -> bool:
    try:
        async with websockets.connect(_url(user, ticket), origin=origin, open_timeout=10) as ws:
            async with asyncio.timeout(10):
                return json.loads(await ws.recv())["type"] == "status"
    except websockets.InvalidStatus as refused:
        assert refused.response.status_code == 403
        return False


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://chat.example.test.evil.example",
        "http://chat.example.test:8443",
        "https://chat.example.test",
        "HTTP://CHAT.EXAMPLE.TEST ",
    ],
)
async def test_foreign_origin_is_refused(users: list[ChatUser], origin: str):
    assert not await _opens(users[0], await users[0].ticket(), origin=origin)


async def test_missing_origin_is_refused(users: list[ChatUser]):
    assert not await _opens(users[0], await users[0].ticket(), origin=None)


async def test_a_ticket_refused_for_its_origin_is_spent(users: list[ChatUser]):
    user = users[0]
    ticket = await user.ticket()
    assert not await _opens(user, ticket, origin="http://evil.example")
    assert not await _opens(user, ticket)  # the right Origin cannot revive it


async def test_tickets_are_single_use(users: list[ChatUser]):
    user = users[0]
    ticket = await user.ticket()
    assert await _opens(user, ticket)
    assert not await _opens(user, ticket)


async def test_tickets_are_short_lived(tmp_path):
    # its own database: the session gateway's first sign-up must stay its owner
    gateway = GatewayProcess(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", ticket_ttl_s=4
    ).start()
    try:
        user = ChatUser(gateway, f"ticket-ttl-{uuid.uuid4().hex[:8]}@example.test")
        await user.register()
        await user.login()
        response = await user.http.post("/api/chat/ticket")
        assert response.json()["expires_in"] <= 4
        await asyncio.sleep(4.5)
        assert not await _opens(user, response.json()["ticket"])
        assert await _opens(user, await user.ticket())  # a fresh one works
        await user.close()
    finally:
        gateway.stop()


async def test_tickets_are_not_written_to_the_gateway_log(users: list[ChatUser]):
    user = users[1]
    ticket = await user.ticket()
    assert await _opens(user, ticket)
    spent = await user.ticket()
    assert not await _opens(user, spent, origin="http://evil.example")
    log = user.gateway.log.read_text(errors="replace")
    assert ticket not in log and spent not in log
