"""The simulated world behind pbxsim, seen over real AMI/TCP: scenario callers,
agent phones, bridges, recordings, the hotline-safe loop, a restarted AMI."""

from __future__ import annotations

import asyncio
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, Msg, connect

SCALE = 20.0


@pytest.fixture
async def make_sim(tmp_path: Path) -> AsyncIterator:
    sims: list[PBXSim] = []
    clients: list[AMIClient] = []

    async def make(scenario: Scenario | None = None, **kw: object) -> tuple[PBXSim, AMIClient]:
        sim = PBXSim(time_scale=SCALE, scenario=scenario, spool_dir=tmp_path / "spool", **kw)  # type: ignore[arg-type]
        await sim.start()
        sims.append(sim)
        client = await connect(sim.port)
        clients.append(client)
        return sim, client

    yield make  # every wait below is bounded by the client's own timeouts
    for c in clients:
        await c.close()
    for s in sims:
        await s.close()


def env(start: Msg) -> dict[str, str]:
    lines = unquote(start["Env"]).split("\n")
    return dict(line.split(": ", 1) for line in lines if ": " in line)


async def agi(c: AMIClient, chan: str, command: str, timeout: float = 5.0) -> str:
    cid = f"c{len(c.messages)}"
    resp = await c.action("AGI", {"Channel": chan, "Command": command, "CommandID": cid})
    assert resp["Response"] == "Success", resp
    return unquote((await c.event("AsyncAGIExec", timeout=timeout, CommandId=cid))["Result"])


async def park_caller(
    c: AMIClient, context: str = "hotline", name: str = "Alice", num: str = "5550102"
) -> str:
    aid = c.send("Originate", {"Channel": "Local/s@caller-sim", "Context": context, "Exten": "s",
                               "Priority": "1", "CallerID": f'"{name}" <{num}>', "Async": "true",
                               "Variable": "HOLD=3600"})  # fmt: skip
    resp = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    await c.event("AsyncAGIStart", Channel=resp["Channel"])
    return resp["Channel"]


TRACE = {
    "arrivals": {"kind": "trace", "calls": [
        {"at": 1.0, "number": "0901234567"},
        {"at": 2.0, "number": "+84912345678", "patience": 10},
    ]},
    "callers": {"menus": [{"name": "main", "choices": [{"digits": "1", "weight": 1}]}],
                "press_delay": 0.5, "patience": 600},
}  # fmt: skip


async def test_scenario_callers_enter_agi_press_digits_and_abandon(make_sim) -> None:
    sim, c = await make_sim(Scenario.from_dict(TRACE))
    first = await c.event("AsyncAGIStart")
    e = env(first)
    assert first["Channel"].startswith("PJSIP/trunk-") and first["Context"] == "hotline-safe"
    assert (e["agi_type"], e["agi_callerid"], e["agi_dnid"], e["agi_context"]) == (
        "PJSIP",
        "0901234567",
        "1900",
        "hotline-safe",
    )
    assert first["Env"].endswith("%0A%0A") and e["agi_channel"] == first["Channel"]
    # The caller presses its menu digit while GET DATA listens: DTMF events, then the AGI result.
    assert await agi(c, first["Channel"], "GET DATA beep 3000 1") == "200 result=1\n"
    dtmf = c.events("DTMFEnd")
    assert [(m["Channel"], m["Digit"], m["Direction"]) for m in dtmf] == [
        (first["Channel"], "1", "Received")
    ]
    # The second caller runs out of patience (10 s) during music on hold.
    second = await c.wait_for(
        lambda m: m.name == "AsyncAGIStart" and m["Channel"] != first["Channel"]
    )
    assert env(second)["agi_callerid"] == "+84912345678"
    assert await agi(c, second["Channel"], "EXEC MusicOnHold default,600") == "200 result=-1\n"
    hangup = await c.event("Hangup", Channel=second["Channel"])
    names = [m.name for m in c.messages if m.get("Channel") == second["Channel"]]
    tail = names[names.index("HangupRequest") :]
    assert tail[:4] == ["HangupRequest", "AGIExecEnd", "AsyncAGIExec", "AsyncAGIEnd"]
    assert hangup["Cause"] == "16"
    assert [x.outcome for x in sim.world.population.callers] == ["", "abandoned"]
    assert sim.world.population.stats["abandoned"] == 1


