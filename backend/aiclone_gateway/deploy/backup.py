"""``python -m aiclone_gateway backup DIR`` / ``restore FILE``: the gateway's database and its JWT
signing key, copied while the gateway runs.

SQLite: SQLite's online backup API (a consistent copy while writers keep writing). PostgreSQL:
``pg_dump --format=custom`` and ``pg_restore --clean``. The signing key goes beside the dump
(mode 0600): without it every issued token would die with a restore onto a new server.
"""

from __future__ import annotations

import datetime
import glob
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from aiclone_gateway.core.config import Settings
from aiclone_wire.private_files import copy_sqlite

PREFIX = "gateway-"


class BackupError(Exception):
    """Said to the owner as it is (no traceback)."""


def _postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        raise BackupError(
            f"{name} is missing: install the PostgreSQL client (apt-get install postgresql-client)"
        )
    return candidates[-1]


def _libpq(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the password in the environment (not on ps)."""
    url = make_url(database_url).set(drivername="postgresql")
    env = {"PGPASSWORD": url.password} if url.password else {}
    return url.set(password=None).render_as_string(hide_password=False), env


def _sqlite_path(database_url: str) -> Path:
    return Path(make_url(database_url).database or "")


def backup(settings: Settings, folder: Path, keep: int = 14) -> Path:
    """Writes one backup into ``folder`` and prunes all but the ``keep`` newest; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    if settings.is_sqlite:
        source = _sqlite_path(settings.database_url)
        if not source.is_file():
            raise BackupError(f"no database at {source}: nothing to back up")
        target = folder / f"{PREFIX}{stamp}.sqlite3"
        copy_sqlite(source, target)
    else:
        target = folder / f"{PREFIX}{stamp}.pgdump"
        url, env = _libpq(settings.database_url)
        _run([_postgres_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", url], env)
    target.chmod(0o600)
    if settings.jwt_key_file and settings.jwt_key_file.is_file():
        key_copy = target.with_suffix(".jwt.pem")
        shutil.copyfile(settings.jwt_key_file, key_copy)
        key_copy.chmod(0o600)
    _prune(folder, keep)
    return target


def restore(settings: Settings, source: Path) -> None:
    """Replaces the configured database's contents (and the signing key) with a backup's."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    if source.suffix == ".sqlite3":
        if not settings.is_sqlite:
            raise BackupError("a SQLite backup cannot be restored into PostgreSQL")
        target = _sqlite_path(settings.database_url)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
            try:
                check = src.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                src.close()
            if check != "ok":
                raise BackupError(f"{source} is damaged: {check}")
            copy_sqlite(source, target)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source} is not a readable SQLite backup: {exc}") from exc
    elif source.suffix == ".pgdump":
        if settings.is_sqlite:
            raise BackupError("a PostgreSQL backup cannot be restored into SQLite")
        url, env = _libpq(settings.database_url)
        _run(
            [
                _postgres_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={url}",
                str(source),
            ],
            env,
        )
    else:
        raise BackupError(f"{source.name} is not a gateway backup (.sqlite3 or .pgdump)")
    key_copy = source.with_suffix(".jwt.pem")
    if key_copy.is_file() and settings.jwt_key_file:
        settings.jwt_key_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(key_copy, settings.jwt_key_file)
        settings.jwt_key_file.chmod(0o600)


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def _prune(folder: Path, keep: int) -> None:
    dumps = sorted(p for p in folder.glob(f"{PREFIX}*") if p.suffix in (".sqlite3", ".pgdump"))
    for old in dumps[:-keep] if keep > 0 else []:
        old.unlink()
        old.with_suffix(".jwt.pem").unlink(missing_ok=True)
