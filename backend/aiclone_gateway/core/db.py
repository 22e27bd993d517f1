"""Database engine, sessions and migrations (Alembic, applied at start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from aiclone_wire.private_files import private_file

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def create_engine(database_url: str) -> AsyncEngine:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _private_sqlite_file(url.database)
        engine = create_async_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(connection, _record) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _private_sqlite_file(database: str | None) -> None:
    """The database file exists with mode 0600 before SQLite opens it: it holds password and token
    hashes, and whoever reads it can sign in nowhere but learns every account."""
    if database and database != ":memory:" and not database.startswith("file:"):
        private_file(Path(database))


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def migrate(database_url: str) -> None:
    """Bring the schema to the newest revision (blocking; runs its own event loop)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        _private_sqlite_file(url.database)
    command.upgrade(alembic_config(database_url), "head")
