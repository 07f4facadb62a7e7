"""The controller restarts (a clean stop, or SIGKILL) while a caller is on an IVR visit.

pbxsim over real TCP AMI, the controller as its own process, a real database (SQLite
and PostgreSQL). A recorded caller talks to agent 1; the supervisor sends it to the
IVR's ``card`` node (``sensitive``: the recording is muted there); while the caller
sits in that node's ``GET DATA`` and the agent leg waits in ``[hotline-agent-wait]``
with music, the controller goes away. Before these tests the restarted controller
put the caller back in the queue and hung the waiting agent up.

- Both still there: the restarted controller bridges the caller back with its agent
  (one ``Bridge``), lifts the node's mute, and the call ends ``answered`` once, with
  the muted span from before the restart in the recording row.
- The caller hung up meanwhile: the agent's leg is hung up (not left in music), the
  call ends ``answered`` once and the agent is ready again.
- The agent hung up meanwhile: the caller is not queued again; its call ends
  ``answered`` once (no survey in this IVR: it is hung up).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from callcenter.demo import SECRET, AgentDesktop, config_text
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import AgentStateChange, Call, CallEvent, QueueOutcome, Recording
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_support import scenario, seeded, wait_until
from .test_e2e_restart import free_port, start_controller, stop_all
from .test_e2e_sensitive import FLOW as SENSITIVE_FLOW

CARD_NODE_GET_DATA = "GET DATA hotline/vi/card"
# the sensitive node of test_e2e_sensitive, its input waiting long enough for a restart
FLOW = SENSITIVE_FLOW.replace("timeout_s: 30", "timeout_s: 60")


async def rig(tmp_path: Path, db_url: str) -> tuple[PBXSim, Path, list[str]]:
    """pbxsim (real time: nobody hangs up by itself) and the controller's config file."""
    numbers = await seeded(db_url, agents=1)
    world = scenario(numbers, arrivals={"kind": "trace", "calls": []},
                     agents={"default": {"answer_delay": [1, 1], "talk_time": [3600, 3600],
                                         "agent_hangs_up_probability": 1.0}})  # fmt: skip
    world["prompts"] = {"hotline/vi/main-menu": 1.0, "hotline/vi/card": 1.0}
    sim = PBXSim(port=0, users={"hotline": SECRET}, scenario=Scenario.from_dict(world),
                 seed=3, spool_dir=tmp_path / "spool", time_scale=1.0)  # fmt: skip
    await sim.start()
    (tmp_path / "monitor").mkdir()
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW)
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(config_text(ami_port=sim.port, database_url=db_url, web_port=free_port(),
                               monitor=tmp_path / "monitor", ivr_file=flow, offer_timeout_s=6,
                               wrap_up_s=1, hold_slice_s=3))  # fmt: skip
    return sim, cfg, numbers


async def sql(db_url: str) -> dict[str, Any]:
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            calls = list(await s.scalars(select(Call)))
            counts = dict((await s.execute(select(QueueOutcome.call_id, func.count())
                                           .group_by(QueueOutcome.call_id))).all())  # fmt: skip
            events = [(e.kind, e.data) for e in await s.scalars(
                select(CallEvent).order_by(CallEvent.at, CallEvent.id))]  # fmt: skip
            recs = list(await s.scalars(select(Recording)))
            states = [n for (n,) in (await s.execute(
                select(AgentStateChange.new).order_by(AgentStateChange.id))).all()]  # fmt: skip
    finally:
        await engine.dispose()
    return {"calls": calls, "counts": counts, "events": events, "recs": recs, "states": states}


async def send_to_card_node(base: str, call_id: str) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        login = {"username": "supervisor", "password": "supervisor-pass"}
        async with http.post(f"{base}/login", data=login) as resp:
            resp.raise_for_status()
        async with http.post(f"{base}/api/calls/{call_id}/ivr", json={"node": "card"}) as resp:
            assert resp.status == 200, await resp.text()


async def answered_call(db_url: str) -> str:
    """The call id once SQL says an agent answered it."""
    end = asyncio.get_running_loop().time() + 90
    while asyncio.get_running_loop().time() < end:
        answered = [c for c in (await sql(db_url))["calls"] if c.answered_at is not None]
        if answered:
            return answered[0].id
        await asyncio.sleep(0.3)
    raise AssertionError("no call was answered")


