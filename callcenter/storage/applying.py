"""What a :class:`~callcenter.storage.writer.StoreWriter` round does in the database,
beside the writer's thread: a journaled write on its way (read back from the journal
when it is no longer in memory), one write applied under a SAVEPOINT to find which
one of a batch is refused, the code a refused write is set aside under, and the
journal mark (how far the journal has been applied), read and upserted in the
round's own transaction so that a replay after a crash skips what is there."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.errors import StorageError, is_refusal
from callcenter.storage.journal import PendingEntry
from callcenter.storage.models import JournalMark
from callcenter.storage.writes import WriteRequest, apply_batch, decode_request


@dataclass(slots=True)
class _Entry:
    """A journaled write on its way: the request, or why it could not be read back."""

    seq: int
    at: float
    payload: str
    request: WriteRequest | None
    error: str | None = None


def _read_back(e: PendingEntry) -> _Entry:
    try:
        return _Entry(e.seq, e.at, e.payload, decode_request(e.payload))
    except ValueError as exc:
        return _Entry(e.seq, e.at, e.payload, None, str(exc))


async def _apply_one(conn: AsyncConnection, e: _Entry) -> list[StorageError | Exception]:
    assert e.request is not None
    try:
        async with conn.begin_nested():
            return [err for _, err in await apply_batch(conn, [e.request])]
    except Exception as exc:
        if is_refusal(exc):
            return [exc]
        raise


def _code(err: Exception) -> str:
    if isinstance(err, StorageError):
        return err.code
    if isinstance(err, DBAPIError):
        return "constraint"
    return "bad_write"


async def _read_mark(conn: AsyncConnection, journal_id: str) -> int:
    mark = await conn.scalar(
        select(JournalMark.applied_seq).where(JournalMark.journal_id == journal_id)
    )
    return int(mark or 0)


async def _write_mark(conn: AsyncConnection, journal_id: str, seq: int) -> None:
    params = {"journal_id": journal_id, "applied_seq": seq, "updated_at": _utcnow()}
    await conn.execute(_mark_upsert(conn.dialect.name), params)


@cache
def _mark_upsert(dialect: str) -> Any:
    """The journal mark's upsert, built once per dialect (it runs every round)."""
    table: Any = JournalMark.__table__
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.journal_id],
        set_={"applied_seq": stmt.excluded.applied_seq, "updated_at": stmt.excluded.updated_at},
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
