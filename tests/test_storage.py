"""Storage over real databases: migrations, calls and outcomes, logins, dispositions.

Each test runs on SQLite and PostgreSQL (``db_url`` in conftest.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.storage import (
    AgentRejected,
    CustomerRejected,
    DispositionRejected,
    DuplicateOutcome,
    Store,
    UnknownCall,
    call_key,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.models import Base
from crm_bridge.models import Interaction

T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)
TABLES = {
    "api_tokens",
    "agent_pauses",
    "agent_state_changes",
    "agents",
    "call_events",
    "calls",
    "customer_phones",
    "customers",
    "disposition_codes",
    "interactions",
    "journal_marks",
    "leader_terms",
    "pause_reasons",
    "queue_outcomes",
    "recording_access",
    "recordings",
    "survey_answers",
    "tickets",
    "voicemails",
    "callback_requests",
}


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> Store:
    return Store(make_session_factory(engine), hasher=cheap_hasher())


async def start_call(store: Store, linkedid: str = "1700000000.1", **kw: object) -> str:
    call_id = call_key("pbx1", linkedid)
    await store.record_call_started(call_id, linkedid, "pbx1", T0, **kw)  # type: ignore[arg-type]
    return call_id


async def test_migrate_from_empty_creates_every_table(db_url: str) -> None:
    await migrate(db_url)
    await migrate(db_url)  # already at head: a no-op
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            names = set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
            version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).one()
    finally:
        await engine.dispose()
    assert names == TABLES | {"alembic_version"}
    assert version == ("0019",)


async def test_migration_matches_models(engine: AsyncEngine) -> None:
    def diff(conn: sa.Connection, metadata: sa.MetaData) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff, Base.metadata) == []
        # The comparison does see differences: a column the migration lacks.
        changed = sa.MetaData()
        for table in Base.metadata.sorted_tables:
            table.to_metadata(changed)
        changed.tables["calls"].append_column(sa.Column("extra", sa.Integer()))
        assert [d[0] for d in await conn.run_sync(diff, changed)] == ["add_column"]


async def test_call_events_and_one_outcome_per_call(store: Store) -> None:
    call_id = await start_call(store, caller_number="+84901234567", language="vi")
    await store.record_call_started(call_id, "1700000000.1", "pbx1", T0)  # replay: ignored
    await store.record_call_event(
        call_id, "ivr_digit", T0 + dt.timedelta(seconds=3), {"digit": "1"}
    )
    await store.record_call_event(call_id, "queued", T0 + dt.timedelta(seconds=5), {"q": "support"})
    await store.record_call_update(
        call_id, ivr_selections=("1", "2"), queued_at=T0 + dt.timedelta(seconds=5)
    )
    agent = await store.create_agent("agent1", "agent1-pass")

    await store.record_outcome(
        call_id, "support", "answered", 12.5, T0 + dt.timedelta(seconds=17), agent.id
    )
    with pytest.raises(DuplicateOutcome) as err:
        await store.record_outcome(call_id, "support", "abandoned", 30.0, T0)
    assert err.value.code == "duplicate_outcome"

    call = await store.get_call(call_id)
    assert call is not None
    assert (call.outcome, call.queue, call.wait_s, call.agent_id) == (
        "answered",
        "support",
        12.5,
        agent.id,
    )
    assert call.ivr_selections == ["1", "2"]
    assert call.started_at == T0 and call.started_at.tzinfo is not None
    events = await store.list_call_events(call_id)
    assert [(e.kind, e.data) for e in events] == [
        ("ivr_digit", {"digit": "1"}),
        ("queued", {"q": "support"}),
    ]
    assert await store.count_outcomes() == {"answered": 1}


async def test_outcome_rules_are_checked(store: Store) -> None:
    with pytest.raises(ValueError, match="hung_up"):
        await store.record_outcome("pbx1/1", "support", "hung_up", 1.0, T0)
    with pytest.raises(ValueError, match="naive"):
        await store.record_call_event("pbx1/1", "x", dt.datetime(2026, 1, 1))
    with pytest.raises(UnknownCall):
        await store.record_outcome("pbx1/nope", "support", "abandoned", 1.0, T0)
    assert await store.count_outcomes() == {}


async def test_unique_constraint_backs_the_outcome_check(engine: AsyncEngine) -> None:
    store = Store(make_session_factory(engine))
    call_id = await start_call(store)
    await store.record_outcome(call_id, "support", "abandoned", 40.0, T0)
    with pytest.raises(sa.exc.IntegrityError):
        async with store.sessions() as session, session.begin():
            await session.execute(
                sa.insert(Base.metadata.tables["queue_outcomes"]).values(
                    call_id=call_id, queue="support", outcome="answered", wait_s=1.0, at=T0
                )
            )


async def test_agent_login(store: Store) -> None:
    agent = await store.create_agent(
        "agent1", "agent1-pass", display_name="Nguyễn Văn An", device="PJSIP/1001", queues=["vip"]
    )
    assert agent.password_hash.startswith("$argon2id$")
    assert "agent1-pass" not in agent.password_hash

    found = await store.verify_login("agent1", "agent1-pass")
    assert found is not None
    assert (found.id, found.display_name, found.role, found.queues) == (
        agent.id,
        "Nguyễn Văn An",
        "agent",
        ["vip"],
    )
    assert await store.verify_login("agent1", "wrong") is None
    assert await store.verify_login("nobody", "agent1-pass") is None

    with pytest.raises(AgentRejected) as err:
        await store.create_agent("agent1", "other")
    assert err.value.code == "duplicate_username"
    with pytest.raises(AgentRejected) as err:
        await store.create_agent("boss", "pw", role="king")
    assert err.value.code == "bad_role"


async def test_login_rehashes_a_weak_hash(engine: AsyncEngine) -> None:
    weak = Store(make_session_factory(engine), hasher=cheap_hasher())
    await weak.create_agent("supervisor", "supervisor-pass", "supervisor")
    strong_hasher = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    strong = Store(make_session_factory(engine), hasher=strong_hasher)
    assert await strong.verify_login("supervisor", "supervisor-pass") is not None
    (agent,) = await strong.list_agents()
    assert not strong_hasher.check_needs_rehash(agent.password_hash)


async def interactions(store: Store) -> list[Interaction]:
    async with store.sessions() as session:
        return list(await session.scalars(sa.select(Interaction)))


async def test_disposition_saved_with_the_calls_customer(store: Store) -> None:
    customer = await store.add_customer("Trần Thị Bích", ["0901234567"], account_no="1000001")
    call_id = await start_call(store, customer_id=customer.id)
    agent = await store.create_agent("agent1", "agent1-pass")
    await store.record_call_update(call_id, agent_id=agent.id)

    saved = await store.save_disposition(call_id, agent.id, "resolved", "Đã đổi gói cước")

    (row,) = await interactions(store)
    assert (row.id, row.call_id, row.customer_id, row.agent_id) == (
        saved.id,
        call_id,
        customer.id,
        agent.id,
    )
    assert (row.disposition, row.notes) == ("resolved", "Đã đổi gói cước")
    assert row.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("code", "notes", "call", "reason"),
    [
        ("teleported", "", "known", "unknown_code"),
        ("resolved", "x" * 2001, "known", "notes_too_long"),
        ("resolved", "", "pbx1/unknown", "unknown_call"),
    ],
)
async def test_bad_disposition_is_rejected_and_writes_nothing(
    store: Store, code: str, notes: str, call: str, reason: str
) -> None:
    call_id = await start_call(store)
    agent = await store.create_agent("agent1", "agent1-pass")
    await store.record_call_update(call_id, agent_id=agent.id)
    with pytest.raises(DispositionRejected) as err:
        await store.save_disposition(call_id if call == "known" else call, agent.id, code, notes)
    assert err.value.code == reason
    assert await interactions(store) == []


async def test_customer_rules(store: Store) -> None:
    await store.add_customer("Lê Văn Cường", ["0912345678", "+84 91 234 5678"], account_no="7")
    with pytest.raises(CustomerRejected) as err:
        await store.add_customer("Phạm Thị Dung", ["84912345678"])
    assert err.value.code == "number_taken"
    with pytest.raises(CustomerRejected) as err:
        await store.add_customer("Phạm Thị Dung", ["not a number"])
    assert err.value.code == "invalid_number"
    with pytest.raises(CustomerRejected) as err:
        await store.add_customer("Phạm Thị Dung", ["0987654321"], account_no="7")
    assert err.value.code == "duplicate_account"


async def test_recordings_are_merged_by_path(store: Store) -> None:
    call_id = await start_call(store)
    path = "/var/spool/asterisk/monitor/2026/03/02/pbx1-1700000000.1.wav"
    await store.record_recording(call_id, path, T0, mixmonitor_id="0x55d0c0")
    await store.record_recording(
        call_id,
        path,
        T0,
        ended_at=T0 + dt.timedelta(seconds=95),
        duration_s=95.0,
        size_bytes=1_520_044,
        sha256="ab" * 32,
    )
    (recording,) = await store.list_recordings()
    assert (recording.path, recording.mixmonitor_id, recording.size_bytes) == (
        path,
        "0x55d0c0",
        1_520_044,
    )
    assert recording.ended_at == T0 + dt.timedelta(seconds=95)
    assert await store.list_recordings(call_id="pbx1/other") == []


async def test_agent_state_changes_are_recorded(store: Store) -> None:
    agent = await store.create_agent("agent1", "agent1-pass")
    await store.record_agent_state(agent.id, "available", T0)
    await store.record_agent_state(agent.id, "paused", T0, old="available", reason="lunch")
    async with store.sessions() as session:
        rows = (
            await session.execute(
                sa.text("SELECT old, new, reason FROM agent_state_changes ORDER BY id")
            )
        ).all()
    assert [tuple(r) for r in rows] == [(None, "available", None), ("available", "paused", "lunch")]


async def test_an_agents_routing_data_is_stored_checked_and_replaced(store: Store) -> None:
    from callcenter.storage import AgentRejected

    agent = await store.create_agent(
        "agent1", "pw", queues=["support", "billing"], skills={"english": 4, "billing": 2},
        penalties={"billing": 1}, weights={"support": 3},
    )  # fmt: skip
    [row] = await store.list_agents()
    assert (row.skills, row.penalties, row.weights) == (
        {"billing": 2, "english": 4}, {"billing": 1}, {"support": 3})  # fmt: skip
    await store.set_agent_routing(agent.id, skills={"english": 5})
    [row] = await store.list_agents()
    assert (row.skills, row.penalties, row.queues) == (
        {"english": 5}, {"billing": 1}, ["support", "billing"])  # fmt: skip
    bad: list[dict[str, object]] = [
        {"skills": {"english": 6}}, {"skills": {"english": 0}}, {"skills": {" x": 1}},
        {"penalties": {"billing": -1}}, {"weights": {"support": 0}},
        {"penalties": {"sales": 1}},  # a queue the agent does not serve
    ]  # fmt: skip
    for routing in bad:
        with pytest.raises(AgentRejected) as err:
            await store.set_agent_routing(agent.id, **routing)  # type: ignore[arg-type]
        assert err.value.code == "bad_routing", routing
        with pytest.raises(AgentRejected):
            await store.create_agent("agent2", "pw", queues=["support", "billing"], **routing)  # type: ignore[arg-type]
    with pytest.raises(AgentRejected) as err:
        await store.set_agent_routing(agent.id + 99, skills={})
    assert err.value.code == "unknown_agent"
    [row] = await store.list_agents()  # nothing of the refused ones stored
    assert (row.skills, row.penalties, row.weights) == (
        {"english": 5},
        {"billing": 1},
        {"support": 3},
    )
    # an agent who serves every queue (none listed) may weigh any of them
    await store.create_agent("agent3", "pw", weights={"sales": 2})


async def test_ended_pauses_are_summed_per_agent_and_reason(store: Store) -> None:
    from callcenter.facts import RecordPause

    a = (await store.create_agent("agent1", "pw")).id
    b = (await store.create_agent("agent2", "pw")).id
    m = dt.timedelta(minutes=1)
    await store.apply(
        RecordPause(a, "lunch", T0, T0 + 30 * m, 1800.0),
        RecordPause(a, "lunch", T0 + 60 * m, T0 + 70 * m, 600.0),
        RecordPause(a, "ring-no-answer", T0 + 5 * m, T0 + 6 * m, 60.0),
        RecordPause(b, "lunch", T0 - 10 * m, T0 + 10 * m, 1200.0),  # crosses the start
    )
    assert await store.pause_seconds(T0, T0 + 65 * m) == {
        (a, "lunch"): 1800.0 + 300.0,
        (a, "ring-no-answer"): 60.0,
        (b, "lunch"): 600.0,
    }
    assert await store.pause_seconds(T0 + 80 * m, T0 + 90 * m) == {}


async def test_disposition_on_another_agents_call_is_refused(store: Store) -> None:
    # Regression: agent1 could write a disposition on a call agent2 answered.
    call_id = await start_call(store)
    agent1 = await store.create_agent("agent1", "agent1-pass")
    agent2 = await store.create_agent("agent2", "agent2-pass")
    await store.record_call_update(call_id, agent_id=agent2.id)
    with pytest.raises(DispositionRejected) as err:
        await store.save_disposition(call_id, agent1.id, "resolved", "")
    assert err.value.code == "not_your_call"
    assert await interactions(store) == []
    await store.save_disposition(call_id, agent2.id, "resolved", "ok")
    assert len(await interactions(store)) == 1


async def test_disposition_on_a_call_nobody_answered_is_refused(store: Store) -> None:
    # Regression: any agent could write a disposition on an unanswered call.
    call_id = await start_call(store)
    agent = await store.create_agent("agent1", "agent1-pass")
    with pytest.raises(DispositionRejected) as err:
        await store.save_disposition(call_id, agent.id, "resolved", "")
    assert err.value.code == "not_your_call" and "answered by nobody" in err.value.detail
    assert await interactions(store) == []


async def test_a_second_disposition_of_a_call_edits_the_first(store: Store) -> None:
    # Regression: saving twice wrote two records for one call.
    call_id = await start_call(store)
    agent = await store.create_agent("agent1", "agent1-pass")
    await store.record_call_update(call_id, agent_id=agent.id)
    first = await store.save_disposition(call_id, agent.id, "information", "first")
    second = await store.save_disposition(call_id, agent.id, "follow_up", "")
    (row,) = await interactions(store)
    assert first.id == second.id == row.id
    assert (row.disposition, row.notes, row.agent_id) == ("follow_up", None, agent.id)
    await asyncio.gather(*(store.save_disposition(call_id, agent.id, "resolved", f"n{i}")
                           for i in range(8)))  # fmt: skip
    (row,) = await interactions(store)
    assert row.disposition == "resolved" and row.notes in {f"n{i}" for i in range(8)}
    async with store.sessions() as session:  # the database holds it too, not only the code
        with pytest.raises(sa.exc.IntegrityError):
            session.add(Interaction(call_id=call_id, agent_id=agent.id, created_at=T0,
                                    disposition="resolved"))  # fmt: skip
            await session.flush()


async def test_outcome_lost_is_accepted_after_the_migration(db_url: str) -> None:
    # The PBX-restart outcome ("lost", transcript 20) must pass the outcome check of both tables.
    await migrate(db_url)
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            for table in ("calls", "queue_outcomes"):
                ddl = await conn.run_sync(
                    lambda c, t=table: [
                        ck["sqltext"] for ck in sa.inspect(c).get_check_constraints(t)
                    ]
                )
                assert any("'lost'" in str(text) for text in ddl), (table, ddl)
    finally:
        await engine.dispose()


async def test_a_queued_callbacks_progress_and_end_are_kept_on_its_request(store: Store) -> None:
    from callcenter.facts import RecordCallbackProgress, RecordCallbackRequest
    from callcenter.storage.models import CallbackRequest

    call_id = await start_call(store, caller_number="0912000001")
    name = "/var/spool/asterisk/voicemail/hotline/callback-x-name.wav"
    at = T0 + dt.timedelta(seconds=40)
    # the request and its first attempt in one batch: the progress finds the new row
    await store.apply(
        RecordCallbackRequest(call_id, T0, "0912000001", "support", "care", "queued",
                              name_file=name),
        RecordCallbackProgress(call_id, "queued", T0, "pending", 1),
    )  # fmt: skip

    async def row() -> CallbackRequest:
        async with store.sessions() as s:
            [found] = list(await s.scalars(sa.select(CallbackRequest)))
            return found

    first = await row()
    assert (first.status, first.attempts, first.ended_at, first.name_file) == (
        "pending", 1, None, name)  # fmt: skip
    await store.apply(RecordCallbackProgress(call_id, "queued", at, "completed", 2))
    await store.apply(RecordCallbackProgress(call_id, "queued", at, "completed", 2))  # replay
    await store.apply(RecordCallbackProgress(call_id, "queued", T0, "failed", 3))  # too late
    done = await row()
    assert (done.status, done.attempts, done.ended_at) == ("completed", 2, at)
    with pytest.raises(ValueError, match="callback status"):
        RecordCallbackProgress(call_id, "queued", at, "maybe", 1)


async def test_a_token_made_before_scopes_keeps_every_scope(db_url: str) -> None:
    # 0016: a token of before acted with its login's whole role; it still may
    from callcenter.storage.tokens import Tokens

    await migrate(db_url, "0013")
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine), hasher=cheap_hasher())
        await store.create_agent("boss", "boss-pass", "admin")
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO api_tokens (name, agent_id, token_hash, created_at) SELECT "
                "'old', id, 'h', :t FROM agents"), {"t": T0})  # fmt: skip
        await migrate(db_url)
        tokens = Tokens(store)
        await tokens.add("new", "boss", T0)
        rows = {r.name: r.scopes for r in await tokens.rows()}
        assert rows == {"old": ("admin", "calls", "read"), "new": ("read",)}
    finally:
        await engine.dispose()


async def test_a_scheduled_callback_keeps_its_due_time_agent_and_note(store: Store) -> None:
    # 0017: a callback set on the desk (node desk) is read back by a restarted controller
    from callcenter.facts import RecordCallbackProgress, RecordCallbackRequest

    call_id = await start_call(store, caller_number="0912000001")
    other = await start_call(store, "1700000000.2")
    due = T0 + dt.timedelta(hours=2)
    await store.apply(
        RecordCallbackRequest(call_id, T0, "0912000001", "support", "desk", "desk",
                              due_at=due, agent_id=7, note="the invoice"),
        RecordCallbackRequest(other, T0, "0912000002", "support", "care", "queued"),
    )  # fmt: skip
    [row] = await store.scheduled_callbacks("pbx1")
    assert (row.call_id, row.agent_id, row.note, row.status) == (call_id, 7, "the invoice",
                                                                 "pending")  # fmt: skip
    assert row.due_at is not None and row.due_at.replace(tzinfo=dt.UTC) == due
    assert await store.scheduled_callbacks("pbx2") == []
    await store.apply(RecordCallbackProgress(call_id, "desk", due, "completed", 1))
    assert await store.scheduled_callbacks("pbx1") == [], "done: not read back again"
    with pytest.raises(ValueError, match="due_at"):
        RecordCallbackRequest(call_id, T0, "0912000001", "support", "desk", "desk",
                              due_at=dt.datetime(2026, 12, 5, 10))  # fmt: skip


async def test_a_disposition_keeps_its_fcr_flag_and_rows_of_before_have_none(db_url: str) -> None:
    # 0018: the agent's FCR flag is stored with the disposition; a row written before
    # the column has none (NULL), so the reports count it by its code as they did
    await migrate(db_url, "0017")
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine), hasher=cheap_hasher())
        agent = await store.create_agent("agent1", "agent1-pass")
        old, new = await start_call(store, "1700000000.1"), await start_call(store, "1700000000.2")
        for call_id in (old, new):
            await store.record_call_update(call_id, agent_id=agent.id)
        async with engine.begin() as conn:
            await conn.execute(sa.text(
                "INSERT INTO interactions (call_id, agent_id, created_at, disposition) "
                "VALUES (:c, :a, :t, 'resolved')"), {"c": old, "a": agent.id, "t": T0})  # fmt: skip
        await migrate(db_url)
        saved = await store.save_disposition(new, agent.id, "resolved", "", fcr=False)
        assert saved.fcr is False
        flags = {r.call_id: r.fcr for r in await interactions(store)}
        assert flags == {old: None, new: False}
        # a second save edits the flag; one left unsaid is None again
        await store.save_disposition(new, agent.id, "follow_up", "", fcr=True)
        await store.save_disposition(old, agent.id, "resolved", "")
        assert {r.call_id: r.fcr for r in await interactions(store)} == {old: None, new: True}
    finally:
        await engine.dispose()
async def test_0019_starts_the_leader_term_at_zero(engine: AsyncEngine) -> None:
    # the writer's fence and the election read and raise this one row (callcenter.leader)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT id, term, holder FROM leader_terms"))).all()
    assert [tuple(r) for r in rows] == [(1, 0, None)]
