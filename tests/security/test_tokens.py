"""Forged and bent access tokens (RFC 8725, OWASP ASVS V9) sent to a real gateway process.

Each attack is one token built by hand; the gateway must answer 401 with its one error shape.
The gateway's own signing key (read from its data dir, as an insider would) signs the tokens
whose signature is genuine, so only the claim or header under test is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from aiclone_gateway.core.tokens import key_id, load_or_create_key
from tests.support.fixtures.gateways import ChatUser

LEEWAY_S = 30  # the gateway's default AICLONE_GATEWAY_JWT_LEEWAY_S


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(data: dict) -> str:
    return _b64(json.dumps(data).encode())


class Forger:
    """Builds tokens for one user of one gateway, with its real key or another."""

    def __init__(self, key: Ed25519PrivateKey, user_id: str) -> None:
        self.key = key
        self.kid = key_id(key.public_key())
        self.user_id = user_id

    def claims(self, **changes: object) -> dict:
        now = int(time.time())
        claims: dict = {
            "iss": "aiclone-gateway",
            "aud": "aiclone",
            "sub": self.user_id,
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "jti": "forged-1",
            "typ": "access",
            "role": "owner",
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def sign(self, claims: dict | None = None, **header: object) -> str:
        return jwt.encode(
            claims or self.claims(), self.key, algorithm="EdDSA", headers={"kid": self.kid, **header}
        )

    def unsigned(self, alg: str) -> str:
        return f"{_json({'alg': alg, 'typ': 'JWT', 'kid': self.kid})}.{_json(self.claims())}."

    def raw(self, header: dict, claims: dict, signature: bytes) -> str:
        return f"{_json(header)}.{_json(claims)}.{_b64(signature)}"


@pytest.fixture
async def victim(users: list[ChatUser]) -> ChatUser:
    return users[1]


@pytest.fixture
async def forger(victim: ChatUser) -> Forger:
    me = await victim.http.get("/api/users/me")
    return Forger(load_or_create_key(victim.gateway.key_file), me.json()["id"])


async def _refused(user: ChatUser, token: str) -> None:
    async with httpx.AsyncClient(base_url=user.gateway.url, timeout=30) as http:
        response = await http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["type"] == "authentication_error"
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def _accepted(user: ChatUser, token: str) -> dict:
    async with httpx.AsyncClient(base_url=user.gateway.url, timeout=30) as http:
        response = await http.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_token_signed_by_the_forger_with_the_real_key_is_accepted(victim: ChatUser, forger: Forger):
    """The control: the forger's tokens differ from a genuine one only in the part under test."""
    assert (await _accepted(victim, forger.sign()))["id"] == forger.user_id


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "", "EdDSA "])
async def test_alg_none_and_its_spellings(victim: ChatUser, forger: Forger, alg: str):
    await _refused(victim, forger.unsigned(alg))


async def test_hs256_signed_with_the_public_key(victim: ChatUser, forger: Forger):
    public_key = forger.key.public_key()
    secrets = [
        public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        public_key.public_bytes_raw(),
        json.dumps(OKPAlgorithm.to_jwk(public_key, as_dict=True)).encode(),
    ]
    for secret in secrets:
        header = {"alg": "HS256", "typ": "JWT", "kid": forger.kid}
        signing_input = f"{_json(header)}.{_json(forger.claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        await _refused(victim, f"{signing_input}.{_b64(mac)}")


async def test_stripped_signature(victim: ChatUser, forger: Forger):
    genuine = forger.sign()
    head, body, _ = genuine.split(".")
    await _refused(victim, f"{head}.{body}.")
    await _refused(victim, f"{head}.{body}")
    # a genuine signature moved onto other claims
    other_body = _json(forger.claims(sub="someone-else"))
    await _refused(victim, f"{head}.{other_body}.{genuine.split('.')[2]}")


