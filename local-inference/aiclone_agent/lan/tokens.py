"""The offline check of a LAN token: signed by our gateway (cached JWKS), not expired, issued by it,
meant for the LAN (``aud``, ``typ``) and not revoked (``RevokedLanTokens``)."""

from __future__ import annotations

from dataclasses import dataclass

from aiclone_agent.gateway.jwks import GatewayTokenError, JwksCache
from aiclone_agent.lan.revocations import RevokedLanTokens
from aiclone_wire import LAN_TOKEN_AUDIENCE, LAN_TOKEN_TYPE
from aiclone_wire.errors import Problem, ProblemError


class LanTokenRefusedError(ProblemError):
    """No token, or one the LAN listener does not accept; the message says why."""

    def problem(self) -> Problem:
        return Problem(401, f"LAN token refused: {self}", "invalid_lan_token")


@dataclass(frozen=True)
class LanUser:
    id: str  # the gateway's user id (the token's ``sub``)
    name: str
    role: str
    token_id: str
    expires_at: float


class LanTokens:
    def __init__(self, jwks: JwksCache, revoked: RevokedLanTokens) -> None:
        self.jwks = jwks
        self.revoked = revoked

    def user(self, authorization: str | None) -> LanUser:
        """The user of an ``Authorization: Bearer <LAN token>`` header."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise LanTokenRefusedError(
                "a LAN token is required: send 'Authorization: Bearer <token>' (take one in the public "
                "chat under 'Use at home')"
            )
        try:
            claims = self.jwks.verify(token.strip(), audience=LAN_TOKEN_AUDIENCE, typ=LAN_TOKEN_TYPE)
        except GatewayTokenError as exc:
            raise LanTokenRefusedError(str(exc)) from exc
        if self.revoked.is_revoked(claims["jti"]):
            raise LanTokenRefusedError("token revoked")
        name = claims.get("name")
        return LanUser(
            id=str(claims["sub"]),
            name=name if isinstance(name, str) and name.strip() else str(claims["sub"]),
            role=str(claims.get("role", "user")),
            token_id=str(claims["jti"]),
            expires_at=float(claims["exp"]),
        )
