"""PJSIP agent legs as transcript 16 recorded them (busy, ringing past Timeout, no contact,
answered), driven by a scenario's agent phones, compared event by event with the
transcript; and the Local ``Busy()`` leg of 03 unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, Msg, connect, trail, transcript

SCALE = 10.0
T16 = transcript("16-agent-leg-failures-pjsip")
#: 16's bench: 2001 answers 486, 2002 rings for ever, 2003 has no contact, 2004 answers in 1 s.
BENCH = Scenario.from_dict({"agents": {"phones": {
    "2001": {"busy_probability": 1.0}, "2002": {"no_answer_probability": 1.0},
    "2003": {"unreachable": True}, "2004": {"answer_delay": 1.0, "talk_time": 1e6},
}}})  # fmt: skip
CALLER_ID = '"Khach 16" <0912001601>'


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[tuple[PBXSim, AMIClient]]:
    sim = PBXSim(time_scale=SCALE, scenario=BENCH, spool_dir=tmp_path / "spool")
    await sim.start()
    client = await connect(sim.port)
    try:
        yield sim, client
    finally:
        await client.close()
        await sim.close()


async def park(c: AMIClient) -> str:
    aid = c.send("Originate", {"Channel": "Local/s@caller-sim", "Context": "hotline-safe",
                               "Exten": "s", "Priority": "1", "Async": "true",
                               "Variable": "HOLD=120", "CallerID": CALLER_ID})  # fmt: skip
    resp = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    await c.event("AsyncAGIStart", Channel=resp["Channel"])
    return resp["Channel"]


async def agent_leg(c: AMIClient, caller: str, endpoint: str, channel_id: str, **kw: str) -> Msg:
    aid = c.send("Originate", {"Channel": f"PJSIP/{endpoint}", "Application": "Bridge",
                               "Data": f"{caller},F(after-call^s^1)", "Async": "true",
                               "ChannelId": channel_id, "OtherChannelId": f"{channel_id}-2",
                               "CallerID": CALLER_ID, **kw})  # fmt: skip
    return await c.wait_for(
        lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid, timeout=10
    )


def leg_trail(msgs: list[Msg], endpoint: str) -> list[tuple[str, ...]]:
    return trail(msgs, [f"PJSIP/{endpoint}"], devices=[f"PJSIP/{endpoint}"])


async def test_busy_agent_leg_is_reason_0_with_techcause_486(bench) -> None:
    sim, c = bench
    caller = await park(c)
    resp = await agent_leg(c, caller, "2001", "s16-busy-a")
    await c.event("Hangup", Channel="PJSIP/2001-00000000")
    assert (resp["Response"], resp["Reason"], resp["Uniqueid"]) == ("Failure", "0", "s16-busy-a")
    # Newchannel .. DialBegin, HangupRequest 17/486, OriginateResponse, DialEnd BUSY, Hangup.
    assert leg_trail(c.messages, "2001") == leg_trail(T16, "2001")


async def test_unanswered_agent_leg_is_reason_3_at_the_timeout_without_dialend(bench) -> None:
    sim, c = bench
    caller = await park(c)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    resp = await agent_leg(c, caller, "2002", "s16-noanswer-a", Timeout="4000")
    elapsed = (loop.time() - t0) * SCALE
    await c.event("DeviceStateChange", Device="PJSIP/2002", State="NOT_INUSE")
    assert (resp["Response"], resp["Reason"]) == ("Failure", "3")
    assert 3.9 < elapsed < 5.0  # 16: 4.0 s after the Originate
    assert leg_trail(c.messages, "2002") == leg_trail(T16, "2002")
    assert not [m for m in c.events("DialEnd") if m["DestChannel"].startswith("PJSIP/2002")]


async def test_endpoint_without_contact_fails_at_once_and_makes_no_channel(bench) -> None:
    sim, c = bench
    caller = await park(c)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    resp = await agent_leg(c, caller, "2003", "s16-unreachable-a")
    assert (loop.time() - t0) * SCALE < 0.5  # 16: within 1 ms
    # 16: the ChannelId as Uniqueid and the given CallerID, the dial string as Channel.
    theirs = next(m for m in T16 if m.name == "OriginateResponse" and m["Channel"] == "PJSIP/2003")
    keys = ("Response", "Channel", "Application", "Reason", "Uniqueid", "CallerIDNum",
            "CallerIDName")  # fmt: skip
    assert [resp[k] for k in keys] == [theirs[k] for k in keys]
    assert leg_trail(c.messages, "2003") == leg_trail(T16, "2003")


async def test_answered_agent_leg_is_reason_4_and_bridges(bench) -> None:
    sim, c = bench
    caller = await park(c)
    resp = await agent_leg(c, caller, "2004", "s16-answer-a")
    assert (resp["Response"], resp["Reason"], resp["Channel"]) == (
        "Success",
        "4",
        "PJSIP/2004-00000000",
    )
    await c.event("BridgeEnter", Channel="PJSIP/2004-00000000")
    await c.action("Hangup", {"Channel": "PJSIP/2004-00000000"})
    hangup = await c.event("Hangup", Channel="PJSIP/2004-00000000")
    assert (hangup["Cause"], hangup.get("TechCause")) == ("16", None)  # 16: no TechCause

    def until_answer(msgs: list[Msg], chan: str) -> list[tuple[str, ...]]:
        out = trail(msgs, [chan], devices=["PJSIP/2004"], skip=["VarSet"])
        return out[: [e[0] for e in out].index("DialEnd") + 1]

    # Newchannel, AppDial2, caller id, DialBegin, ringing, Up, DialEnd ANSWER.
    assert until_answer(c.messages, "PJSIP/2004-00000000") == until_answer(
        T16, "PJSIP/2004-00000002"
    )


async def test_local_busy_agent_keeps_reason_5(bench) -> None:
    """Regression guard: 03's Local/...@agent-busy (Busy()) stays Reason 5."""
    sim, c = bench
    aid = c.send("Originate", {"Channel": "Local/2002@agent-busy", "Application": "Wait",
                               "Data": "1", "Timeout": "4000", "Async": "true"})  # fmt: skip
    resp = await c.wait_for(
        lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid, timeout=10
    )
    assert (resp["Response"], resp["Reason"], resp["Uniqueid"]) == ("Failure", "5", "<unknown>")
