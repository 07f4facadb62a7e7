"""The controller itself killed (SIGKILL) and restarted mid-run.

On a real Asterisk, callers parked in AsyncAGI wait in silence forever when
their controller dies (res_agi has no timeout: transcript 12). The restarted
controller must find them with CoreShowChannels, pick them up, and every call
must still end with exactly one outcome in SQL.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from sqlalchemy import func, select

from callcenter.demo import AgentDesktop
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import Call, CallEvent, QueueOutcome
from pbxsim.server import PBXSim

from .e2e_support import (  # noqa: F401 (sim_and_config, start_controller: other tests')
    free_port,
    scenario,
    seeded,
    sim_and_config,
    start_controller,
    stop_all,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent


def parked(sim: PBXSim) -> list[str]:
    return [c.name for c in sim.world.channels.values() if c.agi is not None and c.role == "caller"]


async def test_killed_controller_restarts_and_every_call_gets_one_outcome(tmp_path, db_url):
    numbers = await seeded(db_url, agents=2)
    world = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 50})
    sim, cfg = await sim_and_config(tmp_path, db_url, world, seed=5)
    procs = []
    desks: list[AgentDesktop] = []
    try:
        first, base = await start_controller(cfg)
        procs.append(first)
        desks = [AgentDesktop(base, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2)]
        for d in desks:
            d.start()
        await wait_until(lambda: len(parked(sim)) >= 2, 60, "two callers in the IVR or queue")
        first.send_signal(signal.SIGKILL)  # no Logoff, no cleanup: a crash
        await first.wait()
        for d in desks:
            await d.stop()
        await asyncio.sleep(1.5)
        orphans = parked(sim)
        assert orphans, "callers should be left parked in AsyncAGI by the dead controller"

        second, base = await start_controller(cfg)
        procs.append(second)
        desks = [AgentDesktop(base, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2)]
        for d in desks:
            d.start()
        await asyncio.sleep(4)
        sim.world.population.stop_arrivals()
        await wait_until(lambda: not any(c.role == "caller" for c in sim.world.channels.values()),
                         120, "every caller to hang up")  # fmt: skip
        await asyncio.sleep(1.0)
    finally:
        await stop_all(procs, desks)
        await sim.close()

    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        async with store.sessions() as s:
            calls = list(await s.scalars(select(Call)))
            counts = dict((await s.execute(
                select(QueueOutcome.call_id, func.count()).group_by(QueueOutcome.call_id))).all())  # fmt: skip
            kinds = list(await s.scalars(select(CallEvent.kind)))
    finally:
        await engine.dispose()
    assert len(calls) >= 3
    for c in calls:
        assert counts.get(c.id) == 1, f"{c.id}: {counts.get(c.id)} outcomes (outcome {c.outcome})"
        assert c.outcome is not None
    assert "adopted" in kinds, "the restarted controller picked up no parked caller"
    assert any(c.outcome == "answered" for c in calls)


def holding(sim: PBXSim) -> list[str]:
    """Callers in the middle of a hold slice (the old EXEC MusicOnHold or WAIT FOR DIGIT)."""
    return [
        c.name for c in sim.world.channels.values()
        if c.role == "caller" and c.agi is not None and c.agi.running is not None
        and c.agi.running.command.upper().startswith(("WAIT FOR DIGIT", "EXEC MUSICONHOLD"))
    ]  # fmt: skip


async def queued_calls(db_url: str) -> list[Call]:
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            return list(await s.scalars(select(Call).where(Call.queued_at.is_not(None))))
    finally:
        await engine.dispose()


async def test_callers_holding_in_the_queue_survive_a_controller_restart(tmp_path, db_url):
    # Broke on a real Asterisk 22: callers held with EXEC MusicOnHold stay listed as
    # MusicOnHold by CoreShowChannels, so the restarted controller never adopted them.
    numbers = await seeded(db_url, agents=2)
    world = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 30},
                     callers={"patience": [900, 1200]})  # fmt: skip
    sim, cfg = await sim_and_config(tmp_path, db_url, world, seed=11)
    procs = []
    desks: list[AgentDesktop] = []
    held: list[str] = []
    try:
        # No agent at work: every caller who gets through the IVR waits on hold.
        first, base = await start_controller(cfg)
        procs.append(first)
        deadline = asyncio.get_running_loop().time() + 90
        while len(held) < 2:
            assert asyncio.get_running_loop().time() < deadline, "no two callers reached the queue"
            await asyncio.sleep(0.5)
            held = [c.id for c in await queued_calls(db_url)]
        # Let each of them get into a hold slice (3 s slices) before the crash.
        await wait_until(lambda: len(holding(sim)) >= 2, 60, "two callers in a hold slice")
        first.send_signal(signal.SIGKILL)
        await first.wait()
        sim.world.population.stop_arrivals()
        held = [c.id for c in await queued_calls(db_url)]

        second, base = await start_controller(cfg)
        procs.append(second)
        desks = [AgentDesktop(base, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2)]
        for d in desks:
            d.start()
        await wait_until(lambda: not any(c.role == "caller" for c in sim.world.channels.values()),
                         180, "every caller to be answered and hang up")  # fmt: skip
        await asyncio.sleep(1.0)
    finally:
        await stop_all(procs, desks)
        await sim.close()

    outcomes = {c.id: c.outcome for c in await queued_calls(db_url)}
    assert held, "no caller was holding at the crash"
    for call_id in held:
        assert outcomes.get(call_id) == "answered", f"{call_id} was held at the crash: {outcomes}"