async def test_poisson_arrivals_respect_max_calls(make_sim) -> None:
    scenario = Scenario.from_dict({"arrivals": {"kind": "poisson", "calls_per_minute": 120, "max_calls": 3,
                                                "start_after": 4},
                                   "callers": {"patience": 1000}})  # fmt: skip
    sim, c = await make_sim(scenario)
    await c.wait_for(lambda m: len(c.events("AsyncAGIStart")) >= 3, timeout=10)
    numbers = [env(m)["agi_callerid"] for m in c.events("AsyncAGIStart")]
    assert len(numbers) == 3 and all(
        n.startswith(("+849", "+843", "+847", "+848", "09", "03", "07", "08")) for n in numbers
    )
    await asyncio.sleep(0.5)
    assert sim.world.population.stats["arrived"] == 3


async def test_agent_originate_with_bridge_app_bridges_and_takes_linkedid(make_sim) -> None:
    sim, c = await make_sim()
    caller = await park_caller(c)
    aid = c.send("Originate", {"Channel": "Local/1001@agent-phones", "Application": "Bridge",
                               "Data": f"{caller},F(after-call^s^1)", "CallerID": '"Agent 1001" <1001>',
                               "Async": "true"})  # fmt: skip
    resp = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    assert (resp["Response"], resp["Reason"], resp["Application"]) == ("Success", "4", "Bridge")
    agent_enter = await c.event("BridgeEnter", Channel=resp["Channel"])
    caller_enter = await c.event("BridgeEnter", Channel=caller)
    assert agent_enter["Linkedid"] == caller_enter["Linkedid"] == caller_enter["Uniqueid"]
    assert caller_enter["Priority"] == "4"  # pulled out of AGI at priority 3
    assert not [m for m in c.events("AsyncAGIEnd") if m["Channel"] == caller]
    # The agent's phone hangs up: the caller goes to F()'s target and re-enters AsyncAGI.
    await c.action("Hangup", {"Channel": resp["Channel"].replace(";1", ";2")})
    again = await c.event("AsyncAGIStart", Channel=caller, Context="after-call")
    assert env(again)["agi_context"] == "after-call"


async def test_mixmonitor_writes_a_wav_of_the_right_length(make_sim, tmp_path: Path) -> None:
    sim, c = await make_sim()
    caller = await park_caller(c)
    c.send(
        "Originate",
        {
            "Channel": "Local/1001@agent-phones",
            "Application": "Bridge",
            "Data": caller,
            "Async": "true",
        },
    )
    await c.event("BridgeEnter", Channel=caller)
    resp = await c.action(
        "MixMonitor", {"Channel": caller, "File": "call-1.wav", "Options": "bi(MIXMON_ID)"}
    )
    assert resp["MixMonitorID"].startswith("0x")
    path = Path(unquote((await c.event("VarSet", Variable="MIXMONITOR_FILENAME"))["Value"]))
    assert path == (tmp_path / "spool" / "monitor" / "call-1.wav").absolute()
    await asyncio.sleep(4.0 / SCALE)  # 4 simulated seconds
    await c.action("MixMonitorMute", {"Channel": caller, "Direction": "both", "State": "1"})
    await asyncio.sleep(1.0 / SCALE)
    await c.action("StopMixMonitor", {"Channel": caller, "MixMonitorID": resp["MixMonitorID"]})
    await c.event("MixMonitorStop", Channel=caller)
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert w.getnframes() / 8000 == pytest.approx(5.0, abs=0.5)
        frames = w.readframes(w.getnframes())
    assert any(frames[:8000]) and not any(frames[-800:])  # tones, then the muted tail


