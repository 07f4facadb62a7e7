"""Every message pbxsim sends has a header-name list Asterisk 22 sent for that
Event / Response (header-inventory.txt), in the same order.

One scripted session drives pbxsim through every kind of message it can emit;
the raw bytes are parsed with our own codec, independently of pbxsim.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from callcenter.ami.codec import NEED_DATA, AMICodec
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, connect, read_inventory

HERE = Path(__file__).parent / "ami-transcripts"
INVENTORY = read_inventory(HERE / "header-inventory.txt")

#: Inventory entries pbxsim never emits, and why.
NOT_EMITTED = {
    # app_queue is not simulated: the controller does its own ACD.
    "Event: AgentCalled", "Event: AgentComplete", "Event: AgentConnect",
    "Event: QueueCallerAbandon", "Event: QueueCallerJoin", "Event: QueueCallerLeave",
    "Event: QueueEntry", "Event: QueueMember", "Event: QueueMemberPause",
    "Event: QueueMemberStatus", "Event: QueueParams", "Event: QueueSummary",
    "Response: Success to QueuePause",
    # RTCP is not simulated (19).
    "Event: RTCPSent",
}  # fmt: skip

#: What this brief requires pbxsim to emit, at least.
REQUIRED = {
    "Event: AsyncAGIStart", "Event: AsyncAGIExec", "Event: AsyncAGIEnd", "Event: AGIExecStart",
    "Event: AGIExecEnd", "Event: OriginateResponse", "Event: Newchannel", "Event: Hangup",
    "Event: BridgeCreate", "Event: BridgeEnter", "Event: BridgeLeave", "Event: BridgeDestroy",
    "Event: MixMonitorStart", "Event: MixMonitorStop", "Event: MixMonitorMute",
    "Event: RequestBadFormat", "Event: CoreShowChannel", "Event: CoreShowChannelsComplete",
    "Event: Status", "Event: StatusComplete", "Event: ChannelHungup",
    "Event: ChannelsHungupListComplete", "Event: DTMFBegin", "Event: DTMFEnd",
    "Event: BlindTransfer", "Event: BridgeListItem", "Event: BridgeListComplete",
    "Event: FullyBooted", "Event: SuccessfulAuth", "Event: VarSet", "Event: Newexten",
    "Response: Error to ?(no ActionID)", "Response: Success to ?(no ActionID)",
    "Response: Error to PauseMixMonitor", "Response: Success to Command",
    "Response: Error to Command", "Response: Success to ListCommands",
    # 15-22
    "Event: MusicOnHoldStart", "Event: MusicOnHoldStop", "Event: DialState", "Event: DialEnd",
    "Event: HangupRequest", "Event: BridgeInfoChannel", "Event: BridgeInfoComplete",
    "Response: Success to BridgeInfo", "Event: PeerStatus", "Event: ChanSpyStart",
    "Event: ChanSpyStop",
}  # fmt: skip


def collapse(names: list[str]) -> list[str]:
    """Variable-length repeats (Output, Variable) count as one."""
    out: list[str] = []
    for n in names:
        if n in ("Output", "Variable") and out and out[-1] == n:
            continue
        out.append(n)
    return out


def keys_of(raw: bytes, sent: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(inventory key, header names) of every message in a raw AMI capture."""
    codec = AMICodec()
    codec.receive_data(raw)
    out = []
    while (msg := codec.next_message()) is not NEED_DATA:
        names = msg.names()
        if msg.kind == "event":
            out.append((f"Event: {msg.name}", names))
        else:
            aid = msg.get("ActionID")
            action = sent.get(aid, "?") if aid else "?(no ActionID)"
            out.append((f"Response: {msg.name} to {action}", names))
    return out


