"""The password rule on the real gateway: sign-up and a password change refuse a common password
(the list the gateway ships) with one stable code and the field, and the sign-up page is told the
rule before anyone submits."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.fixtures.gateways import ChatUser, GatewayProcess, sign_up


@pytest.mark.parametrize("password", ["password", "Password1", "pass word 123", "12345678", "zzzzzzzzzzzz"])
async def test_sign_up_refuses_a_common_password_and_names_the_field(
    gateway: GatewayProcess, owner: ChatUser, password: str
):
    email = f"weak-{uuid.uuid4().hex[:8]}@example.test"
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        refused = await http.post("/api/auth/register", json={"email": email, "password": password})
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["code"] == "password_too_common" and error["param"] == "password"
        assert set(error["fields"]) == {"password"}
        # nothing was created: the same email signs up with a better password
        ok = await http.post("/api/auth/register", json={"email": email, "password": "violet kettle 42"})
        assert ok.status_code == 201, ok.text


async def test_the_sign_up_page_is_told_the_rule(gateway: GatewayProcess, owner: ChatUser):
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        info = (await http.get("/api/auth/registration")).json()
    assert info["password_min_length"] == 8


async def test_a_password_change_refuses_a_common_one_and_keeps_the_old(
    gateway: GatewayProcess, owner: ChatUser
):
    (user,) = await sign_up(gateway, 1)
    refused = await user.http.post(
        "/api/auth/password", json={"current_password": user.password, "new_password": "qwerty123"}
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "password_too_common"
    assert refused.json()["error"]["param"] == "new_password"
    assert (await user.login())["access_token"]  # the old password still signs in
    await user.close()
