"""Pause records through the real write path: the ACD's PauseEnded, the call-flow core's
RecordPause, the writer's journal, SQL, and the sum a report reads back.

Each test runs on SQLite and PostgreSQL (``db_url`` in conftest.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

import acd
from callcenter.facts import RecordPause, decode_request, encode_request
from callcenter.flow import effects as fx
from callcenter.flow.inputs import AgentCommand
from callcenter.storage import Store, StoreWriter, make_engine, make_session_factory, migrate

from .flow_support import Flow


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    try:
        yield Store(
            make_session_factory(engine),
            hasher=PasswordHasher(time_cost=1, memory_cost=64, parallelism=1),
        )
    finally:
        await engine.dispose()


def test_a_pause_record_goes_through_the_journal_unchanged() -> None:
    t0 = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    pause = RecordPause(3, "lunch", t0, t0 + dt.timedelta(minutes=30), 1800.0)
    assert decode_request(encode_request(pause)) == pause
    with pytest.raises(ValueError):
        RecordPause(3, "", t0, t0, 0.0)
    with pytest.raises(ValueError):
        RecordPause(3, "lunch", t0.replace(tzinfo=None), t0, 0.0)


async def test_pauses_an_agent_takes_are_summed_from_sql(store: Store, tmp_path: Path) -> None:
    agent = await store.create_agent("agent7", "pw")
    f = Flow(agents=(str(agent.id),))
    aid = str(agent.id)
    f.login(aid)
    start = f.wall
    f.feed(AgentCommand(acd.AgentPause(aid, "lunch")))
    f.tick(1800)
    f.feed(AgentCommand(acd.AgentPause(aid, "training")))
    f.tick(600)
    f.feed(AgentCommand(acd.AgentReady(aid)))
    async with StoreWriter(store, journal=tmp_path / "j.db") as writer:
        for effect in f.sent(fx.Write):
            if isinstance(effect.row, RecordPause):
                writer.submit(effect.row)
        await writer.flush()
    totals = await store.pause_seconds(start, start + dt.timedelta(hours=1))
    assert totals == {(agent.id, "lunch"): 1800.0, (agent.id, "training"): 600.0}
