"""A production gateway belongs to whoever brings its one-time setup code, not to the first
stranger who signs up (certificate-transparency logs show a new domain within minutes)."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aiclone_gateway.auth.owner_setup import FILE_NAME
from tests.support.fixtures.gateways import ChatUser, GatewayProcess

PRODUCTION = {"environment": "production", "secret_key": "s" * 48}
LOGGED_CODE = re.compile(r"the one-time setup code (\S+) ")


def _logged_code(gateway: GatewayProcess) -> str:
    found = LOGGED_CODE.findall(gateway.log.read_text())
    assert found, gateway.log.read_text()[-2000:]
    return found[-1]


@pytest.mark.databases  # the one-owner claim is a database race
async def test_a_stranger_cannot_claim_a_fresh_production_gateway(tmp_path: Path, fresh_database_url: str):
    gateway = GatewayProcess(tmp_path, fresh_database_url, **PRODUCTION).start()
    try:
        code = _logged_code(gateway)
        code_file = gateway.data_dir / FILE_NAME
        assert code_file.read_text().strip() == code
        assert stat.S_IMODE(code_file.stat().st_mode) == 0o600
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as http:
            info = (await http.get("/api/auth/registration")).json()
            assert info["needs_owner"] and info["needs_setup_code"]
            body = {"email": "stranger@example.test", "password": "long enough"}
            for attempt in (body, {**body, "setup_code": "guessed-" + code[8:]}):
                refused = await http.post("/api/auth/register", json=attempt)
                assert refused.status_code == 403
                error = refused.json()["error"]
                assert error["code"] == "setup_code_required" and error["param"] == "setup_code"
                assert str(code_file) in error["message"] and "log" in error["message"]
            assert (await http.get("/api/auth/registration")).json()["needs_owner"]  # nothing created

        # several people bring the code at once: exactly one owner, the rest ordinary users
        racers = [ChatUser(gateway, f"racer{i}@example.test") for i in range(4)]
        created = await asyncio.gather(*(u.register(setup_code=code) for u in racers))
        assert sorted(c["role"] for c in created) == ["owner"] + ["user"] * 3
        assert not code_file.exists()  # spent
        late = ChatUser(gateway, "late@example.test")
        assert (await late.register(setup_code=code))["role"] == "user"
        info = (await late.http.get("/api/auth/registration")).json()
        assert not info["needs_owner"] and not info["needs_setup_code"]
        for user in (*racers, late):
            await user.close()
    finally:
        gateway.stop()


def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AICLONE_GATEWAY_ENVIRONMENT": "production",
        "AICLONE_GATEWAY_SECRET_KEY": PRODUCTION["secret_key"],
        "AICLONE_GATEWAY_DATA_DIR": str(data_dir),
    }
    env.pop("AICLONE_GATEWAY_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "aiclone_gateway", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_the_owner_is_made_on_the_server_or_the_code_shown_there(tmp_path: Path):
    first = _cli(tmp_path, "setup-code")
    assert first.returncode == 0, first.stderr
    code = first.stdout.strip()
    assert len(code) >= 20 and (tmp_path / FILE_NAME).read_text().strip() == code
    assert _cli(tmp_path, "setup-code").stdout.strip() == code  # the same until it is used

    made = _cli(tmp_path, "create-owner", "--email", "Owner@Example.test", stdin="long enough\n")
    assert made.returncode == 0, made.stderr
    assert "owner owner@example.test created" in made.stdout
    assert not (tmp_path / FILE_NAME).exists()
    again = _cli(tmp_path, "create-owner", "--email", "second@example.test", stdin="long enough\n")
    assert again.returncode == 1 and "first account" in again.stderr
    after = _cli(tmp_path, "setup-code")
    assert after.returncode == 0 and after.stdout == "" and "has its owner" in after.stderr
