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