async def test_recording_ended_by_hangup_is_complete_when_hangup_arrives(make_sim) -> None:
    sim, c = await make_sim()
    caller = await park_caller(c)
    await c.action("MixMonitor", {"Channel": caller, "File": "by-hangup.wav"})
    path = Path(unquote((await c.event("VarSet", Variable="MIXMONITOR_FILENAME"))["Value"]))
    await asyncio.sleep(2.0 / SCALE)
    await c.action("Hangup", {"Channel": caller})
    await c.event("Hangup", Channel=caller)
    size = path.stat().st_size  # read right away, as a controller hashing the file would
    with wave.open(str(path)) as w:
        assert size == 44 + 2 * w.getnframes() and w.getnframes() / 8000 == pytest.approx(
            2.0, abs=0.5
        )
    assert not c.events("MixMonitorStop")  # 04: no MixMonitorStop when the call ends it


async def test_missing_prompt_in_hotline_safe_reenters_agi_up_to_three_times(make_sim) -> None:
    sim, c = await make_sim()
    chan = await park_caller(c, context="hotline-safe")
    for tries in range(4):
        assert await agi(c, chan, 'STREAM FILE no-such-prompt ""') == "200 result=-1 endpos=0\n"
        if tries < 3:  # SAFE_TRIES < 3: AGI again
            await c.wait_for(
                lambda m, n=tries + 2: (
                    len([x for x in c.events("AsyncAGIStart") if x["Channel"] == chan]) >= n
                )
            )
    await c.event("Hangup", Channel=chan)
    statuses = [m["Value"] for m in c.events("VarSet") if m["Variable"] == "AGISTATUS"]
    assert statuses == ["FAILURE"] * 4
    # EXEC Playback of a missing file does not end AGI (13).
    other = await park_caller(c, context="hotline-safe", name="B", num="5550103")
    assert await agi(c, other, "EXEC Playback no-such-prompt") == "200 result=0\n"
    assert await agi(c, other, "NOOP") == "200 result=0\n"


async def test_restarted_ami_keeps_calls_and_lists_parked_callers(make_sim) -> None:
    sim, c = await make_sim()
    chans = [
        await park_caller(c, name=n, num=num)
        for n, num in (("A", "0912345601"), ("B", "0912345602"))
    ]
    await sim.stop_listener()
    await asyncio.wait_for(c.closed.wait(), 2)
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", sim.port)
    await asyncio.sleep(0.2)
    await sim.start_listener()
    n = await connect(sim.port)
    try:
        _, items, done = await n.collect_list("CoreShowChannels")
        parked = {m["Channel"]: (m["Application"], m["ApplicationData"]) for m in items}
        assert all(parked[ch] == ("AGI", "agi:async") for ch in chans)
        assert done["ListItems"] == str(len(items)) == "4"
        assert await agi(n, chans[0], 'STREAM FILE beep ""') == "200 result=0 endpos=3404\n"
        await n.action(
            "Redirect", {"Channel": chans[1], "Context": "hotline", "Exten": "s", "Priority": "1"}
        )
        end = await n.event("AsyncAGIEnd", Channel=chans[1])
        start = await n.event("AsyncAGIStart", Channel=chans[1])
        assert n.messages.index(end) < n.messages.index(start)
    finally:
        await n.close()


