"""The wallboard's figures of the day on the fixed KPI scenario (tests/kpi_scenario.py,
hand-computed): written through the real store (SQLite and PostgreSQL), read back the
way the controller reads them at start (``Store.outcomes_since``,
``agent_changes_since``, ``DayBoard.load``), they are the report's figures."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher

from acd.kpis import QueueTargets, Tally
from callcenter.board import DayBoard, queue_figures
from callcenter.storage import Store, make_engine, make_session_factory, migrate

from .kpi_scenario import EXPECTED, ZONE, at, write_scenario


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield Store(make_session_factory(engine),
                hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fmt: skip
    await engine.dispose()


async def test_the_day_read_from_sql_gives_the_reports_figures(store: Store) -> None:
    ids = await write_scenario(store)
    targets = {"support": QueueTargets(20.0, 5.0, 0.8), "sales": QueueTargets(20.0, 5.0, 0.8)}
    day = DayBoard(targets, at(4, 0).timestamp(), ZoneInfo(ZONE))
    since = dt.datetime.fromtimestamp(day.day_start, dt.UTC)
    assert since == dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC)  # midnight in Ho Chi Minh City
    day.load(await store.outcomes_since(since), await store.agent_changes_since(since))

    support = queue_figures(day.queue("support").today, Tally(), waiting=0)
    want = EXPECTED["support"]
    assert (support["offered"], support["answered"], support["abandoned"]) == (
        want["offered"], want["answered"], want["abandoned"])  # fmt: skip
    assert support["short_abandoned"] == want["short_abandoned"]
    assert support["service_level_pct"] == round(100 * want["service_level"], 1) == 44.4
    assert support["abandon_rate_pct"] == round(100 * want["abandon_rate"], 1) == 22.2
    assert support["asa_s"] == want["asa_s"] == 15.0

    sales = queue_figures(day.queue("sales").today, Tally(), waiting=0)
    assert (sales["service_level_pct"], sales["abandon_rate_pct"], sales["asa_s"]) == (0.0, 100.0, None)

    # the centre: both queues' calls, each against its own queue's T and S
    centre = queue_figures(day.queue("support").today.plus(day.queue("sales").today), Tally(), 0)
    assert centre["service_level_pct"] == round(100 * 4 / (11 - 1), 1)

    # the agent grid: calls and AHT (acd.kpis': talk + hold + wrap-up over handled calls)
    # per agent, the report's figures: talk and wrap-up summed, not time in states
    for name in ("alice", "bob"):
        agent = str(ids[name])
        assert day.agent_calls(agent) == EXPECTED[name]["answered"]
        calls = day.agents[agent]
        assert (calls.talk, calls.wrap_up) == (EXPECTED[name]["talk_s"], EXPECTED[name]["wrap_up_s"])
        assert day.agent_aht_s(agent) == round(EXPECTED[name]["aht_s"], 1)

    # the day by 15 minutes (by entry): 02:00-02:15 UTC holds c1, c2, c3
    first = day.interval_rows()[0]
    assert first["start"] == at(2, 0).timestamp()
    assert (first["answered"], first["abandoned"], first["other"]) == (3, 0, 0)
    assert sum(r["answered"] + r["abandoned"] + r["other"] for r in day.interval_rows()) == 11
