"""StoreWriter over real databases: batching, flush, and what happens to bad writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from callcenter.storage import (
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    Store,
    StoreWriter,
    WriterClosed,
    call_key,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.models import CallEvent, Interaction

T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield Store(make_session_factory(engine))
    await engine.dispose()


async def count_events(store: Store) -> int:
    async with store.sessions() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(CallEvent)) or 0


def started(n: int) -> RecordCallStarted:
    return RecordCallStarted(call_key("pbx1", f"17000.{n}"), f"17000.{n}", "pbx1", T0)


async def test_thousand_writes_are_batched_and_flush_makes_them_visible(store: Store) -> None:
    batches: list[int] = []
    writer = StoreWriter(store, max_batch=400)
    write_batch = writer._write_batch

    async def counting(batch: list) -> None:  # type: ignore[type-arg]
        batches.append(len(batch))
        await write_batch(batch)

    writer._write_batch = counting  # type: ignore[method-assign]
    async with writer:
        for n in range(10):
            assert writer.submit(started(n))
        for i in range(990):
            event = RecordCallEvent(
                call_key("pbx1", f"17000.{i % 10}"),
                T0 + dt.timedelta(milliseconds=i),
                "ivr_digit",
                {"digit": str(i % 10)},
            )
            assert writer.submit(event)
        assert writer.pending == 1000  # submit() never waited on the database
        await writer.flush()
        assert writer.pending == 0
        assert await count_events(store) == 990
    assert (writer.applied, writer.lost, writer.rejected) == (1000, 0, 0)
    assert sum(batches) == 1000
    assert max(batches) <= 400
    assert len(batches) >= 3


async def test_bad_write_costs_only_itself(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    orphan = RecordCallEvent("pbx1/never-started", T0, "ivr_digit", {"digit": "9"})
    async with StoreWriter(store, retry_delay_s=0) as writer:
        writer.submit(started(1))
        writer.submit(RecordCallEvent(started(1).call_id, T0, "queued"))
        writer.submit(orphan)  # violates the foreign key: fails the batch twice
        writer.submit(RecordCallEvent(started(1).call_id, T0, "answered"))
        writer.submit(RecordCallUpdate("pbx1/never-started", queue="support"))
        with caplog.at_level(logging.WARNING, logger="callcenter.storage.writer"):
            await writer.flush()
    assert await count_events(store) == 2
    assert (writer.applied, writer.lost) == (3, 2)
    lost = [r.getMessage() for r in caplog.records if "LOST" in r.getMessage()]
    assert any(repr(orphan) in message for message in lost)
    assert any("never-started" in message and "unknown_call" in message for message in lost)
    assert any("retrying once" in r.getMessage() for r in caplog.records)


async def test_duplicate_outcome_is_skipped_and_logged(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    call_id = started(1).call_id
    async with StoreWriter(store) as writer:
        writer.submit(started(1))
        writer.submit(RecordOutcome(call_id, "support", "answered", 3.0, T0))
        writer.submit(RecordOutcome(call_id, "support", "abandoned", 9.0, T0))
        with caplog.at_level(logging.WARNING, logger="callcenter.storage.writer"):
            await writer.flush()
    assert (writer.applied, writer.rejected, writer.lost) == (2, 1, 0)
    assert await store.count_outcomes() == {"answered": 1}
    assert any("duplicate outcome" in r.getMessage() for r in caplog.records)


async def test_close_writes_everything_then_refuses(store: Store) -> None:
    writer = StoreWriter(store)
    writer.start()
    writer.submit(started(1))
    writer.submit(RecordCallEvent(started(1).call_id, T0, "queued"))
    await writer.close()
    assert await count_events(store) == 1
    with pytest.raises(WriterClosed):
        writer.submit(started(2))
    await writer.close()  # idempotent


async def test_overload_is_logged_not_silent(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    writer = StoreWriter(store, max_pending=2)  # not started: nothing drains
    with caplog.at_level(logging.ERROR, logger="callcenter.storage.writer"):
        assert writer.submit(started(1)) and writer.submit(started(2))
        assert not writer.submit(started(3))
        await writer.close()
    assert writer.lost == 3
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "store writer LOST 1 write(s)",
        "store writer LOST 2 write(s)",
    ]


async def test_direct_writes_alongside_the_writer(store: Store) -> None:
    # SQLite: read-then-write transactions used to fail with "database is
    # locked" when the writer committed in between; they now begin IMMEDIATE.
    call_id = started(1).call_id
    await store.apply(started(1))
    agent = await store.create_agent("agent1", "agent1-pass")
    async with StoreWriter(store, max_batch=50) as writer:
        for i in range(1500):
            writer.submit(RecordCallEvent(call_id, T0 + dt.timedelta(milliseconds=i), "tick"))

        async def disposition(i: int) -> None:
            await store.save_disposition(call_id, agent.id, "resolved", f"note {i}")

        await asyncio.gather(*(disposition(i) for i in range(20)))
        await writer.flush()
    assert (writer.applied, writer.lost) == (1500, 0)
    assert await count_events(store) == 1500
    async with store.sessions() as session:
        count = await session.scalar(sa.select(sa.func.count()).select_from(Interaction))
    assert count == 20
