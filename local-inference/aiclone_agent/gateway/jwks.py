"""The gateway's public keys (JWKS), cached under the data dir so they survive being offline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiclone_agent.core.config import atomic_write_text


class JwksCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, jwks: dict[str, Any]) -> None:
        if not isinstance(jwks.get("keys"), list):
            raise ValueError("a JWKS needs a 'keys' list")
        if self.load() != jwks:
            atomic_write_text(self.path, json.dumps(jwks, indent=2, sort_keys=True))

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
