"""The agent's LAN listener with the gateway stopped: only a live LAN token our gateway signed gets
in, checked offline (signature, exp, iss, aud, typ, revocations synced while it was up), and
never to the admin."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import openai
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aiclone_gateway.core.tokens import TokenIssuer, load_or_create_key
from tests.support.fixtures.lan import HomeLan

ISSUER, AUDIENCE = "aiclone-gateway", "aiclone"  # the gateway's defaults (core/config.py)


def _claims(lan: HomeLan, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "aiclone-lan",
        "sub": lan.user_id,
        "name": lan.name,
        "role": "user",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        "typ": "lan",
    }
    return {key: value for key, value in {**claims, **changes}.items() if value is not None}


async def _refusal(lan: HomeLan, token: str | None) -> tuple[int, dict]:
    async with lan.lan(token) as http:
        response = await http.get("/v1/models")
    return response.status_code, response.json()


async def test_only_a_live_lan_token_from_our_gateway_gets_in(home_lan: HomeLan):
    key = load_or_create_key(home_lan.gateway.key_file)
    kid = TokenIssuer(key, ISSUER, AUDIENCE).kid
    stranger = Ed25519PrivateKey.generate()

    def sign(claims: dict, with_key=key, **header) -> str:
        return jwt.encode(claims, with_key, algorithm="EdDSA", headers={"kid": kid, **header})

    real_head, _, real_signature = home_lan.token.split(".")
    raised = _claims(home_lan, role="owner", sub="someone-else")
    raised_body = base64.urlsafe_b64encode(json.dumps(raised).encode()).rstrip(b"=").decode()
    long_ago = int(time.time()) - 7200
    attacks = {
        "no token": (None, "a LAN token is required"),
        "garbage": ("not.a.token", "malformed token"),
        "another key's signature": (sign(_claims(home_lan), stranger), "Signature verification failed"),
        "claims changed under the real signature": (
            f"{real_head}.{raised_body}.{real_signature}",
            "Signature verification failed",
        ),
        "expired": (sign(_claims(home_lan, iat=long_ago, nbf=long_ago, exp=long_ago + 60)), "token expired"),
        "no exp": (sign(_claims(home_lan, exp=None)), '"exp" claim'),
        "wrong issuer": (sign(_claims(home_lan, iss="evil-gateway")), "Invalid issuer"),
        "wrong audience": (sign(_claims(home_lan, aud="aiclone")), "Audience doesn't match"),
        "no audience": (sign(_claims(home_lan, aud=None)), '"aud" claim'),
        "not valid yet": (sign(_claims(home_lan, nbf=int(time.time()) + 3600)), "not yet valid"),
        "wrong type": (sign(_claims(home_lan, typ="access")), "a access token cannot be used as a lan token"),
        "the gateway's access token": (home_lan.access_token, "Audience doesn't match"),
        "the gateway's direct-path token": (
            TokenIssuer(key, ISSUER, AUDIENCE).issue_direct(home_lan.agent_id, 60, "n" * 43),
            "Audience doesn't match",
        ),
        "unsigned (alg none)": (jwt.encode(_claims(home_lan), None, algorithm="none"), "'none'"),
        "HS256 keyed with the public key": (
            jwt.encode(_claims(home_lan), "x" * 32, algorithm="HS256", headers={"kid": kid}),
            "'HS256'",
        ),
        "unknown kid": (
            jwt.encode(_claims(home_lan), key, algorithm="EdDSA", headers={"kid": "../x"}),
            "key",
        ),
        "revoked while the gateway was up": (home_lan.revoked_token, "token revoked"),
        "of an account the owner blocked": (home_lan.blocked_token, "token revoked"),
        "of an account the owner deleted": (home_lan.deleted_token, "token revoked"),
    }
    for attack, (token, reason) in attacks.items():
        status, body = await _refusal(home_lan, token)
        assert status == 401, (attack, status, body)
        assert body["error"]["code"] == "invalid_lan_token", (attack, body)
        assert body["error"]["type"] == "authentication_error"
        assert reason in body["error"]["message"], (attack, body)
    # the real thing, and one signed by the gateway's own key, get in
    for token in (home_lan.token, sign(_claims(home_lan))):
        async with home_lan.lan(token) as http:
            assert (await http.get("/v1/models")).status_code == 200


async def test_the_openai_client_is_told_why_a_token_is_refused(home_lan: HomeLan):
    client = openai.AsyncOpenAI(
        base_url=f"{home_lan.lan_url}/v1", api_key=home_lan.revoked_token, max_retries=0
    )
    try:
        with pytest.raises(openai.AuthenticationError) as refused:
            await client.chat.completions.create(
                model="my-clone", messages=[{"role": "user", "content": "hi"}], stream=True
            )
    finally:
        await client.close()
    assert "token revoked" in str(refused.value)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/status"),
        ("GET", "/api/clone"),
        ("PUT", "/api/clone"),
        ("GET", "/api/config"),
        ("GET", "/api/conversations"),
        ("POST", "/api/chat/stream"),
        ("POST", "/api/chat/test"),
        ("GET", "/api/gateway"),
        ("PUT", "/api/gateway"),
        ("GET", "/api/rag/documents"),
        ("GET", "/api/channels"),
        ("GET", "/api/telegram"),
        ("GET", "/admin"),
        ("GET", "/assets/index.js"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/agent/direct"),
    ],
)
async def test_the_lan_listener_never_serves_the_admin(home_lan: HomeLan, method: str, path: str):
    for token in (None, home_lan.token):
        async with home_lan.lan(token) as http:
            response = await http.request(method, path, json={} if method != "GET" else None)
        assert response.status_code == 404, (path, token is not None, response.status_code)
        assert response.json()["error"]["type"] == "not_found_error"


async def test_an_oversized_body_is_refused_before_it_is_read(home_lan: HomeLan):
    async with home_lan.lan(home_lan.token) as http:
        response = await http.post(
            "/v1/chat/completions",
            content=b"{" + b" " * 3_000_000 + b"}",  # over limits.max_request_bytes (2 MB)
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"
        assert (await http.get("/v1/models")).status_code == 200  # the listener is still there


async def test_revocations_survive_a_restart_of_the_agent_with_the_gateway_down(home_lan: HomeLan):
    home_lan.agent.stop()
    home_lan.agent.start(timeout=180)
    assert (await home_lan.agent_status())["lan"]["revocations"]["revoked"] == 3
    status, body = await _refusal(home_lan, home_lan.revoked_token)
    assert status == 401 and "token revoked" in body["error"]["message"]
    async with home_lan.lan(home_lan.token) as http:
        assert (await http.get("/v1/models")).status_code == 200
