"""Shared fixtures.

``db_url``: every test that takes it runs twice, on a fresh SQLite file and
on a fresh PostgreSQL database. The PostgreSQL database is created for the
one test (``hotline_test_<pid>_<random>``) on the server named by
``HOTLINE_TEST_PG`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
used only to issue CREATE/DROP DATABASE) and dropped afterwards; nothing in
any other database is touched. When no server answers, the PostgreSQL half
is skipped with the reason; the first failure is remembered for the session
so later tests skip at once.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from .redis_support import PrivateRedis

PG_ADMIN_DSN = os.environ.get("HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def _postgres_probe() -> dict[str, str]:
    """Holds the reason PostgreSQL is unusable, once a test has found one."""
    return {}


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, _postgres_probe: dict[str, str]
) -> AsyncIterator[str]:
    """A SQLAlchemy async URL of an empty database (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
        return

    admin_url = make_url(PG_ADMIN_DSN)
    where = f"{admin_url.host or 'localhost'}:{admin_url.port or 5432}"
    if "error" in _postgres_probe:
        pytest.skip(f"PostgreSQL not reachable at {where}: {_postgres_probe['error']}")
    name = f"hotline_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        _postgres_probe["error"] = f"{type(exc).__name__}: {exc}"
        pytest.skip(f"PostgreSQL not reachable at {where}: {_postgres_probe['error']}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield admin_url.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server on a free port of its own (``tests/redis_support.py``)."""
    from .redis_support import PrivateRedis

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is missing (apt-get install -y redis-server)")
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
