"""The agent's direct listener: only the gateway, proving itself with a token it signed for this
agent, gets in, and only to the link's request API. Never the admin."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.exceptions import InvalidStatus

from aiclone_gateway.core.tokens import TokenIssuer, load_or_create_key
from tests.backend.relay.conftest import TwoPaths

ISSUER, AUDIENCE = "aiclone-gateway", "aiclone"  # the gateway's defaults (core/config.py)


async def _agent_id(paths: TwoPaths) -> str:
    (linked,) = [a for a in (await paths.owner.http.get("/api/agents")).json() if a["linked"]]
    return linked["id"]


def _claims(agent_id: str, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": agent_id,
        "sub": "gateway",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "typ": "agent-direct",
    }
    return {**claims, **changes}


async def _dial(paths: TwoPaths, token: str | None, path: str = "/agent/direct") -> int:
    """HTTP status of a WebSocket handshake on the direct listener (101: accepted)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{paths.direct_port}{path}", additional_headers=headers, open_timeout=10
        ):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_only_a_fresh_gateway_token_for_this_agent_opens_the_direct_path(two_paths: TwoPaths):
    agent_id = await _agent_id(two_paths)
    key = load_or_create_key(two_paths.gateway.key_file)
    issuer = TokenIssuer(key, ISSUER, AUDIENCE)
    kid = issuer.kid
    stranger = Ed25519PrivateKey.generate()

    def sign(claims: dict, with_key=key) -> str:
        return jwt.encode(claims, with_key, algorithm="EdDSA", headers={"kid": kid})

    user_access, _ = issuer.issue("some-user", "access", 60)  # a real user's token: wrong aud and typ
    attacks = {
        "no token": None,
        "garbage": "not.a.token",
        "forged (another key)": sign(_claims(agent_id), stranger),
        "expired": sign(
            _claims(
                agent_id, iat=int(time.time()) - 600, nbf=int(time.time()) - 600, exp=int(time.time()) - 60
            )
        ),
        "another agent's": sign(_claims("someone-else")),
        "wrong issuer": sign(_claims(agent_id, iss="evil")),
        "wrong type": sign(_claims(agent_id, typ="access")),
        "a user's access token": user_access,
        "unsigned": jwt.encode(_claims(agent_id), None, algorithm="none"),
    }
    for attack, token in attacks.items():
        assert await _dial(two_paths, token) in (401, 403), attack
    # the real thing (what the gateway itself presents) gets in
    assert await _dial(two_paths, issuer.issue_direct(agent_id, 60)) == 101
    log = two_paths.agent.log.read_text(encoding="utf-8")
    assert "token expired" in log and "Signature verification failed" in log


@pytest.mark.parametrize("path", ["/api/status", "/api/clone", "/", "/admin", "/v1/models", "/agent/ws"])
async def test_the_direct_listener_never_serves_the_admin(two_paths: TwoPaths, path: str):
    agent_id = await _agent_id(two_paths)
    token = TokenIssuer(load_or_create_key(two_paths.gateway.key_file), ISSUER, AUDIENCE).issue_direct(
        agent_id, 60
    )
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{two_paths.direct_port}", timeout=10) as http:
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            response = await http.get(path, headers=headers)
            assert response.status_code == 404, (path, response.status_code)
            assert response.text == "not found\n"
    assert await _dial(two_paths, token, path) == 404
