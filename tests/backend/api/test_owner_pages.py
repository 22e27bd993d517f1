"""The owner's pages: users, registration mode (open / invite / closed), single-use invite links,
API keys and agent tokens; a plain user is refused every one of them."""

from __future__ import annotations

import uuid

import httpx

from aiclone_wire.pairing import parse_pairing
from tests.support.fixtures.gateways import ChatUser, GatewayProcess


def _email(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@example.test"


async def _sign_up(gateway: GatewayProcess, email: str, **extra) -> httpx.Response:
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        return await http.post(
            "/api/auth/register", json={"email": email, "password": "correct horse battery", **extra}
        )


async def test_first_setup_chooses_invitations_and_each_invite_lets_exactly_one_person_in(
    fresh_gateway: GatewayProcess,
):
    async with httpx.AsyncClient(base_url=fresh_gateway.url) as http:
        assert (await http.get("/api/auth/registration")).json() == {
            "needs_owner": True,
            "needs_setup_code": False,
            "mode": "open",
            "password_min_length": 8,
        }
    owner = ChatUser(fresh_gateway, _email("owner"))
    created = await _sign_up(fresh_gateway, owner.email, registration="invite")
    assert created.status_code == 201 and created.json()["role"] == "owner"
    await owner.login()
    async with httpx.AsyncClient(base_url=fresh_gateway.url) as http:
        assert (await http.get("/api/auth/registration")).json() == {
            "needs_owner": False,
            "needs_setup_code": False,
            "mode": "invite",
            "password_min_length": 8,
        }
    assert (await owner.http.get("/api/admin/registration")).json() == {"mode": "invite"}

    stranger = await _sign_up(fresh_gateway, _email("stranger"))
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "invite_required"
    late_chooser = await _sign_up(fresh_gateway, _email("chooser"), registration="open")
    assert late_chooser.status_code == 403 and late_chooser.json()["error"]["param"] == "registration"

    invite = (await owner.http.post("/api/admin/invites")).json()
    assert invite["code"].startswith("inv_") and invite["url"].endswith(f"/register?invite={invite['code']}")
    friend_email = _email("friend")
    friend = await _sign_up(fresh_gateway, friend_email, invite=invite["code"])
    assert friend.status_code == 201 and friend.json()["role"] == "user"
    reused = await _sign_up(fresh_gateway, _email("second"), invite=invite["code"])
    assert reused.status_code == 403 and reused.json()["error"]["code"] == "invite_invalid"

    listed = (await owner.http.get("/api/admin/invites")).json()
    assert [i["id"] for i in listed] == [invite["id"]] and "code" not in listed[0]
    assert listed[0]["used_by"] == friend.json()["id"] and listed[0]["used_at"] is not None
    spent_revoke = await owner.http.delete(f"/api/admin/invites/{invite['id']}")
    assert spent_revoke.status_code == 404

    unused = (await owner.http.post("/api/admin/invites")).json()
    assert (await owner.http.delete(f"/api/admin/invites/{unused['id']}")).status_code == 204
    revoked = await _sign_up(fresh_gateway, _email("late"), invite=unused["code"])
    assert revoked.status_code == 403 and revoked.json()["error"]["code"] == "invite_invalid"

    users = (await owner.http.get("/api/admin/users")).json()
    assert [(u["email"], u["role"]) for u in users] == [(owner.email, "owner"), (friend_email, "user")]
    await owner.close()


async def test_registration_round_trips_and_refuses_unknown_modes(owner: ChatUser):
    current = (await owner.http.get("/api/admin/registration")).json()
    try:
        for mode in ("invite", "closed", "open"):
            put = await owner.http.put("/api/admin/registration", json={"mode": mode})
            assert put.json() == {"mode": mode}
            got = (await owner.http.get("/api/admin/registration")).json()
            assert got == put.json()
            assert (await owner.http.put("/api/admin/registration", json=got)).json() == got
        bad = await owner.http.put("/api/admin/registration", json={"mode": "everyone"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "mode"
        assert (await owner.http.get("/api/admin/registration")).json() == {"mode": "open"}
    finally:
        await owner.http.put("/api/admin/registration", json=current)


async def test_a_plain_user_gets_403_from_every_owner_route(users: list[ChatUser]):
    guest = users[0]
    calls = [
        ("GET", "/api/admin/users"),
        ("GET", "/api/admin/registration"),
        ("PUT", "/api/admin/registration"),
        ("GET", "/api/admin/invites"),
        ("POST", "/api/admin/invites"),
        ("DELETE", "/api/admin/invites/x"),
        ("GET", "/api/agents"),
        ("POST", "/api/agents"),
        ("DELETE", "/api/agents/x"),
        ("PATCH", "/api/admin/users/x"),
        ("DELETE", "/api/admin/users/x"),
    ]
    for method, path in calls:
        body = {"mode": "closed"} if method == "PUT" else {"role": "blocked"} if method == "PATCH" else None
        response = await guest.http.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "owner_only"


async def test_api_keys_are_shown_once_listed_by_prefix_and_revoked(owner: ChatUser, users: list[ChatUser]):
    guest = users[1]
    created = (await guest.http.post("/api/keys", json={"name": "my script"})).json()
    assert created["key"].startswith("sk-aic-") and created["key"].startswith(created["prefix"])
    listed = (await guest.http.get("/api/keys")).json()
    assert [(k["id"], k["name"]) for k in listed] == [(created["id"], "my script")] and "key" not in listed[0]
    assert created["id"] not in [k["id"] for k in (await owner.http.get("/api/keys")).json()]
    models = await guest.http.get("/v1/models", headers={"Authorization": f"Bearer {created['key']}"})
    assert models.status_code == 200
    assert (await guest.http.delete(f"/api/keys/{created['id']}")).status_code == 204
    assert (await guest.http.get("/api/keys")).json() == []
    refused = await guest.http.get("/v1/models", headers={"Authorization": f"Bearer {created['key']}"})
    assert refused.status_code == 401


async def test_agent_tokens_are_shown_once_and_revoked(owner: ChatUser):
    created = (await owner.http.post("/api/agents", json={"name": "home pc"})).json()
    assert created["token"].startswith("agt_")
    listed = (await owner.http.get("/api/agents")).json()
    mine = [t for t in listed if t["id"] == created["id"]]
    assert mine and mine[0]["name"] == "home pc" and "token" not in mine[0] and mine[0]["linked"] is False
    assert (await owner.http.delete(f"/api/agents/{created['id']}")).status_code == 204
    assert created["id"] not in [t["id"] for t in (await owner.http.get("/api/agents")).json()]
    assert (await owner.http.delete(f"/api/agents/{created['id']}")).status_code == 404


async def test_a_new_agent_token_comes_with_its_pairing_string(owner: ChatUser, gateway: GatewayProcess):
    created = (await owner.http.post("/api/agents", json={"name": "pairing"})).json()
    assert created["pairing"].startswith("aiclone://pair?")
    assert parse_pairing(created["pairing"]) == (gateway.url, created["token"])  # this gateway's public_url
    listed = (await owner.http.get("/api/agents")).json()
    assert all("pairing" not in t and "token" not in t for t in listed)  # shown once, as the token
    await owner.http.delete(f"/api/agents/{created['id']}")


async def test_a_user_row_round_trips_and_only_its_role_changes(owner: ChatUser, users: list[ChatUser]):
    listed = (await owner.http.get("/api/admin/users")).json()
    row = next(u for u in listed if u["email"] == users[0].email)
    me = next(u for u in listed if u["email"] == owner.email)
    url = f"/api/admin/users/{row['id']}"
    assert (await owner.http.patch(url, json=row)).json() == row  # what GET lists, PATCH accepts
    blocked = (await owner.http.patch(url, json={**row, "role": "blocked"})).json()
    assert blocked == {**row, "role": "blocked"}
    assert (
        next(u for u in (await owner.http.get("/api/admin/users")).json() if u["id"] == row["id"]) == blocked
    )
    refused = [
        (url, {**row, "email": "someone@else.test"}, 400, "read_only"),
        (url, {**row, "id": "another"}, 400, "read_only"),
        (url, {"role": "owner"}, 400, "invalid_request"),
        (url, {"role": "admin"}, 400, "invalid_request"),
        (url, {"role": "user", "colour": "red"}, 400, "invalid_request"),
        (f"/api/admin/users/{me['id']}", {"role": "blocked"}, 400, "own_account"),
        ("/api/admin/users/nobody", {"role": "blocked"}, 404, "not_found"),
    ]
    for path, body, status, code in refused:
        response = await owner.http.patch(path, json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), (
            body,
            response.text,
        )
    assert (await owner.http.delete(f"/api/admin/users/{me['id']}")).status_code == 400
    assert (await owner.http.patch(url, json={"role": "user"})).json()["role"] == "user"
