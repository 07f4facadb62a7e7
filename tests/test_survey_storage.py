"""Survey answers in SQL (SQLite and PostgreSQL): one row per call, ranges held twice."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.facts import RecordSurvey
from callcenter.storage import Store, call_key, make_engine, make_session_factory, migrate
from callcenter.storage.models import SurveyAnswer

T0 = dt.datetime(2027, 3, 1, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


async def test_answers_are_stored_once_per_call(engine: AsyncEngine) -> None:
    store = Store(make_session_factory(engine))
    call_id = call_key("pbx1", "1796000000.1")
    await store.record_call_started(call_id, "1796000000.1", "pbx1", T0)
    await store.apply(RecordSurvey(call_id, T0, "support", None, csat=5, nps=10))
    # a replay (the journal after an outage) changes nothing
    await store.apply(RecordSurvey(call_id, T0, "support", None, csat=1, nps=0, ces=1))
    async with store.sessions() as s:
        rows = list(await s.scalars(sa.select(SurveyAnswer)))
    assert [(r.call_id, r.queue, r.csat, r.nps, r.ces) for r in rows] == [
        (call_id, "support", 5, 10, None)
    ]


async def test_the_database_refuses_scores_out_of_range(engine: AsyncEngine) -> None:
    store = Store(make_session_factory(engine))
    call_id = call_key("pbx1", "1796000000.2")
    await store.record_call_started(call_id, "1796000000.2", "pbx1", T0)
    with pytest.raises(sa.exc.IntegrityError):
        async with store.sessions() as s, s.begin():
            s.add(SurveyAnswer(call_id=call_id, at=T0, queue="support", csat=6))


@pytest.mark.parametrize(("field", "value"), [("csat", 0), ("csat", 6), ("nps", 11), ("ces", 8)])
def test_a_survey_out_of_range_is_refused_when_built(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"survey {field} must be"):
        RecordSurvey("pbx1:1", T0, "support", None, **{field: value})  # type: ignore[arg-type]


async def test_survey_figures_by_queue_and_agent(engine: AsyncEngine) -> None:
    store = Store(make_session_factory(engine))
    agent = await store.create_agent("a1", "a1-password", display_name="Agent One")
    answers = [  # queue, agent, csat, nps, ces, minutes after T0
        ("support", agent.id, 5, 10, 2, 0),
        ("support", agent.id, 4, 9, None, 1),
        ("support", None, 2, 3, 6, 2),
        ("support", None, None, None, None, 3),  # surveyed, answered nothing
        ("sales", agent.id, 1, 7, None, 4),
        ("support", agent.id, 5, 10, 1, 60),  # outside the interval
    ]
    for i, (queue, agent_id, csat, nps, ces, minutes) in enumerate(answers):
        call_id = call_key("pbx1", f"1796000000.{i + 10}")
        await store.record_call_started(call_id, f"1796000000.{i + 10}", "pbx1", T0)
        at = T0 + dt.timedelta(minutes=minutes)
        await store.apply(RecordSurvey(call_id, at, queue, agent_id, csat, nps, ces))
    since, until = T0, T0 + dt.timedelta(minutes=30)
    by_queue = await store.survey_figures(since, until)
    assert list(by_queue) == ["sales", "support"]
    support = by_queue["support"]
    assert (support.surveyed, support.csat_answers, support.nps_answers) == (4, 3, 3)
    assert support.csat_avg == pytest.approx(11 / 3) and support.csat_satisfied == pytest.approx(
        2 / 3
    )
    assert support.nps == pytest.approx(100 * (2 - 1) / 3)  # two promoters, one detractor
    assert support.ces_answers == 2 and support.ces_avg == pytest.approx(4.0)
    assert by_queue["sales"].nps == 0.0 and by_queue["sales"].ces_avg is None
    by_agent = await store.survey_figures(since, until, by="agent")
    assert sorted(by_agent) == ["-", str(agent.id)]
    assert by_agent[str(agent.id)].surveyed == 3 and by_agent["-"].csat_avg == 2.0
    with pytest.raises(ValueError, match="by 'queue' or 'agent'"):
        await store.survey_figures(since, until, by="day")
