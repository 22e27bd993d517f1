"""``python -m aiclone_gateway backup DIR`` / ``restore FILE`` on SQLite and PostgreSQL: a backup
taken while the gateway runs, restored into a fresh database and data dir, serves the same users,
conversations, queued questions, API keys and still-valid access tokens."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.fixtures.gateways import (
    ChatUser,
    GatewayProcess,
    _new_database,  # the fresh-database helper both kinds share
    sign_up,
)


def cli(gateway: GatewayProcess, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aiclone_gateway", *args],
        env=gateway.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _snapshot(user: ChatUser) -> dict:
    conversations = (await user.http.get("/api/conversations")).json()
    full = [(await user.http.get(f"/api/conversations/{c['id']}")).json() for c in conversations]
    return {
        "me": (await user.http.get("/api/users/me")).json(),
        "conversations": full,
        "keys": (await user.http.get("/api/keys")).json(),
    }


@pytest.mark.databases
async def test_backup_restores_into_a_fresh_gateway(tmp_path: Path, fresh_database_url: str):
    source = GatewayProcess(tmp_path / "old", fresh_database_url)
    (tmp_path / "old").mkdir()
    source.start(timeout=240)  # imports aiogram: slow on a loaded machine
    try:
        owner = ChatUser(source, "owner@example.test")
        await owner.register()
        await owner.login()
        [user] = await sign_up(source, 1)
        key = (await user.http.post("/api/keys", json={"name": "script"})).json()["key"]
        for text in ("First question, asked while the PC is off.", "Второй вопрос."):
            response = await user.http.post("/api/chat/stream", json={"text": text, "client_id": text[:8]})
            assert '"type":"queued"' in response.text
        before = await _snapshot(user)
        assert len(before["conversations"]) == 2 and before["keys"]

        backups = tmp_path / "backups"
        made = cli(source, "backup", str(backups))  # while the gateway runs
        assert made.returncode == 0, made.stderr
        dump = Path(made.stdout.strip())
        assert dump.is_file() and dump.parent == backups and dump.stat().st_mode & 0o077 == 0  # noqa: ASYNC240
        assert dump.with_suffix(".jwt.pem").is_file()
    finally:
        source.stop()
        await owner.close()

    kind = "sqlite" if fresh_database_url.startswith("sqlite") else "postgresql"
    async for fresh_url in _new_database(kind, tmp_path):
        (tmp_path / "new").mkdir()
        target = GatewayProcess(tmp_path / "new", fresh_url)
        restored = cli(target, "restore", str(dump))
        assert restored.returncode == 0, restored.stderr
        target.start(timeout=240)
        try:
            user.gateway = target
            old_token = user.http.headers["Authorization"]
            await user.http.aclose()
            user.http = httpx.AsyncClient(
                base_url=target.url, timeout=60, headers={"Authorization": old_token}
            )
            assert await _snapshot(user) == before  # the old access token still works: same signing key
            await user.login()  # and so does the password
            models = await httpx.AsyncClient(base_url=target.url).get(
                "/v1/models", headers={"Authorization": f"Bearer {key}"}
            )
            assert models.status_code != 401, models.text
        finally:
            target.stop()
            await user.close()


async def test_bad_backup_paths_are_refused_clearly(tmp_path: Path):
    gateway = GatewayProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}")
    missing = cli(gateway, "restore", str(tmp_path / "nope.sqlite3"))
    assert missing.returncode == 1 and "no backup at" in missing.stderr
    (tmp_path / "notes.txt").write_text("hello")
    wrong = cli(gateway, "restore", str(tmp_path / "notes.txt"))
    assert wrong.returncode == 1 and "is not a gateway backup" in wrong.stderr
    damaged = tmp_path / "gateway-x.sqlite3"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    broken = cli(gateway, "restore", str(damaged))
    assert broken.returncode == 1 and "failed" in broken.stderr
    nothing = cli(gateway, "backup")
    assert nothing.returncode == 2 and "needs a path" in nothing.stderr
