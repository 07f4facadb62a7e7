"""What a restarted controller finds while calls talk and ring (transcript 21): the caller
pulled into a bridge by the agent leg's Bridge(), the agent leg, a caller on hold, a
ringing agent leg; CoreShowChannels, Status with Variables, BridgeList and BridgeInfo
compared header by header with 21 (times aside, names and ids mapped)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, Msg, connect, transcript

SCALE = 10.0
T21 = transcript("21-restart-while-talking")
T21_DEAD = transcript("21-restart-while-talking.dead")
PHONES = Scenario.from_dict({"agents": {"phones": {
    "2002": {"no_answer_probability": 1.0},
    "2004": {"answer_delay": 1.0, "talk_time": 1e6},
}}})  # fmt: skip
TIMES = ("Duration", "Seconds")


async def park(c: AMIClient, cid: str, *variables: str) -> Msg:
    fields = [("Channel", "Local/s@caller-sim"), ("Context", "hotline-safe"), ("Exten", "s"),
              ("Priority", "1"), ("Async", "true"), ("CallerID", cid),
              *[("Variable", v) for v in ("HOLD=120", *variables)]]  # fmt: skip
    aid = c.send("Originate", fields)
    resp = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    await c.event("AsyncAGIStart", Channel=resp["Channel"])
    return resp


def recorded(aid: str) -> list[Msg]:
    return [m for m in T21 if m.get("ActionID") == aid and m.kind == "event"]


async def test_listings_while_talking_and_ringing_match_21(tmp_path: Path) -> None:
    sim = PBXSim(time_scale=SCALE, spool_dir=tmp_path / "spool", scenario=PHONES)
    await sim.start()
    c = await connect(sim.port)
    try:
        async with asyncio.timeout(30):
            await run(c)
    finally:
        await c.close()
        await sim.close()


async def run(c: AMIClient) -> None:
    their_a = next(m for m in T21_DEAD if m.name == "OriginateResponse" and m["Reason"] == "4")
    a = await park(c, '"Khach 21A" <0912002101>', "DELAY=0", "MOH=1")
    await c.action("AGI", {"Channel": a["Channel"], "Command": "SET MUSIC ON default"})
    await c.action("AGI", {"Channel": a["Channel"], "Command": "WAIT FOR DIGIT 20000"})
    c.send("Originate", {"Channel": "PJSIP/2004", "Application": "Bridge", "Async": "true",
                         "Data": f"{a['Channel']},F(after-call^s^1)", "ChannelId": "s21-agent-a",
                         "OtherChannelId": "s21-agent-b", "CallerID": '"Khach 21A" <0912002101>'})  # fmt: skip
    await c.event("BridgeEnter", Channel=a["Channel"], timeout=10)
    mix = await c.action("MixMonitor", {"Channel": a["Channel"], "File": "s21-a.wav",
                                        "Options": "bi(MIXMON_ID)"})  # fmt: skip
    b = await park(c, '"Khach 21B" <0912002102>')
    await c.action("AGI", {"Channel": b["Channel"], "Command": "SET MUSIC ON default"})
    await c.action("AGI", {"Channel": b["Channel"], "Command": "WAIT FOR DIGIT 20000"})
    c.send("Originate", {"Channel": "PJSIP/2002", "Application": "Bridge", "Async": "true",
                         "Data": f"{b['Channel']},F(after-call^s^1)", "ChannelId": "s21-ring-a",
                         "OtherChannelId": "s21-ring-b", "Timeout": "8000",
                         "CallerID": '"Khach 21B" <0912002102>'})  # fmt: skip
    await c.event("Newstate", Channel="PJSIP/2002-00000001", ChannelState="5", timeout=10)
    await c.action("AGI", {"Channel": b["Channel"], "Command": "NOOP"})  # a step of its hold

    their_b = next(m for m in T21_DEAD if m.name == "OriginateResponse" and m["Reason"] == "4"
                   and m is not their_a and m["Channel"].startswith("Local/"))  # fmt: skip
    bridge = next(m for m in c.events("BridgeEnter"))["BridgeUniqueid"]
    their_bridge = next(m for m in T21 if m.name == "BridgeListItem")["BridgeUniqueid"]
    their_mix = next(m for m in T21_DEAD if m.get("MixMonitorID"))["MixMonitorID"]
    rename = {their_a["Channel"]: a["Channel"], their_b["Channel"]: b["Channel"],
              their_a["Uniqueid"]: a["Uniqueid"], their_b["Uniqueid"]: b["Uniqueid"],
              their_bridge: bridge, their_mix: mix["MixMonitorID"]}  # fmt: skip
    for theirs, ours in list(rename.items()):
        if theirs.endswith(";1"):  # the ;2 halves too, and their Uniqueids
            rename[theirs[:-1] + "2"] = ours[:-1] + "2"
            their_uid = next(m["Uniqueid"] for m in T21_DEAD
                             if m.name == "Newchannel" and m["Channel"] == theirs[:-1] + "2")  # fmt: skip
            rename[their_uid] = next(m["Uniqueid"] for m in c.events("Newchannel")
                                     if m["Channel"] == ours[:-1] + "2")  # fmt: skip

    def mapped(m: Msg) -> list[tuple[str, str]]:
        out = []
        for k, v in m.headers:
            if k in TIMES or k == "ActionID":
                continue
            for theirs, ours in rename.items():
                v = v.replace(theirs, ours)
            out.append((k, v))
        return out

    def ours_of(items: list[Msg]) -> list[list[tuple[str, str]]]:
        return sorted(mapped(m) for m in items)

    # CoreShowChannels: the talking caller (Application empty, BridgeId, Priority 5), the
    # agent leg (Bridge, <caller>,F(...), Linkedid = the caller's), the ringing leg
    # (Ringing, AppDial2), the caller on hold (AGI): 21's csc1 header by header. Their
    # second caller's phone half was in Wait(2) at that moment: compare the others.
    _, items, _ = await c.collect_list("CoreShowChannels")
    theirs = [m for m in recorded("s21-csc1") if m.name == "CoreShowChannel"]
    skip = {b["Channel"][:-1] + "2"}
    assert [x for x in ours_of(items) if dict(x)["Channel"] not in skip] == [
        x for x in ours_of(theirs) if dict(x)["Channel"] not in skip
    ]
    # Status of each, with Variables: MIXMON_ID (set on the caller, (null) elsewhere).
    for aid, chan in (("s21-st1", a["Channel"]), ("s21-st2", "PJSIP/2004-00000000"),
                      ("s21-st3", b["Channel"]), ("s21-st4", "PJSIP/2002-00000001")):  # fmt: skip
        _, items, _ = await c.collect_list("Status", {"Channel": chan, "Variables": "MIXMON_ID"})
        assert ours_of(items) == ours_of([m for m in recorded(aid) if m.name == "Status"]), aid
    # 21: the bridged caller's Seconds count from its entry into the bridge, not from its
    # creation with its ;2 half.
    seconds = {}
    for chan in (a["Channel"], a["Channel"][:-1] + "2"):
        _, items, _ = await c.collect_list("Status", {"Channel": chan})
        seconds[chan] = int(items[0]["Seconds"])
    assert seconds[a["Channel"]] < seconds[a["Channel"][:-1] + "2"]
    _, items, _ = await c.collect_list("BridgeList")
    assert ours_of(items) == ours_of(
        [m for m in recorded("s21-bl1") if m.name != "BridgeListComplete"]
    )
    _, items, done = await c.collect_list("BridgeInfo", {"BridgeUniqueid": bridge})
    assert ours_of([*items, done]) == ours_of(recorded("s21-bi1"))
