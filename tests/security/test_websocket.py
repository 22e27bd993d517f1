"""The chat WebSocket (OWASP ASVS V4.4) against a real gateway process.

Found before the fix: a socket without an Origin header was let in, and a ticket refused for a
foreign Origin stayed usable, so a page on another site that got hold of a ticket could retry it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
import websockets

from tests.support.fixtures.gateways import ALLOWED_ORIGIN, ChatUser, GatewayProcess


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


@pytest.mark.process
async def test_tickets_are_short_lived(tmp_path):
    # its own database: the session gateway's first sign-up must stay its owner
    gateway = GatewayProcess(
        tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}", ticket_ttl_s=1
    ).start()
    try:
        user = ChatUser(gateway, f"ticket-ttl-{uuid.uuid4().hex[:8]}@example.test")
        await user.register()
        await user.login()
        response = await user.http.post("/api/chat/ticket")
        received = time.monotonic()  # the gateway issued it before this moment
        assert response.json()["expires_in"] <= 1
        # what is waited for is the ticket's own stated end of life, counted from its latest possible issue
        await asyncio.sleep(max(0.0, received + response.json()["expires_in"] + 0.1 - time.monotonic()))
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


async def _closed_with(ws, code: int) -> str:
    """Read until the server closes ``ws``; its close reason (the close code must be ``code``)."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code, closed.value
    return closed.value.rcvd.reason


async def test_a_blocked_users_open_sockets_close_at_once_and_nothing_lets_them_back(owner: ChatUser, users):
    user = users[0]
    key = (await user.http.post("/api/keys", json={"name": "script"})).json()["key"]
    stale_ticket = await user.ticket()
    async with user.socket() as first, user.socket() as second:  # two tabs
        response = await owner.http.patch(
            f"/api/admin/users/{(await _me(user))['id']}", json={"role": "blocked"}
        )
        assert response.status_code == 200 and response.json()["role"] == "blocked", response.text
        assert await _closed_with(first, 4403) == "account blocked"
        assert await _closed_with(second, 4403) == "account blocked"
    assert not await _opens(user, stale_ticket)  # issued before the block
    me = await user.http.get("/api/users/me")
    assert (me.status_code, me.json()["error"]["code"]) == (403, "account_blocked")
    assert (await user.http.post("/api/chat/ticket")).status_code == 403
    refreshed = await user.http.post(
        "/api/auth/refresh", json={"refresh_token": user.tokens["refresh_token"]}
    )
    assert refreshed.status_code == 401  # every session was revoked
    login = await user.http.post("/api/auth/login", json={"email": user.email, "password": user.password})
    assert (login.status_code, login.json()["error"]["code"]) == (403, "account_blocked")
    api = await user.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 403
    # let back in: signs in again, same account
    user_id = (await owner.http.get("/api/admin/users")).json()
    user_id = next(u["id"] for u in user_id if u["email"] == user.email)
    assert (await owner.http.patch(f"/api/admin/users/{user_id}", json={"role": "user"})).status_code == 200
    await user.login()
    assert (await user.http.get("/api/users/me")).json()["role"] == "user"
    assert (await user.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})).status_code == 200


async def test_a_deleted_users_open_socket_closes_and_their_data_is_gone(owner: ChatUser, users):
    user = users[1]
    key = (await user.http.post("/api/keys", json={"name": "script"})).json()["key"]
    user_id = (await _me(user))["id"]
    async with user.socket() as ws:
        frames = await user.ask(ws, "Anyone home?")  # stored: answered, or queued when no agent is linked
        assert frames[-1]["type"] in ("end", "queued"), frames
        assert (await user.http.get("/api/conversations")).json()
        assert (await owner.http.delete(f"/api/admin/users/{user_id}")).status_code == 204
        assert await _closed_with(ws, 4410) == "account deleted"
    assert user_id not in {u["id"] for u in (await owner.http.get("/api/admin/users")).json()}
    assert (await user.http.get("/api/users/me")).status_code == 401
    assert (await user.http.get("/v1/models", headers={"Authorization": f"Bearer {key}"})).status_code == 401
    login = await user.http.post("/api/auth/login", json={"email": user.email, "password": user.password})
    assert login.status_code == 401
    assert (await owner.http.delete(f"/api/admin/users/{user_id}")).status_code == 404


async def _me(user: ChatUser) -> dict:
    return (await user.http.get("/api/users/me")).json()
