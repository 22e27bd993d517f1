"""The one-time setup code that lets the first account own a production gateway.

Certificate-transparency logs show a new domain to the whole internet within minutes, so a fresh
gateway must not belong to whoever signs up first. In production the gateway writes a random code
into ``owner-setup-code`` in its data folder (mode 0600) and prints it at start while it has no
owner; ``scripts/deploy_vds.sh`` shows it too. The first sign-up must carry it. The code is spent
with the owner's creation: the owner is claimed atomically in the database (one owner, ever), and
once there is one the code opens nothing, so the file is deleted as housekeeping.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from pathlib import Path

from aiclone_gateway.core.errors import ApiError
from aiclone_wire.private_files import write_private_once

FILE_NAME = "owner-setup-code"
log = logging.getLogger(__name__)


class OwnerSetupCode:
    def __init__(self, path: Path, required: bool) -> None:
        self.path = path
        # Production only: a development gateway on 127.0.0.1 (and the tests) is set up without it.
        self.required = required

    def issue(self) -> str:
        """The code now in force, created on first use (every replica on this host shares it)."""
        write_private_once(self.path, secrets.token_urlsafe(18) + "\n")
        return self.path.read_text(encoding="utf-8").strip()

    def check(self, code: str | None) -> None:
        """Raises the 403 a first sign-up without the right code gets."""
        if not self.required:
            return
        try:
            expected = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            expected = ""
        if code and expected and hmac.compare_digest(code.strip().encode(), expected.encode()):
            return
        raise ApiError(
            403,
            "this gateway has no owner yet: the first account needs the one-time setup code. The "
            "gateway prints it in its log at start (journalctl -u 'aiclone-gateway@*'), "
            f"scripts/deploy_vds.sh shows it, and it is kept in {self.path}; or create the owner on "
            "the server: python -m aiclone_gateway create-owner --email you@example.org",
            code="setup_code_required",
            param="setup_code",
        )

    def spent(self) -> None:
        """The owner exists: the code opens nothing any more."""
        self.path.unlink(missing_ok=True)

    def announce(self) -> None:
        """At start, while nobody owns the gateway: the code in the log, where the owner looks."""
        if self.required:
            log.warning(
                "This gateway has no owner yet. The first account needs the one-time setup code %s "
                "(kept in %s until the owner signs up).",
                self.issue(),
                self.path,
            )