async def test_agent_no_answer_and_busy_per_scenario(make_sim) -> None:
    scenario = Scenario.from_dict({"agents": {"default": {"answer_delay": 1},
                                              "phones": {"1001": {"no_answer_probability": 1.0},
                                                         "1002": {"busy_probability": 1.0}}}})  # fmt: skip
    sim, c = await make_sim(scenario)
    results = {}
    for ext in ("1001", "1002", "1003"):
        aid = c.send("Originate", {"Channel": f"Local/{ext}@agent-phones", "Application": "Wait",
                                   "Data": "1", "Timeout": "4000", "Async": "true"})  # fmt: skip
        results[ext] = aid
    got = {}
    for ext, aid in results.items():
        m = await c.wait_for(
            lambda m, aid=aid: m.name == "OriginateResponse" and m.get("ActionID") == aid
        )
        got[ext] = (m["Response"], m["Reason"], m["Uniqueid"])
    assert got["1001"] == ("Failure", "3", "<unknown>")
    assert got["1002"] == ("Failure", "5", "<unknown>")
    assert got["1003"][:2] == ("Success", "4")
    causes = {m["Channel"]: m["Cause"] for m in c.events("Hangup")}
    assert any(ch.startswith("Local/1002@") and cause == "17" for ch, cause in causes.items())
    assert any(ch.startswith("Local/1001@") and cause == "19" for ch, cause in causes.items())


async def test_talk_time_then_agent_hangs_up_and_caller_returns_to_agi(make_sim) -> None:
    scenario = Scenario.from_dict({"agents": {"default": {"answer_delay": 0.5, "talk_time": 3,
                                                          "agent_hangs_up_probability": 1.0}}})  # fmt: skip
    sim, c = await make_sim(scenario)
    caller = await park_caller(c)
    c.send("Originate", {"Channel": "PJSIP/agent1001", "Application": "Bridge",
                         "Data": f"{caller},F(after-call^s^1)", "Async": "true"})  # fmt: skip
    enter = await c.event("BridgeEnter", Channel=caller)
    again = await c.event("AsyncAGIStart", Channel=caller, Context="after-call")
    agent = next(
        m["Channel"] for m in c.events("BridgeEnter") if m["Channel"].startswith("PJSIP/agent1001-")
    )
    assert (await c.event("Hangup", Channel=agent))["Cause"] == "16"
    assert c.messages.index(enter) < c.messages.index(again)


async def test_event_filter_drops_events_at_the_source(make_sim) -> None:
    sim, c = await make_sim(event_filter=["VarSet", "Newexten", "AGIExecStart", "AGIExecEnd"])
    caller = await park_caller(c)
    assert await agi(c, caller, "ANSWER") == "200 result=0\n"
    names = {m.name for m in c.events()}
    assert not names & {"VarSet", "Newexten", "AGIExecStart", "AGIExecEnd"}
    assert {"Newchannel", "AsyncAGIStart", "AsyncAGIExec"} <= names


async def test_events_action_turns_the_stream_off_and_on(make_sim) -> None:
    sim, c = await make_sim()
    off = await c.action("Events", {"EventMask": "off"})
    assert off.names() == ["Response", "ActionID", "Events"] and off["Events"] == "Off"
    before = len(c.events())
    c.send("Originate", {"Channel": "Local/s@caller-sim", "Context": "hotline", "Exten": "s",
                         "Priority": "1", "Async": "true"})  # fmt: skip
    await asyncio.sleep(0.3)
    assert len(c.events()) == before
    assert (await c.action("Events", {"EventMask": "on"}))["Events"] == "On"
    c.send("Originate", {"Channel": "Local/s@caller-sim", "Context": "hotline", "Exten": "s",
                         "Priority": "1", "Async": "true"})  # fmt: skip
    await c.event("AsyncAGIStart")


async def test_same_seed_same_callers(make_sim) -> None:
    scenario = Scenario.from_dict({"arrivals": {"kind": "poisson", "calls_per_minute": 600, "max_calls": 4},
                                   "callers": {"patience": 1000, "menus": [{"choices": [
                                       {"digits": "1"}, {"digits": "2"}, {"digits": "3"}]}]}})  # fmt: skip
    runs = []
    for _ in range(2):
        sim, _c = await make_sim(scenario, seed=7)
        async with asyncio.timeout(10):
            while len(sim.world.population.callers) < 4:
                await asyncio.sleep(0.01)
        runs.append([(x.number, tuple(x.digits)) for x in sim.world.population.callers])
    assert runs[0] == runs[1] and len(runs[0]) == 4
