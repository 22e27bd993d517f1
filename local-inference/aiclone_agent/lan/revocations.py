"""The LAN tokens the gateway revoked before their expiry, as it last sent them (``LanRevocations``).

Kept in a file under the data dir, so a token revoked while the gateway was reachable stays refused
after a restart of the agent with the gateway gone. Entries past their token's expiry are dropped:
the token is refused for being expired then anyway.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from pydantic import BaseModel, ValidationError

from aiclone_agent.core.config import atomic_write_text
from aiclone_wire import LanRevocations, RevokedToken

log = logging.getLogger(__name__)


class _Stored(BaseModel):
    revoked: list[RevokedToken] = []
    synced_at: float | None = None


class RevokedLanTokens:
    def __init__(self, path: Path) -> None:
        self.path = path
        stored = self._load()
        self._expiry = {entry.jti: entry.expires_at for entry in stored.revoked}
        # when the gateway last sent the list (None: never; the LAN then trusts signature and exp only)
        self.synced_at = stored.synced_at

    def _load(self) -> _Stored:
        try:
            return _Stored.model_validate_json(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return _Stored()
        except (OSError, ValidationError, ValueError) as exc:
            # never silently forget revocations: say so loudly, the next hello sends them again
            log.error(
                "LAN token revocations in %s unreadable (%s): waiting for the gateway's list", self.path, exc
            )
            return _Stored()

    def replace(self, frame: LanRevocations) -> None:
        """The gateway's whole list, stored before it is used (a crash keeps the old or the new)."""
        now = time.time()
        self._expiry = {e.jti: e.expires_at for e in frame.revoked if e.expires_at > now}
        self.synced_at = now
        stored = _Stored(
            revoked=[RevokedToken(jti=jti, expires_at=exp) for jti, exp in self._expiry.items()],
            synced_at=now,
        )
        atomic_write_text(self.path, json.dumps(stored.model_dump(), indent=1))
        log.info("LAN token revocations from the gateway: %d in force", len(self._expiry))

    def is_revoked(self, jti: str) -> bool:
        return jti in self._expiry

    def status(self) -> dict:
        now = time.time()
        return {"revoked": sum(1 for exp in self._expiry.values() if exp > now), "synced_at": self.synced_at}
