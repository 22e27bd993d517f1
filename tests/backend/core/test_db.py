"""The gateway's SQLite database: account and token hashes, readable by the gateway's user only."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from aiclone_gateway.core.db import create_engine, migrate


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
async def test_the_database_files_are_created_private(tmp_path: Path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'gateway.sqlite3'}"
    previous = os.umask(0o022)
    try:
        await asyncio.to_thread(migrate, url)  # it runs its own event loop
        engine = create_engine(url)
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE gateway_state SET registration_mode = 'invite'"))
        await engine.dispose()
    finally:
        os.umask(previous)
    files = sorted((tmp_path / "data").iterdir())
    assert "gateway.sqlite3" in {p.name for p in files}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: "0o600" for p in files}