@pytest.mark.parametrize("away", ["stop", "kill", "caller-gone", "agent-gone"])
async def test_a_restart_during_an_ivr_visit_strands_nobody(
    tmp_path: Path, db_url: str, away: str
) -> None:
    sim, cfg, numbers = await rig(tmp_path, db_url)
    w = sim.world
    procs: list[Any] = []
    desks: list[AgentDesktop] = []
    try:
        first, base = await start_controller(cfg)
        procs.append(first)
        desks = [AgentDesktop(base, "agent1", "agent1-pass", ready=True)]
        desks[0].start()
        caller = w.population.arrive(numbers[0], ("1",), patience=3600)

        def ch(name: str) -> Any:
            return w.channels.get(name)

        def agent_leg() -> Any:
            return next((c for c in w.channels.values() if c.role == "agent"), None)

        await wait_until(lambda: ch(caller.channel) is not None and ch(caller.channel).bridge
                         is not None, 90, "the caller bridged with agent 1")  # fmt: skip
        call_id = await answered_call(db_url)
        await wait_until(lambda: any(r.channel == caller.channel for r in w.recordings), 30,
                         "the call's recording")  # fmt: skip
        await send_to_card_node(base, call_id)
        leg = agent_leg()

        def in_visit() -> bool:
            c = ch(caller.channel)
            return (c is not None and c.agi is not None and c.agi.running is not None
                    and c.agi.running.command.startswith(CARD_NODE_GET_DATA)
                    and leg.context == "hotline-agent-wait")  # fmt: skip

        await wait_until(in_visit, 60, "the caller keying at the card node, the agent waiting")
        first.send_signal(signal.SIGTERM if away == "stop" else signal.SIGKILL)
        assert await asyncio.wait_for(first.wait(), 30) == (0 if away == "stop" else -9)
        await desks[0].stop()
        desks = []
        await asyncio.sleep(0.5)
        assert in_visit(), "the controller's end changed nothing on the PBX"
        if away == "caller-gone":
            w.hangup(ch(caller.channel), how="remote", cause=16)
        elif away == "agent-gone":
            w.hangup(leg, how="remote", cause=16)
        await asyncio.sleep(0.5)

        second, base = await start_controller(cfg)
        procs.append(second)
        if away in ("stop", "kill"):
            await wait_until(lambda: leg.bridge is not None and ch(caller.channel) is not None
                             and ch(caller.channel).bridge is leg.bridge, 60,
                             "the caller bridged back with its agent")  # fmt: skip
            await asyncio.sleep(1.0)
            assert leg.bridge is ch(caller.channel).bridge, "the bridge back did not hold"
            w.hangup(leg, how="remote", cause=16)  # the agent ends the call
        await wait_until(lambda: not w.channels, 60, "every channel to be gone")
        if away == "caller-gone":
            assert leg.name not in w.channels
        await asyncio.sleep(1.5)  # the last writes
    finally:
        await stop_all(procs, desks)
        await sim.close()

    facts = await sql(db_url)
    [row] = facts["calls"]
    assert (row.outcome, facts["counts"].get(row.id)) == ("answered", 1), (row.outcome, facts)
    kinds = [k for k, _ in facts["events"]]
    adopted = [d for k, d in facts["events"] if k == "adopted"]
    assert kinds.count("queued") == 1, f"queued again after the restart: {kinds}"
    if away in ("stop", "kill"):
        assert adopted == [{"channel": caller.channel, "where": "visiting"}], adopted
        assert kinds.count("back_to_agent") == 1, kinds
        [rec] = facts["recs"]
        assert rec.size_bytes and rec.sha256, "the recording was never completed"
        [(start, end)] = rec.mute_intervals
        assert 0 < start < end, rec.mute_intervals
        unmuted = [d for k, d in facts["events"] if k == "recording_unmuted"]
        assert [d["by"] for d in unmuted] == ["ivr:card"], unmuted
    elif away == "agent-gone":
        assert [d["where"] for d in adopted] == ["parked"], adopted
        assert "back_to_agent" not in kinds
    if away == "caller-gone":
        assert facts["states"][-1] == "ready", facts["states"]
