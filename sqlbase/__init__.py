"""The SQL foundation Hotline's tables are declared on: one ``MetaData``, its naming
convention and the column types every table shares.

Two packages declare tables: ``callcenter.storage.models`` (calls, agents, recordings, …)
and ``crm_bridge.models`` (the built-in CRM's customers and contact history). Each has its
own declarative base over :data:`METADATA`, so the foreign keys between them (a call's
customer, a contact's call) resolve without either package importing the other, and one
Alembic history (``callcenter/storage/migrations``) covers both.

Rules:

- Every timestamp is timezone-aware UTC in Python (:class:`UTCDateTime`);
  a naive datetime is refused when written, never guessed at.
- Every constraint has a name (:data:`NAMING_CONVENTION`), so migrations can
  refer to it on SQLite and PostgreSQL alike.

This package imports nothing else of Hotline's (``.importlinter``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeDecorator

__all__ = [
    "METADATA",
    "NAMING_CONVENTION",
    "TYPE_MAP",
    "BigId",
    "JSONType",
    "UTCDateTime",
    "discard",
    "iso_utc",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The one schema: every declarative base of Hotline uses it.
METADATA = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC on the Python side.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value
    is stored as naive UTC text and UTC is put back when it is read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: Hotline stores aware UTC timestamps only")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


#: JSON everywhere, JSONB on PostgreSQL (comparable, indexable).
JSONType = JSON().with_variant(JSONB(), "postgresql")
#: 64-bit ids for the tables that grow with traffic; SQLite needs INTEGER
#: for its rowid alias to autoincrement.
BigId = BigInteger().with_variant(Integer(), "sqlite")

#: A declarative base's ``type_annotation_map``: ``Mapped[dt.datetime]`` is UTC,
#: ``Mapped[dict[str, Any]]`` is JSON.
TYPE_MAP: dict[Any, Any] = {dt.datetime: UTCDateTime(), dict[str, Any]: JSONType}


def iso_utc(value: dt.datetime | None) -> str | None:
    """A stored time as ISO 8601 in UTC (a naive one, as a plain SQLite read hands back,
    is UTC: Hotline writes nothing else); ``None`` stays ``None``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


async def discard(conn: AsyncConnection | None) -> None:
    """Throw a kept connection away after a failure: invalidated, so it never goes back
    to the pool (its state is unknown), then closed; errors on the way are moot."""
    if conn is not None:
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()
