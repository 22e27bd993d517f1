"""Access tokens: EdDSA only, every claim checked. Forged tokens are sent to a real gateway."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aiclone_gateway.core.tokens import InvalidTokenError, TokenIssuer, key_id, load_or_create_key
from tests.support.fixtures.gateways import ChatUser


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(user_id: str, **changes) -> dict:
    now = int(time.time())
    claims = {
        "iss": "aiclone-gateway",
        "aud": "aiclone",
        "sub": user_id,
        "iat": now,
        "exp": now + 300,
        "jti": "j1",
        "typ": "access",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.fixture
async def victim(users: list[ChatUser]) -> ChatUser:
    return users[1]


async def _me(user: ChatUser, token: str) -> httpx.Response:
    return await user.http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})


async def test_genuine_token_works(victim: ChatUser):
    assert (await _me(victim, victim.tokens["access_token"])).status_code == 200


def _forgeries(gateway_key: Ed25519PrivateKey, user_id: str, public_pem: bytes) -> dict[str, str]:
    kid = key_id(gateway_key.public_key())
    sign = lambda claims, **h: jwt.encode(claims, gateway_key, algorithm="EdDSA", headers={"kid": kid, **h})  # noqa: E731
    hs256_header = _b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    hs256_body = _b64(_claims(user_id))
    mac = hmac.new(public_pem, f"{hs256_header}.{hs256_body}".encode(), hashlib.sha256).digest()
    stranger = Ed25519PrivateKey.generate()
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64(_claims(user_id))}.",
        "HS256 signed with the public key": f"{hs256_header}.{hs256_body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}",
        "wrong audience": sign(_claims(user_id, aud="someone-else")),
        "wrong issuer": sign(_claims(user_id, iss="https://evil.example")),
        "expired": sign(_claims(user_id, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)),
        "refresh token as access token": sign(_claims(user_id, typ="refresh")),
        "no typ claim": sign(_claims(user_id, typ=None)),
        "unknown kid": jwt.encode(
            _claims(user_id), stranger, algorithm="EdDSA", headers={"kid": "not-our-key"}
        ),
        "right kid, foreign key": jwt.encode(
            _claims(user_id), stranger, algorithm="EdDSA", headers={"kid": kid}
        ),
        "garbage": "not.a.token",
    }


async def test_forged_tokens_are_refused(victim: ChatUser):
    key = load_or_create_key(victim.gateway.key_file)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    user_id = (await _me(victim, victim.tokens["access_token"])).json()["id"]
    for attack, token in _forgeries(key, user_id, public_pem).items():
        response = await _me(victim, token)
        assert response.status_code == 401, attack
        assert response.json()["error"]["type"] == "authentication_error", attack
        assert response.headers["WWW-Authenticate"] == "Bearer", attack


async def test_the_real_refresh_token_is_no_access_token(victim: ChatUser):
    response = await _me(victim, victim.tokens["refresh_token"])
    assert response.status_code == 401
    assert "refresh token cannot be used as a access token" in response.json()["error"]["message"]


async def test_jwks_publishes_the_signing_key(victim: ChatUser):
    jwks = (await victim.http.get("/.well-known/jwks.json")).json()
    (key,) = jwks["keys"]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA" and key["use"] == "sig"
    header = jwt.get_unverified_header(victim.tokens["access_token"])
    assert header["kid"] == key["kid"] and header["alg"] == "EdDSA"
    public_key = jwt.PyJWK(key).key
    claims = jwt.decode(victim.tokens["access_token"], public_key, algorithms=["EdDSA"], audience="aiclone")
    assert claims["typ"] == "access" and {"iss", "aud", "exp", "iat", "jti", "sub"} <= set(claims)


def test_issuer_roundtrip_and_kind_check(tmp_path):
    issuer = TokenIssuer(load_or_create_key(tmp_path / "k.pem"), "iss", "aud")
    token, _ = issuer.issue("user-1", "refresh", 60, fam="f")
    assert issuer.verify(token, "refresh").subject == "user-1"
    with pytest.raises(InvalidTokenError, match="refresh token cannot be used"):
        issuer.verify(token, "access")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert (
        load_or_create_key(tmp_path / "k.pem").public_key().public_bytes_raw()
        == issuer.public_key.public_bytes_raw()
    )
