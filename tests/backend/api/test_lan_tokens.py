"""``/api/lan-tokens``: a user's passes for the agent's LAN listener, signed like the gateway's other
tokens and checkable offline with its public JWKS; only their owner lists and revokes them."""

from __future__ import annotations

import time

import httpx
import jwt
import websockets

from aiclone_wire import Hello, decode, encode
from tests.support.fixtures.gateways import ChatUser, GatewayProcess, create_agent_token, sign_up, wait_online

THIRTY_DAYS_S = 30 * 86_400


async def _public_key(gateway: GatewayProcess, kid: str):
    async with httpx.AsyncClient(base_url=gateway.url) as http:
        keys = (await http.get("/.well-known/jwks.json")).json()["keys"]
    (jwk,) = [key for key in keys if key["kid"] == kid]
    return jwt.PyJWK(jwk, "EdDSA").key


async def test_a_lan_token_is_a_gateway_signed_pass_for_the_lan(gateway: GatewayProcess, owner: ChatUser):
    (user,) = await sign_up(gateway, 1)
    me = (await user.http.get("/api/users/me")).json()
    created = await user.http.post("/api/lan-tokens", json={"name": "kitchen tablet"})
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    key = await _public_key(gateway, jwt.get_unverified_header(token)["kid"])
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="aiclone-lan", issuer="aiclone-gateway")
    assert claims["typ"] == "lan" and claims["sub"] == me["id"] and claims["name"] == user.email
    assert claims["role"] == "user" and claims["jti"] == body["id"]
    assert abs(claims["exp"] - (time.time() + THIRTY_DAYS_S)) < 60 and body["expires_at"] == claims["exp"]
    listed = (await user.http.get("/api/lan-tokens")).json()
    assert listed == [{k: body[k] for k in ("id", "name", "created_at", "expires_at")}]  # never the token
    # it is not an access token: the gateway's own API refuses it
    async with httpx.AsyncClient(base_url=gateway.url, headers={"Authorization": f"Bearer {token}"}) as http:
        assert (await http.get("/api/users/me")).status_code == 401
    await user.close()


async def test_only_the_owner_of_a_lan_token_lists_and_revokes_it(gateway: GatewayProcess, owner: ChatUser):
    alice, bob = await sign_up(gateway, 2)
    token_id = (await alice.http.post("/api/lan-tokens")).json()["id"]
    assert (await bob.http.get("/api/lan-tokens")).json() == []
    stolen = await bob.http.delete(f"/api/lan-tokens/{token_id}")
    assert stolen.status_code == 404 and stolen.json()["error"]["code"] == "not_found"
    assert [t["id"] for t in (await alice.http.get("/api/lan-tokens")).json()] == [token_id]
    assert (await alice.http.delete(f"/api/lan-tokens/{token_id}")).status_code == 204
    assert (await alice.http.get("/api/lan-tokens")).json() == []
    assert (await alice.http.delete(f"/api/lan-tokens/{token_id}")).status_code == 404
    async with httpx.AsyncClient(base_url=gateway.url) as anonymous:
        refused = await anonymous.post("/api/lan-tokens")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"
    for user in (alice, bob):
        await user.close()


async def test_a_new_password_revokes_every_lan_token_and_they_are_capped(
    gateway: GatewayProcess, owner: ChatUser
):
    (user,) = await sign_up(gateway, 1)
    for _ in range(10):  # the default cap per user
        assert (await user.http.post("/api/lan-tokens")).status_code == 201
    over = await user.http.post("/api/lan-tokens")
    assert over.status_code == 409 and over.json()["error"]["code"] == "too_many_lan_tokens"
    changed = await user.http.post(
        "/api/auth/password", json={"current_password": user.password, "new_password": "a brand new one"}
    )
    assert changed.status_code == 204, changed.text
    assert (await user.http.get("/api/lan-tokens")).json() == []
    assert (await user.http.post("/api/lan-tokens")).status_code == 201  # room again
    await user.close()


async def test_the_use_at_home_page_hears_the_lan_address_the_agent_reported(tmp_path):
    """The agent's hello names its LAN chat page; signed-in users read it, the public never does."""
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}").start()
    owner, user = await sign_up(gateway, 2)
    try:
        assert (await user.http.get("/api/lan-tokens/address")).json() == {"url": None}  # no agent yet
        token = await create_agent_token(owner)
        ws = await websockets.connect(
            f"{gateway.ws_url}/agent/ws", additional_headers={"Authorization": f"Bearer {token}"}
        )
        hello = Hello(role="agent", clone_name="Home", capabilities=["x"], lan_url="http://192.168.1.20:3080")
        await ws.send(encode(hello))
        assert isinstance(decode(await ws.recv()), Hello)
        await wait_online(gateway)
        assert (await user.http.get("/api/lan-tokens/address")).json() == {"url": "http://192.168.1.20:3080"}
        async with httpx.AsyncClient(base_url=gateway.url) as anonymous:
            assert (await anonymous.get("/api/lan-tokens/address")).status_code == 401
            assert "192.168.1.20" not in (await anonymous.get("/api/status")).text
        await ws.close()
    finally:
        await owner.close()
        await user.close()
        gateway.stop()
