"""Versioned SQLite schemas: ``PRAGMA user_version`` counts the migrations a store has run.

Each store lists its migrations in order, each a sequence of SQL statements; opening a store runs
the ones it has not run yet, each in its own transaction together with the version bump, so a crash
mid-upgrade leaves the previous version intact. Migration 1 is the first schema, written with
``IF NOT EXISTS`` so stores created before versioning (``user_version`` 0) are adopted as they
are. A store written by a newer release is refused rather than used half-understood.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

Migration = Sequence[str]


class SchemaTooNewError(RuntimeError):
    """The store was written by a newer release; a downgrade would misread or lose data."""


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration], path: Path) -> int:
    """Bring ``db`` (opened with ``isolation_level=None``) to ``len(migrations)``; the version it had."""
    before = int(db.execute("PRAGMA user_version").fetchone()[0])
    if before > len(migrations):
        raise SchemaTooNewError(
            f"{path.name} has schema version {before}, this release knows {len(migrations)}: "
            "it was written by a newer AI Clone; upgrade (or restore a backup made by this release)"
        )
    for version in range(before + 1, len(migrations) + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in migrations[version - 1]:
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return before