async def drive(sim: PBXSim, tmp: Path) -> list[AMIClient]:
    """Make pbxsim emit every kind of message it can."""
    port = sim.port
    # Before login (08 badlogin): Permission denied, then a failed login.
    early = await connect(port, login=False)
    await early.action("Ping")
    await early.action("CoreStatus")
    await early.action("Login", {"Username": "hotline", "Secret": "wrong"})
    c = await connect(port)
    c.send("Ping", action_id=None)
    for action in (
        "Ping",
        "CoreSettings",
        "CoreStatus",
        "ListCommands",
        "FooBar",
        "PauseMixMonitor",
    ):
        await c.action(action)
    for cmd in ("core show version", "core show channels concise", "no such cli command"):
        await c.action("Command", {"Command": cmd})
    c.send_raw(b"\r\n")  # a stray empty line: Missing action in request
    await c.wait_for(lambda m: m.get("Message") == "Missing action in request")

    async def caller(cid: str, variables: list[str] = ()) -> str:
        fields = [("Channel", "Local/s@caller-sim"), ("Context", "hotline"), ("Exten", "s"),
                  ("Priority", "1"), ("CallerID", cid), ("Async", "true")]  # fmt: skip
        fields += [("Variable", v) for v in variables]
        aid = c.send("Originate", fields)
        resp = await c.wait_for(
            lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid
        )
        start = await c.event("AsyncAGIStart", Channel=resp["Channel"])
        return start["Channel"]

    async def agi(chan: str, command: str) -> str:
        cid = f"cmd-{len(c.messages)}"
        await c.action("AGI", {"Channel": chan, "Command": command, "CommandID": cid})
        return (await c.event("AsyncAGIExec", timeout=10, CommandId=cid))["Result"]

    a = await caller('"A" <5550001>', ["DIGITS=2", "DELAY=1", "HOLD=600"])
    for command in ('STREAM FILE demo-congrats "12#"', "SET MUSIC ON default", "SET MUSIC OFF",
                    "EXEC MusicOnHold default,1", "GET VARIABLE DIGITS", "BOGUS"):  # fmt: skip
        await agi(a, command)
    b = await caller('"B" <5550002>', ["HOLD=600"])
    aid = c.send("Originate", {"Channel": "Local/1001@agent-phones", "Application": "Bridge",
                               "Data": f"{b},F(after-call^s^1)", "Async": "true"})  # fmt: skip
    await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    await c.event("BridgeEnter", Channel=b)
    agent = next(
        ch.name
        for ch in sim.world.channels.values()
        if ch.name.startswith("Local/1001") and ch.half == 1
    )
    await c.action("MixMonitor", {"Channel": b, "File": "hdr.wav", "Options": "bi(MIXMON_ID)"})
    await c.action("MixMonitor", {"Channel": agent, "File": str(tmp / "agent.wav")})
    await c.action("MixMonitorMute", {"Channel": b, "Direction": "both", "State": "1"})
    await c.action("Getvar", {"Channel": b, "Variable": "MIXMON_ID"})
    await c.action("StopMixMonitor", {"Channel": b})
    for action in ("BridgeList", "CoreShowChannels", "Status"):
        await c.collect_list(action)
    await c.collect_list(
        "Status", {"Channel": b, "Variables": "CALLERID(num)", "AllVariables": "true"}
    )
    await c.action("Hangup", {"Channel": agent.replace(";1", ";2")})  # the agent hangs up: F()
    await c.event("AsyncAGIStart", Channel=b, Context="after-call")
    await agi(b, "HANGUP")
    # Bridge action, BlindTransfer, Redirect, regex Hangup.
    d = await caller('"D" <5550004>', ["HOLD=600"])
    e = await caller('"E" <5550005>', ["HOLD=600"])
    await c.action("Bridge", {"Channel1": d, "Channel2": e})
    await c.action("BlindTransfer", {"Channel": e, "Context": "transfer-target", "Exten": "300"})
    await c.event("Newexten", Channel=d, Context="transfer-target")
    await c.action("Redirect", {"Channel": d, "Context": "hotline", "Exten": "s", "Priority": "1"})
    await c.event("AsyncAGIStart", Channel=d, start=len(c.messages) - 1)
    await c.collect_list("Hangup", {"Channel": "/^Local/s@caller-sim-.*;1$/"})
    # Attended transfer (07-C): declined once (Unhold), then completed.
    f = await caller('"F" <5550006>', ["HOLD=600"])
    c.send(
        "Originate",
        {"Channel": "Local/1001@agent-phones", "Application": "Bridge", "Data": f, "Async": "true"},
    )
    await c.event("BridgeEnter", Channel=f)
    agent = next(
        ch.name
        for ch in sim.world.channels.values()
        if ch.name.startswith("Local/1001") and ch.half == 1
    )
    # unrecorded: CancelAtxfer (pbxsim/transfer.py rule 5), between the two
    for how in ("declined", "cancelled", "completed"):
        mark = len(c.messages)
        await c.action("Atxfer", {"Channel": agent, "Context": "agent-phones", "Exten": "1002"})
        enter = await c.wait_for(
            lambda m: m.name == "BridgeEnter" and m["Channel"].startswith("Local/1002@"), start=mark
        )
        await c.event("BridgeEnter", Channel=agent, start=c.messages.index(enter))
        if how == "declined":
            await c.action("Hangup", {"Channel": enter["Channel"].replace(";1", ";2")})
            await c.event("Unhold", Channel=agent, start=mark)
        elif how == "cancelled":
            await c.action("CancelAtxfer", {"Channel": agent})
            await c.event("Hangup", Channel=enter["Channel"], start=mark)
            await c.event("Unhold", Channel=agent, start=mark)
        else:
            await c.action("Hangup", {"Channel": agent})
            await c.event("AttendedTransfer", start=mark)
    await c.action("Hangup", {"Channel": f})
    await c.action("Hangup", {"Channel": a})
    # Agent legs that fail: busy (Reason 5) and no answer (Reason 3, DialState ringing).
    for ctx in ("agent-busy", "agent-noanswer"):
        aid = c.send("Originate", {"Channel": f"Local/2002@{ctx}", "Application": "Wait", "Data": "1",
                                   "Timeout": "2000", "Async": "true"})  # fmt: skip
        await c.wait_for(
            lambda m, aid=aid: m.name == "OriginateResponse" and m.get("ActionID") == aid,
            timeout=10,
        )
    # The errors of 08.
    errors = [
        ("Hangup", {}), ("Originate", {"Context": "hotline", "Exten": "s", "Priority": "1"}),
        ("Originate", {"Channel": "Local/s@caller-sim", "Context": "nosuch", "Exten": "s", "Priority": "1"}),
        ("Originate", {"Channel": "Local/s@nosuch", "Context": "hotline", "Exten": "s", "Priority": "1"}),
        ("AGI", {"Channel": "Local/x@nosuch-00000000;1", "Command": "ANSWER"}), ("AGI", {"Command": "ANSWER"}),
        ("Redirect", {"Channel": "nosuch", "Context": "hotline", "Exten": "s", "Priority": "1"}),
        ("Hangup", {"Channel": "nosuch"}), ("Getvar", {"Channel": "nosuch", "Variable": "X"}),
        ("Bridge", {"Channel1": "nosuch", "Channel2": "nosuch"}), ("MixMonitor", {"Channel": "nosuch"}),
        ("StopMixMonitor", {"Channel": "nosuch"}), ("QueueAdd", {"Queue": "q", "Interface": "Local/9@x"}),
    ]  # fmt: skip
    for action, fields in errors:
        await c.action(action, fields)
    agent_w = c.send(
        "Originate",
        {
            "Channel": "Local/1001@agent-phones",
            "Application": "Wait",
            "Data": "20",
            "Async": "true",
        },
    )
    resp = await c.wait_for(
        lambda m: m.name == "OriginateResponse" and m.get("ActionID") == agent_w
    )
    await c.action("AGI", {"Channel": resp["Channel"], "Command": "ANSWER"})
    await c.action("StopMixMonitor", {"Channel": resp["Channel"]})
    await c.action("Bridge", {"Channel1": resp["Channel"], "Channel2": "nosuch"})
    for action in ("QueueStatus", "QueueSummary"):
        await c.collect_list(action, {"Queue": "nosuch"})
    await c.action("Hangup", {"Channel": resp["Channel"]})
    # PJSIP agent legs (16): busy, ringing past Timeout, no contact, answered; BridgeInfo (21).
    g = await caller('"G" <5550007>', ["HOLD=600"])
    for endpoint in ("2001", "2002", "2003", "2004"):
        aid = c.send("Originate", {"Channel": f"PJSIP/{endpoint}", "Application": "Bridge",
                                   "Data": f"{g},F(after-call^s^1)", "Timeout": "2000",
                                   "ChannelId": f"hdr-{endpoint}", "CallerID": '"G" <5550007>',
                                   "Async": "true"})  # fmt: skip
        await c.wait_for(
            lambda m, aid=aid: m.name == "OriginateResponse" and m.get("ActionID") == aid,
            timeout=10,
        )
    bridge = (await c.event("BridgeEnter", Channel="PJSIP/2004-00000002"))["BridgeUniqueid"]
    await c.collect_list("BridgeInfo", {"BridgeUniqueid": bridge})
    await c.collect_list("Status", {"Channel": g, "Variables": "MIXMON_ID"})
    spy = c.send("Originate", {"Channel": "Local/9000@supervisor-phone", "Application": "ChanSpy",
                               "Data": "PJSIP/2004,qE", "Async": "true"})  # fmt: skip
    spy_leg = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == spy)
    await c.event("ChanSpyStart", timeout=10)
    await c.action("Hangup", {"Channel": spy_leg["Channel"].replace(";1", ";2")})
    await c.event("ChanSpyStop", timeout=10)
    await c.action("Hangup", {"Channel": g})
    await c.action("Logoff")
    # A PBX restart (20): a login during the boot, then PeerStatus and FullyBooted.
    await sim.crash()
    await sim.restart(boot_s=5.0)
    after = await connect(sim.port)
    await after.event("FullyBooted", timeout=10)
    await after.action("Logoff")
    return [early, c, after]


