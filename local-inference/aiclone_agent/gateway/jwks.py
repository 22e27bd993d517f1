"""The gateway's public keys (JWKS) and token issuer, cached under the data dir so they survive
being offline, and the offline check of a token the gateway signed (``verify``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt

from aiclone_agent.core.config import atomic_write_text

ALGORITHM = "EdDSA"


class GatewayTokenError(Exception):
    """The token is malformed, forged, expired, or not meant for this use; the message says which."""


class JwksCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, jwks: dict[str, Any], issuer: str | None = None) -> None:
        if not isinstance(jwks.get("keys"), list):
            raise ValueError("a JWKS needs a 'keys' list")
        stored = {**jwks, "issuer": issuer} if issuer else jwks
        if self.load() != stored:
            atomic_write_text(self.path, json.dumps(stored, indent=2, sort_keys=True))

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def verify(self, token: str, audience: str, typ: str) -> dict[str, Any]:
        """Claims of a gateway-signed EdDSA JWT: signature (cached key by ``kid``), exp, iss, aud, typ."""
        cached = self.load()
        if not cached or not cached.get("issuer"):
            raise GatewayTokenError("no gateway keys cached yet: link to the gateway once")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise GatewayTokenError("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise GatewayTokenError(f"algorithm {header.get('alg')!r} is not accepted")
        jwk = next((key for key in cached["keys"] if key.get("kid") == header.get("kid")), None)
        if jwk is None:
            raise GatewayTokenError("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                jwt.PyJWK(jwk, ALGORITHM).key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=cached["issuer"],
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise GatewayTokenError("token expired") from exc
        except jwt.PyJWTError as exc:
            raise GatewayTokenError(f"invalid token: {exc}") from exc
        if claims["typ"] != typ:
            raise GatewayTokenError(f"a {claims['typ']} token cannot be used as a {typ} token")
        return claims
