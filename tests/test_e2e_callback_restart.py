"""A controller restart while a queued callback waits loses nothing.

pbxsim over real TCP AMI, the controller as its own process (stopped by SIGTERM, or
killed by SIGKILL), a real database (SQLite and PostgreSQL). A caller presses 1 on
hold, confirms its number and is hung up: its virtual caller waits, no agent at work.
The controller goes away; nothing of the call is left on the PBX. The restarted
controller reads the pending request from SQL, puts the virtual caller back in line
with its entry time, and when agent 1 is ready the callback is put through: the
agent hears the whisper, the customer answers, and the call ends ``answered`` once,
its request ``completed`` after one attempt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from callcenter.demo import SECRET, AgentDesktop, config_text
from callcenter.reports.build import build_report
from callcenter.reports.load import load_report_data
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import Call, CallbackRequest, CallEvent, QueueOutcome
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_support import seeded, wait_until
from .test_e2e_callback import FLOW, SETTINGS, world_with
from .test_e2e_restart import free_port, start_controller, stop_all


async def rows(db_url: str) -> dict[str, Any]:
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            return {
                "calls": list(await s.scalars(select(Call))),
                "requests": list(await s.scalars(select(CallbackRequest))),
                "outcomes": list(await s.scalars(select(QueueOutcome))),
                "events": list(await s.scalars(select(CallEvent).order_by(CallEvent.id))),
            }
    finally:
        await engine.dispose()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
async def test_a_restart_while_a_callback_waits_loses_nothing(
    tmp_path: Path, db_url: str, how: signal.Signals
) -> None:
    numbers = await seeded(db_url, agents=1)
    number = numbers[0]
    world = world_with({number: ["answer"]})(numbers)
    sim = PBXSim(port=0, users={"hotline": SECRET}, scenario=Scenario.from_dict(world),
                 seed=5, spool_dir=tmp_path / "spool", time_scale=3.0)  # fmt: skip
    await sim.start()
    (tmp_path / "monitor").mkdir()
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW)
    cfg = tmp_path / "hotline.yaml"
    text = config_text(ami_port=sim.port, database_url=db_url, web_port=free_port(),
                       monitor=tmp_path / "monitor", ivr_file=flow, offer_timeout_s=6,
                       wrap_up_s=1, hold_slice_s=3)  # fmt: skip
    cfg.write_text(text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n" + SETTINGS, 1))
    procs: list[Any] = []
    desks: list[AgentDesktop] = []
    try:
        first, _base = await start_controller(cfg)
        procs.append(first)
        caller = sim.world.population.arrive(number, ("1", "1", "1"), patience=600)
        await wait_until(lambda: caller.outcome, 90, "the caller hung up after the dialog")

        async def pending() -> bool:
            return any(r.status == "pending" for r in (await rows(db_url))["requests"])

        deadline = asyncio.get_running_loop().time() + 60
        while not await pending():
            assert asyncio.get_running_loop().time() < deadline, "no pending request in SQL"
            await asyncio.sleep(0.3)
        first.send_signal(how)
        await first.wait()
        assert not any(c.role == "caller" for c in sim.world.channels.values())
        before = await rows(db_url)
        [call] = before["calls"]
        assert call.outcome is None, f"the virtual caller was settled at the stop ({how.name})"

        second, base = await start_controller(cfg)
        procs.append(second)
        desks = [AgentDesktop(base, "agent1", "agent1-pass", ready=True)]
        desks[0].start()

        def customer_talking() -> Any:
            return next((ch for ch in sim.world.channels.values()
                         if ch.name.startswith(f"Local/{number}@hotline-callback-out")
                         and ch.name.endswith(";1") and ch.bridge is not None), None)  # fmt: skip

        try:
            await wait_until(customer_talking, 120, "the customer bridged with agent 1")
        except AssertionError:
            now = await rows(db_url)
            raise AssertionError(([(e.kind, e.data) for e in now["events"]],
                                  [(r.status, r.node) for r in now["requests"]],
                                  sorted(sim.world.channels))) from None
        sim.world.hangup(customer_talking().peer, how="remote", cause=16)

        async def ended() -> bool:
            return bool((await rows(db_url))["outcomes"])

        deadline = asyncio.get_running_loop().time() + 60
        while not await ended():
            assert asyncio.get_running_loop().time() < deadline, "no outcome in SQL"
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
    finally:
        await stop_all(procs, desks)
        await sim.close()
    after = await rows(db_url)
    [call] = after["calls"]
    [outcome] = after["outcomes"]
    assert (call.outcome, outcome.outcome, outcome.queue) == ("answered", "answered", "support")
    [request] = after["requests"]
    assert (request.status, request.attempts, request.number) == ("completed", 1, number)
    kinds = [e.kind for e in after["events"]]
    assert kinds.count("callback_adopted") == 1 and kinds.count("callback_completed") == 1
    # its wait ran from its first entry, across the restart
    assert call.queued_at is not None and request.ended_at is not None
    [adopted] = [e for e in after["events"] if e.kind == "callback_adopted"]
    assert adopted.data["wait_s"] >= (adopted.at - call.queued_at).total_seconds() - 1.0
    # the KPIs (acd.kpis, through the reports) read the request's end: one of one completed
    engine = make_engine(db_url)
    try:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        data = await load_report_data(make_session_factory(engine), since,
                                      since + dt.timedelta(hours=3), fcr_codes=())  # fmt: skip
    finally:
        await engine.dispose()
    report = build_report(data, by="queue", since=since, until=since + dt.timedelta(hours=3),
                          zone=ZoneInfo("UTC"), targets={})  # fmt: skip
    [row] = [r for r in report.rows if r.queue == "support"]
    figures = row.figures
    assert (figures.callbacks_requested, figures.callbacks_completed,
            figures.callback_success) == (1, 1, 1.0)  # fmt: skip
