"""Gateway settings: typed, from the environment; default secrets refused outside development."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from aiclone_gateway.core.config import Settings


def test_defaults_are_for_development(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.environment == "development" and settings.port == 8000 and settings.host == "0.0.0.0"
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    assert settings.jwt_key_file == tmp_path / "jwt_ed25519.pem"


def test_production_refuses_the_default_or_a_short_secret(tmp_path):
    for secret in ({}, {"secret_key": "short"}):
        with pytest.raises(ValidationError, match="AICLONE_GATEWAY_SECRET_KEY"):
            Settings(data_dir=tmp_path, environment="production", **secret)
    assert (
        Settings(data_dir=tmp_path, environment="production", secret_key="x" * 40).environment == "production"
    )


def test_environment_variables_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("AICLONE_GATEWAY_PORT", "9123")
    monkeypatch.setenv("AICLONE_GATEWAY_ALLOWED_ORIGINS", '["https://clone.example.com"]')
    settings = Settings(data_dir=tmp_path)
    assert settings.port == 9123 and settings.allowed_origins == ["https://clone.example.com"]


def test_the_gateway_will_not_start_in_production_with_the_default_secret(tmp_path):
    env = {
        **os.environ,
        "AICLONE_GATEWAY_ENVIRONMENT": "production",
        "AICLONE_GATEWAY_DATA_DIR": str(tmp_path),
    }
    env.pop("AICLONE_GATEWAY_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "aiclone_gateway", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "AICLONE_GATEWAY_SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "gateway.sqlite3").exists()


def test_the_chat_socket_accepts_the_gateways_own_origin_on_any_port(tmp_path):
    on_8100 = Settings(data_dir=tmp_path, port=8100)
    assert on_8100.public_url == "http://127.0.0.1:8100"
    assert {"http://127.0.0.1:8100", "http://localhost:8100"} <= on_8100.chat_origins
    assert "http://127.0.0.1:8000" not in on_8100.chat_origins
    public = Settings(
        data_dir=tmp_path,
        public_url="https://Clone.example.com/",
        allowed_origins=["https://chat.example.com/"],
    )
    assert public.chat_origins == {"https://clone.example.com", "https://chat.example.com"}


def test_replicas_need_postgresql_and_a_redis_url(tmp_path):
    with pytest.raises(ValidationError, match="needs PostgreSQL"):
        Settings(data_dir=tmp_path, redis_url="redis://127.0.0.1:6379/0")  # SQLite cannot be shared
    with pytest.raises(ValidationError, match="must start with redis://"):
        Settings(data_dir=tmp_path, database_url="postgresql+asyncpg://u:p@h/db", redis_url="http://x")
    settings = Settings(
        data_dir=tmp_path,
        port=8002,
        database_url="postgresql+asyncpg://u:p@h/db",
        redis_url="redis://r:6379/0",
    )
    assert settings.replica_id.endswith("-8002")  # stable across restarts of this replica
