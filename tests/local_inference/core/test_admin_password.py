"""The admin password: set with the CLI, stored only as a scrypt hash, a damaged hash refused at startup."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aiclone_agent.core.admin_password import hash_password, verify_password
from aiclone_agent.core.config import ConfigError, ConfigStore


def set_password(config: Path, *args: str, password: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "AICLONE_CONFIG": str(config), "AICLONE_DATA_DIR": str(config.parent / "data")}
    return subprocess.run(
        [sys.executable, "-m", "aiclone_agent", "admin-password", *args],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_stores_a_hash_that_checks_the_password_and_can_clear_it(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    done = set_password(config, "--stdin", password="correct horse battery")
    assert done.returncode == 0, done.stderr
    stored = yaml.safe_load(config.read_text())["admin_panel"]["password_hash"]
    assert "correct horse" not in config.read_text()
    assert verify_password("correct horse battery", stored) and not verify_password("correct horse", stored)
    assert ConfigStore(config).current.admin_panel.password_hash == stored

    cleared = set_password(config, "--clear")
    assert cleared.returncode == 0, cleared.stderr
    assert yaml.safe_load(config.read_text())["admin_panel"]["password_hash"] == ""


def test_a_short_password_is_refused(tmp_path: Path) -> None:
    done = set_password(tmp_path / "config.yaml", "--stdin", password="short")
    assert done.returncode == 2 and "at least 8 characters" in done.stderr
    assert not (tmp_path / "config.yaml").exists()


@pytest.mark.parametrize("value", ["hunter22", "scrypt$16384$8$1$AAAA", "scrypt$3$8$1$AAAA$" + "A" * 44])
def test_a_password_hash_this_agent_did_not_write_stops_startup(tmp_path: Path, value: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"admin_panel": {"password_hash": value}}))
    with pytest.raises(ConfigError, match="password_hash"):
        ConfigStore(config)


def test_two_hashes_of_one_password_differ() -> None:
    assert hash_password("correct horse battery") != hash_password("correct horse battery")