async def test_every_message_has_an_asterisk_header_order(tmp_path: Path) -> None:
    phones = {"default": {"answer_delay": 0, "talk_time": 1e6},
              "phones": {"2001": {"busy_probability": 1.0}, "2002": {"no_answer_probability": 1.0},
                         "2003": {"unreachable": True}, "2004": {"answer_delay": 0.5}}}  # fmt: skip
    sim = PBXSim(time_scale=50.0, spool_dir=tmp_path / "spool",
                 scenario=Scenario.from_dict({"agents": phones}))  # fmt: skip
    await sim.start()
    try:
        async with asyncio.timeout(40):
            clients = await drive(sim, tmp_path)
            await asyncio.sleep(0.2)
    finally:
        await sim.close()
    emitted: set[str] = set()
    bad: list[str] = []
    for client in clients:
        sent = dict(client.sent_actions)
        for key, names in keys_of(bytes(client.raw), sent):
            emitted.add(key)
            variants = INVENTORY.get(key)
            if variants is None:
                continue  # not in the transcripts (Events, Challenge...): nothing to compare
            if collapse(names) not in [collapse(v) for v in variants]:
                bad.append(f"{key}: {names}\n   Asterisk: {variants}")
    assert not bad, "\n".join(bad)
    missing_required = REQUIRED - emitted
    assert not missing_required, f"never emitted: {sorted(missing_required)}"
    not_emitted = set(INVENTORY) - emitted
    assert not_emitted == NOT_EMITTED, (
        f"emitted but listed as not: {sorted(NOT_EMITTED - not_emitted)}; "
        f"not emitted and not listed: {sorted(not_emitted - NOT_EMITTED)}"
    )


@pytest.mark.parametrize("key", sorted(NOT_EMITTED))
def test_not_emitted_entries_exist_in_inventory(key: str) -> None:
    assert key in INVENTORY
