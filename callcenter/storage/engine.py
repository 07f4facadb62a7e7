"""Engines, sessions and migrations: how the shell opens its database.

SQLite (aiosqlite) is the zero-set-up default; PostgreSQL (asyncpg) is the
production store. Both get the same behaviour from :func:`make_engine`:
foreign keys enforced, and on SQLite a real ``BEGIN`` at the start of every
transaction (the pysqlite driver otherwise defers it to the first write,
which breaks read-then-write transactions and SAVEPOINTs; recipe from
SQLAlchemy's SQLite dialect docs, "Serializable isolation / Savepoints"),
except on a connection set to ``isolation_level="AUTOCOMMIT"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = [
    "DEFAULT_URL",
    "WRITE_TRANSACTION",
    "alembic_config",
    "make_engine",
    "make_session_factory",
    "migrate",
]

#: Relative to the working directory; ``var/`` is created on first use.
DEFAULT_URL = "sqlite+aiosqlite:///var/hotline.db"

_MIGRATIONS = Path(__file__).with_name("migrations")

#: Execution options for a transaction that will write. On SQLite it begins
#: with ``BEGIN IMMEDIATE``: the write lock is taken up front, where
#: ``busy_timeout`` waits for it, instead of a read-then-write transaction
#: failing at once with SQLITE_BUSY when another connection wrote meanwhile.
#: PostgreSQL ignores it.
WRITE_TRANSACTION = {"sqlite_begin": "IMMEDIATE"}


def make_engine(url: str = DEFAULT_URL, **kwargs: Any) -> AsyncEngine:
    """Create the async engine for ``url`` with Hotline's connection settings.

    For a SQLite file the parent directory is created. Extra keyword
    arguments go to :func:`sqlalchemy.ext.asyncio.create_async_engine`.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_async_engine(parsed, **kwargs)

    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, **kwargs)
    _sqlite_settings(engine)
    return engine


def _sqlite_settings(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement its own transaction (the CRM's lookups)
        connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (no lazy reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str = DEFAULT_URL) -> Config:
    """An Alembic configuration for the packaged migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(url: str = DEFAULT_URL, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision`` (the latest by default).

    Runs Alembic programmatically on one connection of a short-lived engine,
    so it works the same for ``sqlite+aiosqlite`` and ``postgresql+asyncpg``.
    """
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, alembic_config(url), revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config, revision: str) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
