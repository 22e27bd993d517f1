"""Sign-up, login, refresh rotation with reuse detection, logout, owner rules, rate limits."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.support.fixtures.gateways import METRICS_HEADERS, ChatUser, GatewayProcess


async def test_register_login_me(fresh_gateway: GatewayProcess):
    user = ChatUser(fresh_gateway, "Ada@Example.test")
    created = await user.register()
    assert created["email"] == "ada@example.test" and created["role"] == "owner"
    tokens = await user.login()
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = (await user.http.get("/api/users/me")).json()
    assert me["id"] == created["id"] and me["role"] == "owner"
    await user.close()


async def test_register_errors_have_one_shape(gateway: GatewayProcess, owner: ChatUser):
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        bad = await http.post("/api/auth/register", json={"email": "not-an-email", "password": "x"})
        assert bad.status_code == 400
        error = bad.json()["error"]
        # OpenAI's four keys, and (as on the agent) each bad field for the form beside it, in
        # words and as a code the UIs say in their language
        assert set(error) == {"message", "type", "param", "code", "fields", "field_codes"}
        assert "email" in error["message"] and error["type"] == "invalid_request_error"
        assert set(error["fields"]) == set(error["field_codes"]) == {"email", "password"}
        ok = await http.post("/api/auth/register", json={"email": email, "password": "long enough"})
        assert ok.status_code == 201 and ok.json()["role"] == "user"
        again = await http.post(
            "/api/auth/register", json={"email": email.upper(), "password": "long enough"}
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"
        wrong = await http.post("/api/auth/login", json={"email": email, "password": "wrong password"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
        nobody = await http.post(
            "/api/auth/login", json={"email": "nobody-" + email, "password": "long enough"}
        )
        assert (
            nobody.status_code == 401
            and nobody.json()["error"]["message"] == wrong.json()["error"]["message"]
        )


@pytest.mark.databases
async def test_concurrent_signups_make_exactly_one_owner(fresh_gateway: GatewayProcess):
    users = [ChatUser(fresh_gateway, f"racer{i}@example.test") for i in range(6)]
    created = await asyncio.gather(*(u.register() for u in users))
    assert sorted(c["role"] for c in created) == ["owner"] + ["user"] * 5
    for user in users:
        await user.close()


async def test_owner_closes_registration(owner: ChatUser, users: list[ChatUser]):
    guest = users[0]
    refused = await guest.http.put("/api/admin/registration", json={"mode": "closed"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "owner_only"
    closed = await owner.http.put("/api/admin/registration", json={"mode": "closed"})
    assert closed.json() == {"mode": "closed"}
    late = ChatUser(owner.gateway, f"late-{uuid.uuid4().hex[:8]}@example.test")
    try:
        response = await late.http.post(
            "/api/auth/register", json={"email": late.email, "password": late.password}
        )
        assert response.status_code == 403 and response.json()["error"]["code"] == "registration_closed"
    finally:
        await owner.http.put("/api/admin/registration", json={"mode": "open"})
    assert (await late.register())["role"] == "user"
    await late.close()


async def test_refresh_rotates_and_reuse_revokes_the_family(users: list[ChatUser]):
    user = users[1]
    first = user.tokens["refresh_token"]
    rotated = await user.http.post("/api/auth/refresh", json={"refresh_token": first})
    assert rotated.status_code == 200
    second = rotated.json()["refresh_token"]
    assert second != first
    third = (await user.http.post("/api/auth/refresh", json={"refresh_token": second})).json()[
        "refresh_token"
    ]
    # an attacker replays the first (already rotated) token: the whole family dies
    replay = await user.http.post("/api/auth/refresh", json={"refresh_token": first})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_reused"
    victim = await user.http.post("/api/auth/refresh", json={"refresh_token": third})
    assert victim.status_code == 401 and victim.json()["error"]["code"] == "token_revoked"
    # other logins of the same user are other families and live on
    other = await user.login()
    assert (
        await user.http.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]})
    ).status_code == 200


async def test_logout_revokes_the_refresh_token(users: list[ChatUser]):
    user = users[0]
    token = user.tokens["refresh_token"]
    assert (await user.http.post("/api/auth/logout", json={"refresh_token": token})).status_code == 204
    after = await user.http.post("/api/auth/refresh", json={"refresh_token": token})
    assert after.status_code == 401


@pytest.mark.parametrize("fresh_database_url", ["sqlite"], indirect=True)
async def test_auth_routes_are_rate_limited(tmp_path, fresh_database_url):
    gateway = GatewayProcess(tmp_path, fresh_database_url, auth_rate_limit=3, auth_rate_window_s=60).start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url) as http:
            body = {"email": "x@example.test", "password": "wrong password"}
            statuses = [(await http.post("/api/auth/login", json=body)).status_code for _ in range(4)]
            assert statuses == [401, 401, 401, 429]
            limited = await http.post("/api/auth/login", json=body)
            assert limited.json()["error"]["type"] == "rate_limit_error"
            assert 1 <= int(limited.headers["Retry-After"]) <= 60
            metrics = (await http.get("/metrics", headers=METRICS_HEADERS)).text
            assert 'aiclone_gateway_auth_failures_total{kind="password"} 3.0' in metrics
    finally:
        gateway.stop()
