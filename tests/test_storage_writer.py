"""StoreWriter over real databases: batching, the journal, and what happens to bad writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from callcenter.storage import (
    Journal,
    JournalBusy,
    RecordAgentState,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    RecordRecording,
    Store,
    StoreWriter,
    WriterClosed,
    call_key,
    default_journal_path,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.journal import APPEND_ROWS
from callcenter.storage.models import Call, CallEvent, QueueOutcome, Recording
from callcenter.storage.writer import GIL_SWITCH_S
from callcenter.storage.writes import decode_request, encode_request
from crm_bridge.models import Interaction

T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield Store(make_session_factory(engine))
    await engine.dispose()


async def count(store: Store, model: type) -> int:
    async with store.sessions() as session:
        return await session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def started(n: int) -> RecordCallStarted:
    return RecordCallStarted(call_key("pbx1", f"17000.{n}"), f"17000.{n}", "pbx1", T0)


def event(n: int, i: int, kind: str = "ivr_digit") -> RecordCallEvent:
    return RecordCallEvent(
        started(n).call_id, T0 + dt.timedelta(milliseconds=i), kind, {"digit": str(i % 10)}
    )


async def test_thousand_writes_reach_the_database_and_leave_the_journal_empty(
    store: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.db"
    async with StoreWriter(store, journal=journal, max_batch=400) as writer:
        for n in range(10):
            assert writer.submit(started(n))
        for i in range(990):
            assert writer.submit(event(i % 10, i))
        await writer.flush()
        assert writer.pending == 0
        assert await count(store, CallEvent) == 990
    assert (writer.applied, writer.lost, writer.set_aside) == (1000, 0, {})
    reopened = Journal(journal)
    try:
        assert reopened.pending_count() == 0
        assert reopened.last_seq == 1000
    finally:
        reopened.close()


async def test_a_batch_gives_the_same_rows_as_one_write_at_a_time(store: Store) -> None:
    call_id = started(1).call_id
    agent = await store.create_agent("agent1", "agent1-pass")
    path = "/var/spool/asterisk/monitor/a.wav"
    async with StoreWriter(store, journal=None) as writer:
        for request in (
            started(1),
            started(1),  # a replayed start merges
            RecordCallUpdate(call_id, queue="support", language="vi"),
            RecordRecording(call_id, path, T0, mixmonitor_id="0x1"),
            RecordCallUpdate(call_id, queue="sales", answered_at=T0, agent_id=agent.id),
            RecordOutcome(call_id, "sales", "answered", 4.0, T0, agent.id),
            RecordCallUpdate(call_id, talk_s=9.0),
            RecordRecording(call_id, path, T0, size_bytes=44, sha256="ab"),
            RecordAgentState(agent.id, T0, "talking", "ringing"),
        ):
            writer.submit(request)
        await writer.flush()
    call = await store.get_call(call_id)
    assert call is not None
    assert (call.queue, call.language, call.outcome, call.agent_id, call.wait_s, call.talk_s) == (
        "sales", "vi", "answered", agent.id, 4.0, 9.0
    )  # fmt: skip
    (rec,) = await store.list_recordings(call_id)
    assert (rec.mixmonitor_id, rec.size_bytes, rec.sha256) == ("0x1", 44, "ab")
    assert await store.count_outcomes() == {"answered": 1}
    assert writer.set_aside == {}


async def test_refused_writes_are_kept_aside_with_their_error(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "journal.db"
    call_id = started(1).call_id
    orphan = RecordCallEvent("pbx1:never-started", T0, "ivr_digit", {"digit": "9"})
    async with StoreWriter(store, journal=journal) as writer:
        writer.submit(started(1))
        writer.submit(RecordCallEvent(call_id, T0, "queued"))
        writer.submit(orphan)
        writer.submit(RecordCallEvent(call_id, T0, "answered"))
        writer.submit(RecordCallUpdate("pbx1:never-started", queue="support"))
        writer.submit(RecordAgentState(4242, T0, "ready"))
        writer.submit(RecordOutcome(call_id, "support", "answered", 3.0, T0))
        writer.submit(RecordOutcome(call_id, "support", "abandoned", 9.0, T0))
        with caplog.at_level(logging.WARNING, logger="callcenter.storage.writer"):
            await writer.flush()
    assert await count(store, CallEvent) == 2
    assert await store.count_outcomes() == {"answered": 1}
    assert writer.applied == 4
    assert writer.set_aside == {"unknown_call": 2, "unknown_agent": 1, "duplicate_outcome": 1}
    reopened = Journal(journal)
    try:
        aside = reopened.aside()
        assert reopened.pending_count() == 0
    finally:
        reopened.close()
    assert [(a.seq, a.code) for a in aside] == [
        (3, "unknown_call"), (5, "unknown_call"), (6, "unknown_agent"), (8, "duplicate_outcome")
    ]  # fmt: skip
    assert decode_request(aside[0].payload) == orphan
    assert "pbx1:never-started" in aside[0].error
    assert "4242" in aside[2].error
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "set aside write #3" in logged and "duplicate outcome" in logged


def only_aside(path: Path) -> Any:
    """The one write the journal at ``path`` set aside."""
    journal = Journal(path)
    try:
        (aside,) = journal.aside()
    finally:
        journal.close()
    return aside


async def test_a_constraint_fails_only_its_own_write(store: Store, tmp_path: Path) -> None:
    # Regression: a batch refused by the database (not by the writer's own checks) used
    # to be retried once and then written one by one, losing the bad write to a log line.
    call_id = started(1).call_id
    too_long = RecordCallUpdate(call_id, queue="q" * 5000)  # the column holds 64
    async with StoreWriter(store, journal=tmp_path / "j.db") as writer:
        writer.submit(started(1))
        writer.submit(too_long)
        writer.submit(RecordCallEvent(call_id, T0, "queued"))
        await writer.flush()
    if store.sessions.kw["bind"].dialect.name == "sqlite":  # SQLite does not check lengths
        assert writer.set_aside == {}
        return
    assert writer.set_aside == {"constraint": 1}
    assert await count(store, CallEvent) == 1
    aside = only_aside(tmp_path / "j.db")
    assert decode_request(aside.payload) == too_long
    assert "too long" in aside.error


async def test_data_json_cannot_carry_is_kept_aside_not_lost(store: Store, tmp_path: Path) -> None:
    async with StoreWriter(store, journal=tmp_path / "j.db") as writer:
        writer.submit(started(1))
        writer.submit(RecordCallEvent(started(1).call_id, T0, "odd", {"when": T0}))
        writer.submit(RecordCallEvent(started(1).call_id, T0, "fine"))
        await writer.flush()
        with pytest.raises(TypeError, match="not a write request"):
            writer.submit("INSERT INTO calls")  # type: ignore[arg-type]
    assert writer.set_aside == {"bad_write": 1}
    assert await count(store, CallEvent) == 1
    aside = only_aside(tmp_path / "j.db")
    assert "cannot be journaled" in aside.error and "odd" in aside.payload


def test_each_database_has_its_own_journal_next_to_it() -> None:
    sqlite = default_journal_path("sqlite+aiosqlite:////srv/hotline/var/hotline.db")
    assert sqlite.parent == Path("/srv/hotline/var") and sqlite.name.startswith(
        "write-journal-hotline-"
    )
    one = default_journal_path("postgresql+asyncpg://h:secret@db1:5432/hotline")
    two = default_journal_path("postgresql+asyncpg://h:other@db2:5432/hotline")
    assert one.parent == Path("var") and one != two
    assert one == default_journal_path("postgresql+asyncpg://h:changed@db1:5432/hotline")
    assert "secret" not in str(one)


async def test_the_default_journal_survives_the_writer(store: Store) -> None:
    writer = StoreWriter(store)
    assert writer.journal_path == default_journal_path(writer.url)
    async with writer:
        writer.submit(started(1))
    path = writer.journal_path
    assert path is not None and path.exists()
    assert await count(store, Call) == 1
    for leftover in path.parent.glob(path.name + "*"):  # PostgreSQL's is in ./var
        leftover.unlink()


def put_back(journal: Path, rows: list[tuple[int, float, str]], last_seq: int) -> None:
    """Leave the journal file as a crash right after the database commit leaves it:
    the rows the database already has are still pending."""
    db = sqlite3.connect(journal)
    with db:
        db.executemany("INSERT INTO pending (seq, at, payload) VALUES (?, ?, ?)", rows)
        db.execute("UPDATE meta SET value = ? WHERE key = 'last_seq'", (str(last_seq),))
    db.close()


async def test_replay_after_a_crash_duplicates_nothing(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.db"
    first = [started(1), *(event(1, i) for i in range(10))]
    async with StoreWriter(store, journal=journal) as writer:
        for request in first:
            writer.submit(request)
    assert await count(store, CallEvent) == 10
    more = [event(1, i, "later") for i in range(5)]
    rows = [(n + 1, 0.0, encode_request(r)) for n, r in enumerate(first + more)]
    put_back(journal, rows, last_seq=len(rows))  # 11 applied, 5 not yet

    async with StoreWriter(store, journal=journal) as again:
        await again.flush()
        assert again.pending == 0
    assert await count(store, CallEvent) == 15
    assert (again.applied, again.replayed) == (5, 5)
    async with store.sessions() as s:
        later = await s.scalar(sa.select(sa.func.count()).where(CallEvent.kind == "later"))
    assert later == 5

    put_back(journal, rows, last_seq=len(rows))  # crashed again: everything is there already
    async with StoreWriter(store, journal=journal) as third:
        await third.flush()
    assert (third.applied, await count(store, CallEvent)) == (0, 15)


async def test_outcomes_and_recordings_replayed_stay_single(store: Store, tmp_path: Path) -> None:
    call_id = started(1).call_id
    writes = [
        started(1),
        RecordRecording(call_id, "/m/a.wav", T0),
        RecordOutcome(call_id, "support", "abandoned", 3.0, T0),
        RecordRecording(call_id, "/m/a.wav", T0, size_bytes=10),
    ]
    for _ in range(2):  # two journals: the marks cannot help, ON CONFLICT does
        async with StoreWriter(store, journal=None) as writer:
            for request in writes:
                writer.submit(request)
    assert (await count(store, Call), await count(store, QueueOutcome)) == (1, 1)
    assert await count(store, Recording) == 1
    assert writer.set_aside == {"duplicate_outcome": 1}


async def test_close_writes_everything_then_refuses(store: Store) -> None:
    writer = StoreWriter(store, journal=None)
    writer.start()
    writer.submit(started(1))
    writer.submit(RecordCallEvent(started(1).call_id, T0, "queued"))
    await writer.close()
    assert await count(store, CallEvent) == 1
    with pytest.raises(WriterClosed):
        writer.submit(started(2))
    await writer.close()  # idempotent


async def test_writes_submitted_before_start_are_written_by_close(store: Store) -> None:
    writer = StoreWriter(store, journal=None)
    writer.submit(started(1))
    await writer.close()
    assert await count(store, Call) == 1


async def test_one_journal_one_controller(store: Store, tmp_path: Path) -> None:
    async with StoreWriter(store, journal=tmp_path / "j.db"):
        with pytest.raises(JournalBusy, match="another controller"):
            StoreWriter(store, journal=tmp_path / "j.db").start()


async def test_direct_writes_alongside_the_writer(store: Store) -> None:
    # SQLite: read-then-write transactions used to fail with "database is
    # locked" when the writer committed in between; they now begin IMMEDIATE.
    call_id = started(1).call_id
    await store.apply(started(1))
    agent = await store.create_agent("agent1", "agent1-pass")
    await store.record_call_update(call_id, agent_id=agent.id)
    async with StoreWriter(store, journal=None, max_batch=50) as writer:
        for i in range(1500):
            writer.submit(RecordCallEvent(call_id, T0 + dt.timedelta(milliseconds=i), "tick"))

        async def disposition(i: int) -> None:
            await store.save_disposition(call_id, agent.id, "resolved", f"note {i}")

        await asyncio.gather(*(disposition(i) for i in range(20)))
        await writer.flush()
    assert (writer.applied, writer.lost) == (1500, 0)
    assert await count(store, CallEvent) == 1500
    assert await count(store, Interaction) == 1  # one disposition per call: saves edit it


async def test_an_update_leaves_the_columns_it_does_not_name(store: Store) -> None:
    # The batch's one UPDATE binds NULL for what a request leaves out; a JSON None
    # must not become JSON null there.
    call_id = started(1).call_id
    async with StoreWriter(store, journal=None) as writer:
        writer.submit(started(1))
        writer.submit(RecordCallUpdate(call_id, ivr_selections=("main=1",), language="vi"))
        await writer.flush()
        writer.submit(RecordCallUpdate(call_id, queue="support"))
        writer.submit(RecordCallUpdate(started(2).call_id, talk_s=3.0))  # unknown: aside
        await writer.flush()
    call = await store.get_call(call_id)
    assert call is not None
    assert (call.ivr_selections, call.language, call.queue) == (["main=1"], "vi", "support")


async def test_the_gil_switch_interval_is_short_while_a_writer_runs(
    store: Store, tmp_path: Path
) -> None:
    # the writer's thread takes the GIL back after every blocking call; at CPython's 5 ms
    # it waited behind a busy event loop and fell behind at 200 calls/s (writer.py docstring)
    before = sys.getswitchinterval()
    assert before > GIL_SWITCH_S
    writer = StoreWriter(store, journal=tmp_path / "journal.db")
    writer.start()
    try:
        assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_S)
    finally:
        await writer.close()
    assert sys.getswitchinterval() == pytest.approx(before)
    untouched = StoreWriter(store, journal=None, gil_switch_s=None)
    untouched.start()
    try:
        assert sys.getswitchinterval() == pytest.approx(before)
    finally:
        await untouched.close()


def test_a_journal_append_larger_than_one_insert_keeps_every_write_in_order(
    tmp_path: Path,
) -> None:
    # an append is one INSERT per APPEND_ROWS writes; the numbers run on across them
    journal = Journal(tmp_path / "journal.db")
    try:
        items = [(float(n), f"w{n}") for n in range(2 * APPEND_ROWS + 7)]
        assert journal.append(items) == 1
        assert journal.append([(0.5, "last")]) == len(items) + 1
        back = journal.read(1, len(items) + 10)
        assert [(e.seq, e.at, e.payload) for e in back] == [
            (n + 1, at, payload) for n, (at, payload) in enumerate([*items, (0.5, "last")])
        ]
    finally:
        journal.close()
