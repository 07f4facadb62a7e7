"""The database goes away under load, and the controller with writes in its journal is killed.

Calls flow through pbxsim (real AMI over TCP); PostgreSQL is a private server
(:class:`~tests.test_writer_outage.PrivatePostgres`) the test stops and starts.
What pbxsim's callers lived through is read by an AMI session of the test's own
(:class:`~tests.e2e_observer.Observer`), what was recorded from SQL:

- every caller pbxsim saw has exactly one call row and one outcome;
- the journal is empty afterwards, and nothing in it was applied twice.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from callcenter.demo import AgentDesktop
from callcenter.storage import (
    Journal,
    Store,
    default_journal_path,
    make_engine,
    make_session_factory,
)
from callcenter.storage.models import AgentStateChange, Call, CallEvent, QueueOutcome

from .e2e_observer import Observer
from .e2e_support import hotline_rig, scenario, seeded, wait_until
from .test_e2e_restart import sim_and_config, start_controller, stop_all
from .test_writer_outage import PrivatePostgres, running_private_pg


@pytest.fixture
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    async with running_private_pg() as pg:
        yield pg


def world(numbers: list[str]) -> dict[str, Any]:
    return scenario(
        numbers,
        arrivals={"kind": "poisson", "calls_per_minute": 60},
        callers={"patience": [120, 180]},
        agents={"default": {"answer_delay": [1, 2], "talk_time": [3, 6],
                            "agent_hangs_up_probability": 0.5}},
    )  # fmt: skip


def pending_in(journal: Path) -> int:
    """How many writes wait in the journal file ``journal``."""
    reopened = Journal(journal)
    try:
        return reopened.pending_count()
    finally:
        reopened.close()


async def sql_facts(url: str) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            calls = {c.id: c for c in await s.scalars(select(Call))}
            outcomes = dict((await s.execute(select(QueueOutcome.call_id, func.count())
                                             .group_by(QueueOutcome.call_id))).all())  # fmt: skip
            events = await s.scalar(select(func.count()).select_from(CallEvent))
            distinct_events = await s.scalar(select(func.count()).select_from(
                select(CallEvent.call_id, CallEvent.at, CallEvent.kind).distinct().subquery()))  # fmt: skip
            states = await s.scalar(select(func.count()).select_from(AgentStateChange))
            distinct_states = await s.scalar(select(func.count()).select_from(
                select(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.new)
                .distinct().subquery()))  # fmt: skip
    finally:
        await engine.dispose()
    return {"calls": calls, "outcomes": outcomes, "events": (events, distinct_events),
            "states": (states, distinct_states)}  # fmt: skip


def check_every_caller(observer: Observer, facts: dict[str, Any]) -> None:
    assert observer.callers, "pbxsim had no caller"
    for uid, caller in observer.callers.items():
        assert caller.hung_up, f"{caller.channel} never ended"
        call_id = f"pbxsim:{uid}"
        assert call_id in facts["calls"], f"{caller.channel}: no call row"
        assert facts["outcomes"].get(call_id) == 1, (
            f"{call_id}: {facts['outcomes'].get(call_id)} outcome rows"
        )
        assert facts["calls"][call_id].outcome is not None, f"{call_id}: no outcome on its row"
    events, distinct = facts["events"]
    assert events == distinct, f"{events - distinct} call events written twice"
    states, distinct = facts["states"]
    assert states == distinct, f"{states - distinct} agent states written twice"


async def test_five_database_outages_lose_no_call(tmp_path: Path, private_pg: PrivatePostgres):
    rng = random.Random(11)
    async with hotline_rig(tmp_path, private_pg.url, world, agents=4, time_scale=3.0) as rig:
        writer = rig.hotline.writer
        assert writer is not None and writer.journal_path is not None
        journal = writer.journal_path
        observer = Observer(rig.sim.port)
        await observer.start()
        noticed = 0
        try:
            assert rig.hotline.urls is not None
            async with aiohttp.ClientSession() as http:
                for n in range(5):
                    await asyncio.sleep(rng.uniform(2, 4))  # calls flow between outages
                    down_for = rng.uniform(3, 8)
                    loop = asyncio.get_running_loop()
                    await private_pg.stop("immediate" if n % 2 else "fast")
                    stopped = loop.time()
                    try:
                        await wait_until(lambda: not writer.db_up, down_for, "a failed write")
                    except AssertionError:
                        pass  # no write was due meanwhile: checked below over all five
                    else:
                        noticed += 1
                        async with http.get(f"{rig.hotline.urls.base}/healthz") as resp:
                            health = await resp.json()
                        assert resp.status == 503 and health["storage"]["database_up"] is False
                    await asyncio.sleep(max(0.0, down_for - (loop.time() - stopped)))
                    await private_pg.start()
            rig.sim.world.population.stop_arrivals()
            await wait_until(lambda: all(c.hung_up for c in observer.callers.values()), 240,
                             "every caller to end")  # fmt: skip
            await wait_until(lambda: not rig.ctl.calls, 60, "the controller to close every call")
            await asyncio.sleep(1.0)
            await writer.flush(timeout=120)
            assert writer.pending == 0 and writer.db_up
        finally:
            await observer.close()
        facts = await sql_facts(private_pg.url)
        print(f"{len(observer.callers)} callers, outages noticed by the writer: {noticed}, "
              f"writes replayed: {writer.replayed}, set aside: {writer.set_aside}")  # fmt: skip
        assert noticed >= 3, "the writer should have met the database away"
        assert writer.replayed > 0
        check_every_caller(observer, facts)
    assert pending_in(journal) == 0


async def figure(http: aiohttp.ClientSession, base: str, name: str) -> float:
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


async def test_a_killed_controller_replays_its_journal_once(
    tmp_path: Path, private_pg: PrivatePostgres
):
    numbers = await seeded(private_pg.url, agents=2)
    sim, cfg = await sim_and_config(tmp_path, private_pg.url, world(numbers), seed=5)
    journal = default_journal_path(private_pg.url, cfg.parent / "var")  # beside the config
    observer = Observer(sim.port)
    await observer.start()
    procs = []
    desks: list[AgentDesktop] = []
    try:
        async with aiohttp.ClientSession() as http:
            first, base = await start_controller(cfg)
            procs.append(first)
            desks = [AgentDesktop(base, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2)]
            for d in desks:
                d.start()
            await wait_until(lambda: len(observer.callers) >= 3, 60, "calls flowing")
            await private_pg.stop("fast")
            pending = 0.0

            async def journaled() -> bool:
                nonlocal pending
                pending = await figure(http, base, "hotline_writer_pending")
                return pending >= 20

            deadline = asyncio.get_running_loop().time() + 60
            while not await journaled():
                assert asyncio.get_running_loop().time() < deadline, "no writes journaled"
                await asyncio.sleep(0.2)
            first.send_signal(signal.SIGKILL)  # a crash with writes in the journal
            await first.wait()
            for d in desks:
                await d.stop()
            left = Journal(journal)
            try:
                held = left.pending_count()
            finally:
                left.close()
            assert held >= 20, f"the journal holds {held} write(s) after the kill"

            await private_pg.start()
            second, base = await start_controller(cfg)
            procs.append(second)
            # the previous run's journal is replayed before the controller reads SQL
            assert await figure(http, base, "hotline_writer_replayed_total") >= held
            desks = [AgentDesktop(base, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2)]
            for d in desks:
                d.start()
            await asyncio.sleep(3)  # a few more calls on the restarted controller
            sim.world.population.stop_arrivals()
            await wait_until(lambda: all(c.hung_up for c in observer.callers.values()), 240,
                             "every caller to end")  # fmt: skip
            deadline = asyncio.get_running_loop().time() + 60
            while await figure(http, base, "hotline_writer_pending") > 0:
                assert asyncio.get_running_loop().time() < deadline, "writes still pending"
                await asyncio.sleep(0.2)
            await asyncio.sleep(2.0)  # the outcomes of the last hang-ups
    finally:
        await stop_all(procs, desks)
        await observer.close()
        await sim.close()
    facts = await sql_facts(private_pg.url)
    print(f"{len(observer.callers)} callers; {held} write(s) in the journal at the kill")
    check_every_caller(observer, facts)
    assert pending_in(journal) == 0


async def test_an_ami_reconnect_during_a_database_outage_keeps_calls_flowing(
    tmp_path: Path, private_pg: PrivatePostgres
):
    """Regression: the resync after an AMI reconnect waited in ``writer.flush()`` until the
    database came back, so no caller of the node was driven and no agent offered meanwhile."""
    async with hotline_rig(tmp_path, private_pg.url, world, agents=4, time_scale=3.0) as rig:
        writer = rig.hotline.writer
        population = rig.sim.world.population
        ended: set[str] = set()  # pbxsim's callers that hung up, by Linkedid
        bridged: list[str] = []  # callers pbxsim bridged to an agent, in order

        def on_hangup(ch: Any) -> None:
            if ch.role == "caller":
                ended.add(ch.linkedid)

        def on_bridge(bridge: Any, ch: Any, entered: bool) -> None:
            if entered and ch.role == "agent":
                bridged.append(bridge.uniqueid)

        rig.sim.world.hangup_hooks.append(on_hangup)
        rig.sim.world.bridge_hooks.append(on_bridge)
        node = next(iter(rig.ctl.nodes.values()))
        client = node.client
        await wait_until(lambda: len(bridged) >= 1, 60, "a first caller bridged to an agent")
        await private_pg.stop("fast")
        await wait_until(lambda: not writer.db_up, 60, "the writer to meet the database away")
        reconnects, arrived = client.reconnects, population.stats["arrived"]
        await rig.sim.stop_listener()  # the AMI link drops; callers keep arriving unseen
        await wait_until(lambda: population.stats["arrived"] > arrived, 60,
                         "a caller arriving while the link is down")  # fmt: skip
        await rig.sim.start_listener()
        await wait_until(lambda: client.reconnects > reconnects and node.synced.is_set(), 60,
                         "the resync to end while the database is away")  # fmt: skip
        before = len(bridged)
        await wait_until(lambda: len(bridged) > before, 90,
                         "a caller bridged to an agent after the resync, the database away")  # fmt: skip
        assert not writer.db_up and writer.pending > 0
        adopted = rig.ctl.counters["adopted"]
        await private_pg.start()
        population.stop_arrivals()
        await wait_until(lambda: not any(ch.role == "caller"
                                         for ch in rig.sim.world.channels.values()), 240,
                         "every caller to end")  # fmt: skip
        await wait_until(lambda: not rig.ctl.calls, 60, "the controller to close every call")
        await writer.flush(timeout=120)
        assert writer.pending == 0 and writer.db_up
        facts = await sql_facts(private_pg.url)
        print(f"{len(ended)} callers, {adopted} adopted at the reconnect, "
              f"{writer.replayed} writes replayed")  # fmt: skip
        assert adopted >= 1, "the caller that arrived while the link was down was not adopted"
        for linkedid in sorted(ended):
            call_id = f"pbxsim:{linkedid}"
            assert call_id in facts["calls"], f"{call_id}: no call row"
            assert facts["outcomes"].get(call_id) == 1, (
                f"{call_id}: {facts['outcomes'].get(call_id)} outcome rows"
            )
            assert facts["calls"][call_id].outcome is not None, f"{call_id}: no outcome on its row"