async def test_wrong_curve(victim: ChatUser, forger: Forger):
    """EdDSA covers Ed448 too; a token signed with an Ed448 key under our kid is not ours."""
    ed448 = Ed448PrivateKey.generate()
    header = {"alg": "EdDSA", "typ": "JWT", "kid": forger.kid, "crv": "Ed448"}
    signing_input = f"{_json(header)}.{_json(forger.claims())}"
    await _refused(victim, f"{signing_input}.{_b64(ed448.sign(signing_input.encode()))}")


@pytest.mark.parametrize(
    "kid",
    ["../../../../etc/passwd", "/dev/null", "' OR '1'='1", "x'; DROP TABLE users; --", "", "\x00"],
)
async def test_kid_with_path_or_sql_characters(victim: ChatUser, forger: Forger, kid: str):
    stranger = Ed25519PrivateKey.generate()
    await _refused(victim, jwt.encode(forger.claims(), stranger, algorithm="EdDSA", headers={"kid": kid}))


async def test_injected_jku_jwk_x5u(victim: ChatUser, forger: Forger):
    """The token names its own key; the gateway must trust only its own."""
    stranger = Ed25519PrivateKey.generate()
    their_jwk = {**OKPAlgorithm.to_jwk(stranger.public_key(), as_dict=True), "kid": "theirs"}
    for header in (
        {"jku": "http://127.0.0.1:9/jwks.json", "kid": "theirs"},
        {"jwk": their_jwk, "kid": "theirs"},
        {"x5u": "http://127.0.0.1:9/cert.pem", "kid": "theirs"},
        {"jwk": their_jwk, "kid": forger.kid},
    ):
        await _refused(victim, jwt.encode(forger.claims(), stranger, algorithm="EdDSA", headers=header))


def _at(offset_s: int) -> int:
    return int(time.time()) + offset_s


@pytest.mark.parametrize(
    ("case", "changes", "accepted"),
    [
        ("expired within leeway", lambda: {"exp": _at(-LEEWAY_S // 3)}, True),
        ("expired beyond leeway", lambda: {"exp": _at(-3 * LEEWAY_S)}, False),
        ("not yet valid within leeway", lambda: {"nbf": _at(LEEWAY_S // 3)}, True),
        ("not yet valid beyond leeway", lambda: {"nbf": _at(3 * LEEWAY_S)}, False),
        ("no exp", lambda: {"exp": None}, False),
        ("no nbf", lambda: {"nbf": None}, False),
    ],
)
async def test_expiry_and_not_before_around_the_clock_skew_leeway(
    victim: ChatUser, forger: Forger, case: str, changes: Callable[[], dict], accepted: bool
):
    token = forger.sign(forger.claims(**changes()))
    if accepted:
        await _accepted(victim, token)
    else:
        await _refused(victim, token)


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example"},
        {"iss": None},
        {"aud": "someone-else"},
        {"aud": ["someone-else"]},
        {"aud": None},
        {"typ": "refresh"},
        {"typ": "Access"},
        {"typ": None},
        {"sub": "0" * 32},
    ],
    ids=[
        "wrong iss",
        "no iss",
        "wrong aud",
        "wrong aud list",
        "no aud",
        "typ refresh",
        "typ spelled",
        "no typ",
        "unknown sub",
    ],
)
async def test_wrong_iss_aud_typ_sub(victim: ChatUser, forger: Forger, changes: dict):
    await _refused(victim, forger.sign(forger.claims(**changes)))


async def test_wrong_header_typ(victim: ChatUser, forger: Forger):
    await _refused(victim, forger.sign(typ="at+jwt+refresh"))


async def test_refresh_token_used_as_access_token(victim: ChatUser):
    await _refused(victim, victim.tokens["refresh_token"])


async def test_access_token_used_as_refresh_token(victim: ChatUser):
    response = await victim.http.post(
        "/api/auth/refresh", json={"refresh_token": victim.tokens["access_token"]}
    )
    assert response.status_code == 401
    assert "access token cannot be used as a refresh token" in response.json()["error"]["message"]
