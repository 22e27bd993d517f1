"""Signed tokens: EdDSA (Ed25519) JWTs, the algorithm pinned, the key named by ``kid``.

Access tokens (``typ`` "access", short) authorize API calls; refresh tokens (``typ`` "refresh")
only buy new pairs at /api/auth/refresh and are tracked in the database for rotation. The
public keys are published as a JWKS so the agent can verify tokens offline: the gateway's proof on
its direct listener (``issue_direct``) and the users' LAN tokens (``issue_lan``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt.algorithms import OKPAlgorithm

from aiclone_wire import DIRECT_TOKEN_TYPE, LAN_TOKEN_AUDIENCE, LAN_TOKEN_TYPE

ALGORITHM = "EdDSA"
TokenType = Literal["access", "refresh"]


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong kind; the message says which."""


@dataclass(frozen=True)
class TokenClaims:
    subject: str
    jti: str
    typ: TokenType
    expires_at: float
    claims: dict[str, Any]


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of the key's JWK."""
    jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


class TokenIssuer:
    def __init__(
        self, private_key: Ed25519PrivateKey, issuer: str, audience: str, leeway_s: float = 0
    ) -> None:
        self._private_key = private_key
        self.leeway_s = leeway_s  # clock skew forgiven on exp and nbf (RFC 8725 3.10)
        self.public_key = private_key.public_key()
        self.kid = key_id(self.public_key)
        self.issuer = issuer
        self.audience = audience
        self._public_keys = {self.kid: self.public_key}

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, public_key in self._public_keys.items():
            jwk = OKPAlgorithm.to_jwk(public_key, as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}

    def issue(
        self,
        subject: str,
        typ: TokenType,
        ttl_s: int,
        jti: str | None = None,
        issued_at: int | None = None,
        **extra: Any,
    ) -> tuple[str, TokenClaims]:
        """Sign a token. The same subject, jti, issued_at and claims sign to the same token
        (Ed25519 is deterministic), which lets a refresh retried within its grace window receive
        the successor the first try was given."""
        now = int(time.time()) if issued_at is None else issued_at
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": jti or uuid.uuid4().hex,
            "typ": typ,
            **extra,
        }
        token = jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token, TokenClaims(subject, claims["jti"], typ, claims["exp"], claims)

    def verify(self, token: str, typ: TokenType) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidTokenError("malformed token") from exc
        if header.get("alg") != ALGORITHM:  # exact spelling: "none", "None", "NONE", "HS256" all refused
            raise InvalidTokenError(f"algorithm {header.get('alg')!r} is not accepted")
        public_key = self._public_keys.get(header.get("kid", ""))
        if public_key is None:
            raise InvalidTokenError("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(f"invalid token: {exc}") from exc
        if header.get("typ", "JWT") != "JWT":
            raise InvalidTokenError(f"token type {header.get('typ')!r} is not accepted")
        if claims["typ"] != typ:
            raise InvalidTokenError(f"a {claims['typ']} token cannot be used as a {typ} token")
        return TokenClaims(claims["sub"], claims["jti"], typ, float(claims["exp"]), claims)

    def issue_direct(self, agent_id: str, ttl_s: int, nonce: str) -> str:
        """The gateway's proof on an agent's direct listener: ``aud`` = that agent's id, ``typ``
        ``agent-direct``, ``nonce`` = the challenge that listener sent on this socket (so the token
        opens no other); the agent checks it with the JWKS it cached from our relay hello."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": agent_id,
            "sub": "gateway",
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
            "typ": DIRECT_TOKEN_TYPE,
            "nonce": nonce,
        }
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def issue_lan(self, user_id: str, name: str, role: str, jti: str, issued_at: int, expires_at: int) -> str:
        """A user's pass for the agent's LAN listener: ``aud`` ``LAN_TOKEN_AUDIENCE``, ``typ``
        ``lan``; the agent checks it offline against our JWKS and the revocations we sent it."""
        claims = {
            "iss": self.issuer,
            "aud": LAN_TOKEN_AUDIENCE,
            "sub": user_id,
            "name": name,
            "role": role,
            "iat": issued_at,
            "nbf": issued_at,
            "exp": expires_at,
            "jti": jti,
            "typ": LAN_TOKEN_TYPE,
        }
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})
