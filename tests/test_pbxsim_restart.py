"""A PBX that crashes and starts again on the same port (transcript 20), and the recording
race of a real Asterisk's bridge swap (``bridge_swap_s``, 21's log, 08's error)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, Msg, connect, transcript

SCALE = 10.0
T20 = transcript("20-pbx-restart")
T20_BLIP = transcript("20-pbx-restart.blip")
T20_AFTER = transcript("20-pbx-restart.after")
T08 = transcript("08-errors")
#: 20's bench: PJSIP endpoints 2001, 2002, 2004 have contacts, 2003 has none.
BENCH = {"agents": {"phones": {"2001": {"busy_probability": 1.0},
                               "2002": {"no_answer_probability": 1.0},
                               "2003": {"unreachable": True}, "2004": {"answer_delay": 1.0}}}}  # fmt: skip


@pytest.fixture
async def make_sim(tmp_path: Path) -> AsyncIterator:
    sims: list[PBXSim] = []

    async def make(**kw: object) -> PBXSim:
        kw.setdefault("time_scale", SCALE)
        sim = PBXSim(spool_dir=tmp_path / "spool", **kw)  # type: ignore[arg-type]
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for s in sims:
        await s.close()


async def park(c: AMIClient) -> str:
    aid = c.send("Originate", {"Channel": "Local/s@caller-sim", "Context": "hotline-safe",
                               "Exten": "s", "Priority": "1", "Async": "true",
                               "Variable": "HOLD=120"})  # fmt: skip
    resp = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    await c.event("AsyncAGIStart", Channel=resp["Channel"])
    return resp["Channel"]


def first(msgs: list[Msg], name: str) -> Msg:
    return next(m for m in msgs if m.name == name)


def response(msgs: list[Msg], aid: str) -> Msg:
    return next(m for m in msgs if m.kind == "response" and m.get("ActionID") == aid)


async def test_crash_then_restart_is_a_fresh_boot_on_the_same_port(make_sim) -> None:
    # Real time (scale 1): FullyBooted's Uptime is 0 as in 20 when the boot ends within 1 s.
    sim = await make_sim(scenario=Scenario.from_dict(BENCH), time_scale=1.0)
    port = sim.port
    ctl = await connect(port)
    # At login: FullyBooted right after the response, 20's login header order.
    assert first(ctl.messages, "FullyBooted").names() == first(T20, "FullyBooted").names()
    before = await ctl.action("CoreStatus")
    await park(ctl)
    _, items, _ = await ctl.collect_list("CoreShowChannels")
    assert len(items) == 2
    mark = len(ctl.messages)
    await sim.crash()
    await asyncio.wait_for(ctl.closed.wait(), 5)  # 20: EOF, nothing before it
    assert ctl.messages[mark:] == []
    with pytest.raises(OSError):  # 20: connect() refused until the new PBX listens
        await asyncio.open_connection("127.0.0.1", port)

    await sim.restart(boot_s=math.inf)  # booting until end_boot()
    assert sim.port == port
    after = await connect(port)
    status = await after.action("CoreStatus")
    recorded = response(T20_AFTER, "s20-a2")
    assert [m.name for m in after.messages] == [
        m.name for m in T20_AFTER[: T20_AFTER.index(recorded) + 1]
    ]  # Login response, SuccessfulAuth, CoreStatus: no FullyBooted yet
    assert (status["CoreStartupDate"], status["CoreStartupTime"]) != (
        before["CoreStartupDate"],
        before["CoreStartupTime"],
    )
    assert (status["CoreCurrentCalls"], status["CoreProcessedCalls"]) == (
        recorded["CoreCurrentCalls"],
        recorded["CoreProcessedCalls"],
    )
    sim.end_boot()
    booted = await after.event("FullyBooted", timeout=10)
    theirs = first(T20_AFTER, "FullyBooted")
    assert booted.headers == theirs.headers  # Status, Uptime 0, LastReload 0
    peers = [(m["Peer"], m["PeerStatus"]) for m in after.events("PeerStatus")]
    assert peers == [(m["Peer"], m["PeerStatus"]) for m in T20_AFTER if m.name == "PeerStatus"]
    _, items, done = await after.collect_list("CoreShowChannels")
    recorded_list = [m for m in T20_AFTER if m.get("ActionID") == "s20-a4" and m.kind == "event"]
    assert [m.headers for m in items + [done]] == [
        [(k, v.replace("s20-a4", done["ActionID"])) for k, v in m.headers] for m in recorded_list
    ]
    # A later login gets FullyBooted at once again, in the login order.
    late = await connect(port)
    assert first(late.messages, "FullyBooted").names() == first(T20_BLIP, "FullyBooted").names()
    for c in (after, late):
        await c.close()


async def test_mixmonitor_during_the_bridge_swap_is_refused(make_sim) -> None:
    """With ``bridge_swap_s`` the caller's channel is gone from the agent's answer to the
    caller's BridgeEnter: MixMonitor answers 08's missing-channel error, then works."""
    sim = await make_sim(bridge_swap_s=2.0)
    assert Scenario.from_dict({"bridge_swap_s": 0.5}).bridge_swap_s == 0.5
    c = await connect(sim.port)
    caller = await park(c)
    aid = c.send("Originate", {"Channel": "Local/1001@agent-phones", "Application": "Bridge",
                               "Data": f"{caller},F(after-call^s^1)", "Async": "true"})  # fmt: skip
    answered = await c.wait_for(
        lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid
    )
    assert answered["Reason"] == "4"
    refused = await c.action("MixMonitor", {"Channel": caller, "File": "race.wav",
                                            "Options": "bi(MIXMON_ID)"})  # fmt: skip
    assert not [m for m in c.events("BridgeEnter") if m["Channel"] == caller]  # still swapping
    missing = response(T08, "s08-111")  # MixMonitor on a channel that does not exist
    assert (refused["Response"], refused["Message"]) == (missing["Response"], missing["Message"])
    await c.event("BridgeEnter", Channel=caller, timeout=5)
    accepted = await c.action("MixMonitor", {"Channel": caller, "File": "race.wav",
                                             "Options": "bi(MIXMON_ID)"})  # fmt: skip
    assert accepted["Response"] == "Success" and accepted.get("MixMonitorID")
    await c.close()


async def test_no_swap_window_by_default(make_sim) -> None:
    sim = await make_sim()
    assert sim.world.bridge_swap_s == 0.0
    c = await connect(sim.port)
    caller = await park(c)
    aid = c.send("Originate", {"Channel": "Local/1001@agent-phones", "Application": "Bridge",
                               "Data": f"{caller},F(after-call^s^1)", "Async": "true"})  # fmt: skip
    await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    resp = await c.action("MixMonitor", {"Channel": caller, "File": "race.wav"})
    assert resp["Response"] == "Success"
    await c.close()
