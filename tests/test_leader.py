"""Leader election on PostgreSQL (callcenter.leader): the lock, the term, the lease and
the writer's fence, on a real server; the lease's arithmetic by hand-moved time."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
import sqlalchemy as sa

from callcenter.config import LeaderSettings
from callcenter.leader import Election, Lease, judge
from callcenter.storage import RecordCallStarted, StoreWriter, call_key, make_engine, migrate
from callcenter.storage.models import Call

from .e2e_support import wait_until

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
FAST = LeaderSettings(heartbeat_s=0.2, lease_s=1.0, retry_s=0.1)
T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def test_the_lease_ends_one_heartbeat_before_postgresql_could_end_the_session() -> None:
    lease = Lease(lease_s=5.0, heartbeat_s=1.0)
    assert lease.acting_until(100.0) == 104.0
    assert judge(3, 3, 104.0, lease.acting_until(100.0)) is None
    assert "lease ran out" in (judge(3, 3, 104.5, lease.acting_until(100.0)) or "")
    assert "another controller leads" in (judge(3, 4, 101.0, lease.acting_until(100.0)) or "")


async def term_row(db_url: str) -> tuple[int, str | None]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(sa.text("SELECT term, holder FROM leader_terms"))).one()
    finally:
        await engine.dispose()
    return int(row[0]), row[1]


@ON_POSTGRES
async def test_one_leads_the_other_takes_over_when_the_lock_is_freed(db_url: str) -> None:
    await migrate(db_url)
    lost: list[str] = []
    a = Election(db_url, FAST, holder="a", on_lost=lost.append)
    b = Election(db_url, FAST, holder="b", on_lost=lost.append)
    try:
        assert await a.try_lead() and a.term == 1 and a.may_act()
        assert not await b.try_lead() and b.term is None and not b.may_act()
        assert await term_row(db_url) == (1, "a")
        await asyncio.sleep(3 * FAST.heartbeat_s)  # heartbeats keep the lead
        assert a.may_act() and not lost
        await a.close()  # its session ends: PostgreSQL frees the lock
        assert not a.may_act()
        assert await asyncio.wait_for(b.wait_lead(), 10) == 2
        assert await term_row(db_url) == (2, "b")
        assert not lost
    finally:
        await a.close()
        await b.close()


@ON_POSTGRES
async def test_a_leader_whose_session_dies_stops_acting_and_a_standby_takes_over(
    db_url: str,
) -> None:
    await migrate(db_url)
    lost: list[str] = []
    a = Election(db_url, FAST, holder="a", on_lost=lost.append)
    b = Election(db_url, FAST, holder="b", on_lost=lambda _: None)
    try:
        assert await a.try_lead()
        admin = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
        try:  # what a dead process or an ended lease does to the lock's session
            await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = 'hotline-leader'")  # fmt: skip
        finally:
            await admin.close()
        await wait_until(lambda: bool(lost), 10, "the leader to see its lead lost")
        assert not a.may_act() and a.write_term() is None
        assert await asyncio.wait_for(b.wait_lead(), 10) == 2
    finally:
        await a.close()
        await b.close()


@ON_POSTGRES
async def test_a_paused_leaders_session_is_ended_by_its_lease(db_url: str) -> None:
    # a leader that sends no heartbeat (paused) loses the lock after lease_s, and its own
    # clock closes its AMI gate before that (time moved by hand)
    await migrate(db_url)
    now = [0.0]
    a = Election(db_url, FAST, holder="a", on_lost=lambda _: None, clock=lambda: now[0])
    b = Election(db_url, FAST, holder="b", on_lost=lambda _: None)
    try:
        assert await a.try_lead()
        assert a._beats is not None
        a._beats.cancel()  # paused: no heartbeat from here on
        now[0] = FAST.lease_s - FAST.heartbeat_s
        assert a.may_act()
        now[0] += 0.01
        assert not a.may_act()
        assert await asyncio.wait_for(b.wait_lead(), 15) == 2  # the server ended a's session
    finally:
        await a.close()
        await b.close()


@ON_POSTGRES
async def test_the_writer_applies_nothing_under_a_term_that_is_not_the_databases(
    db_url: str, tmp_path: Path
) -> None:
    await migrate(db_url)
    a = Election(db_url, FAST, holder="a", on_lost=lambda _: None)
    b = Election(db_url, FAST, holder="b", on_lost=lambda _: None)
    held = [1]
    writer = StoreWriter(db_url, journal=tmp_path / "a.journal", fence=lambda: held[0],
                         retry_delay_s=0.05, max_retry_delay_s=0.2)  # fmt: skip
    writer.start()
    try:
        assert await a.try_lead() and a.term == 1
        writer.submit(RecordCallStarted(call_key("pbx1", "1.1"), "1.1", "pbx1", T0))
        await writer.flush(10)
        assert writer.fenced is None
        await a.close()
        assert await b.wait_lead() == 2  # a new leader: term 2; the writer still holds term 1
        writer.submit(RecordCallStarted(call_key("pbx1", "1.2"), "1.2", "pbx1", T0))
        await wait_until(lambda: writer.fenced is not None, 10, "the fence to refuse")
        assert "term 1" in (writer.fenced or "") and writer.pending == 1
        held[0] = 2  # (this writer leads again: what it held back is written)
        await writer.flush(10)
    finally:
        await writer.close()
        await b.close()
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            ids = set((await conn.execute(sa.select(Call.id))).scalars())
    finally:
        await engine.dispose()
    assert ids == {call_key("pbx1", "1.1"), call_key("pbx1", "1.2")}


@ON_POSTGRES
async def test_a_write_left_open_by_a_frozen_leader_does_not_hold_the_new_term_back(
    db_url: str,
) -> None:
    # regression: a leader frozen inside a write transaction kept leader_terms locked
    # FOR SHARE with no timeout, and the standby waited for the term until it woke
    await migrate(db_url)
    a = Election(db_url, FAST, holder="a", on_lost=lambda _: None)
    b = Election(db_url, FAST, holder="b", on_lost=lambda _: None)
    frozen = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        assert await a.try_lead()
        tx = frozen.transaction()
        await tx.start()
        assert await frozen.fetchval("SELECT term FROM leader_terms WHERE id = 1 FOR SHARE") == 1
        await a.close()
        assert await asyncio.wait_for(b.wait_lead(), 20) == 2
        # its session was ended, so nothing it held lands: gone from the server, and the
        # client finds it dead (asyncpg may say so with InternalClientError when the
        # server's FATAL arrived while the connection sat idle: it failed once so)
        pid = frozen.get_server_pid()
        look = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            deadline = asyncio.get_running_loop().time() + 20
            while await look.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1",
                                      pid):  # fmt: skip
                assert asyncio.get_running_loop().time() < deadline, "the frozen session lives"
                await asyncio.sleep(0.05)
        finally:
            await look.close()
        with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError,
                            asyncpg.InternalClientError, OSError)):  # fmt: skip
            await frozen.fetchval("SELECT 1")
    finally:
        frozen.terminate()
        await a.close()
        await b.close()
