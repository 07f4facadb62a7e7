"""pbxsim's attended transfer from a PJSIP agent leg (unrecorded: 07 C's transferer is a
Local ``;1``) into Hotline's ``[hotline-consult]``: the consulted phone busy (cause 17),
ringing out, answered then cancelled with ``CancelAtxfer`` (unrecorded: its
``atxferabort`` DTMF, the target hung up, the transferer back with the caller), and
completed by the transferer's hang-up as in 07 C (``AttendedTransfer``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, Msg, connect

from .test_pbxsim_agent_legs import agent_leg, park

SCALE = 10.0
#: 2004 is the first agent; 2005 busy, 2006 never answers, 2007 answers in 1 s
BENCH = Scenario.from_dict({"agents": {"phones": {
    "2004": {"answer_delay": 1.0, "talk_time": 1e6},
    "2005": {"busy_probability": 1.0}, "2006": {"no_answer_probability": 1.0},
    "2007": {"answer_delay": 1.0, "talk_time": 1e6},
}}})  # fmt: skip


@pytest.fixture
async def talking(tmp_path: Path) -> AsyncIterator[tuple[PBXSim, AMIClient, str, str]]:
    """The caller bridged with the PJSIP agent leg of 2004: (sim, client, caller, leg)."""
    sim = PBXSim(time_scale=SCALE, scenario=BENCH, spool_dir=tmp_path / "spool")
    await sim.start()
    c = await connect(sim.port)
    try:
        caller = await park(c)
        answered = await agent_leg(c, caller, "2004", "atx-agent")
        assert answered["Reason"] == "4"
        await c.event("BridgeEnter", Channel=answered["Channel"])
        yield sim, c, caller, answered["Channel"]
    finally:
        await c.close()
        await sim.close()


async def consult(c: AMIClient, leg: str, exten: str) -> int:
    mark = len(c.messages)
    reply = await c.action("Atxfer", {"Channel": leg, "Context": "hotline-consult",
                                      "Exten": exten})  # fmt: skip
    assert reply["Message"] == "Atxfer successfully queued"
    await c.event("Hold", Channel=leg, start=mark)
    return mark


async def entered(c: AMIClient, mark: int) -> Msg:
    """The consulted Local ;1 entering the consultation bridge (it answered)."""
    return await c.wait_for(
        lambda m: m.name == "BridgeEnter" and m["Channel"].startswith("Local/2007@hotline-consult"),
        30, mark)  # fmt: skip


async def test_a_busy_or_unanswered_consulted_phone_returns_the_agent(talking) -> None:
    sim, c, caller, leg = talking
    for exten, cause in (("2005", "17"), ("2006", "19")):
        mark = await consult(c, leg, exten)
        gone = await c.wait_for(
            lambda m, e=exten: m.name == "Hangup"
            and m["Channel"].startswith(f"Local/{e}@hotline-consult") and m["Channel"].endswith(";1"),
            30, mark)  # fmt: skip
        assert gone["Cause"] == cause
        await c.event("Unhold", Channel=leg, start=mark)
        assert sim.world.channels[caller].bridge is sim.world.channels[leg].bridge
        assert not sim.world.channels[caller].moh


async def test_cancel_atxfer_hangs_up_the_target_and_brings_the_agent_back(talking) -> None:
    sim, c, caller, leg = talking
    bad = await c.action("CancelAtxfer", {})
    assert (bad["Response"], bad["Message"]) == ("Error", "No channel specified")
    bad = await c.action("CancelAtxfer", {"Channel": "PJSIP/nope-00000000"})
    assert bad["Message"] == "Channel specified does not exist"
    mark = await consult(c, leg, "2007")
    target = await entered(c, mark)
    await c.event("BridgeEnter", Channel=leg, start=c.messages.index(target))
    assert sim.world.channels[caller].moh, "the caller hears music while the agents talk"
    ok = await c.action("CancelAtxfer", {"Channel": leg})
    assert ok["Message"] == "CancelAtxfer successfully queued"
    digits = [m["Digit"] for m in c.messages[mark:] if m.name == "DTMFEnd"]
    assert digits[-2:] == ["*", "1"]  # atxferabort, queued to the transferer
    await c.event("Hangup", Channel=target["Channel"], start=mark)
    await c.event("Unhold", Channel=leg, start=mark)
    ch = sim.world.channels[caller]
    assert ch.bridge is sim.world.channels[leg].bridge and not ch.moh


async def test_the_pjsip_agents_hang_up_completes_the_transfer(talking) -> None:
    sim, c, caller, leg = talking
    mark = await consult(c, leg, "2007")
    target = await entered(c, mark)
    await c.event("BridgeEnter", Channel=leg, start=c.messages.index(target))
    await c.action("Hangup", {"Channel": leg})
    done = await c.event("AttendedTransfer", start=mark)
    assert (done["Result"], done["DestType"]) == ("Success", "Bridge")
    assert done["OrigTransfererChannel"] == leg
    assert done["TransfereeChannel"] == caller
    bridge = sim.world.channels[caller].bridge
    assert bridge is not None
    assert {ch.name for ch in bridge.channels} == {caller, target["Channel"]}
