"""ChanSpy as transcript 19 recorded it, replayed on its clock: a supervisor's Local leg
spying on a PJSIP agent (listen, whisper, barge), ended by the supervisor's phone, by
hanging up the ChanSpy half, and (option E) by the agent hanging up."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import Msg, connect, read_actions, send_paced, trail, transcript

SCALE = 10.0
HERE = Path(__file__).parent / "ami-transcripts"
T19 = transcript("19-chanspy-supervisor")
NAME = re.compile(r"Local/[^\s;@/]+@[\w-]+-[0-9a-f]{8}|PJSIP/\w+-[0-9a-f]{8}")
PHONES = Scenario.from_dict({"agents": {"phones": {"2004": {"answer_delay": 1.0,
                                                            "talk_time": 1e6}}}})  # fmt: skip


def created(msgs: list[Msg]) -> list[str]:
    out: list[str] = []
    for m in msgs:
        if m.name == "Newchannel":
            base = NAME.match(m["Channel"])
            if base and base.group(0) not in out:
                out.append(base.group(0))
    return out


async def test_transcript_19_replayed_on_its_clock(tmp_path: Path) -> None:
    sim = PBXSim(time_scale=SCALE, spool_dir=tmp_path / "spool", scenario=PHONES)
    await sim.start()
    c = await connect(sim.port)
    blocks, _ = read_actions(HERE / "19-chanspy-supervisor.actions.txt")
    theirs = created(T19)

    def rename(text: str) -> str:
        ours = created(c.messages)
        return NAME.sub(lambda m: ours[theirs.index(m.group(0))] if m.group(0) in theirs
                        and theirs.index(m.group(0)) < len(ours) else m.group(0), text)  # fmt: skip

    try:
        async with asyncio.timeout(30):
            await send_paced(c, blocks, SCALE, rename)
            caller = c.events("OriginateResponse")[0]["Channel"]
            await c.event("Hangup", Channel=caller, timeout=10)
    finally:
        await c.close()
        await sim.close()
    ours = created(c.messages)
    spies = [b for b in theirs if "supervisor-phone" in b]
    assert len(spies) == 3 and len(ours) == len(theirs)

    def spy_trail(msgs: list[Msg], base: str) -> list[tuple[str, ...]]:
        # ChanSpyStart/Stop and the spy's own events; device states and the dialplan of
        # the phone half aside (their order against the spy's is a race in Asterisk too).
        return [
            e
            for e in trail(
                msgs,
                [base + ";1", base + ";2"],
                skip=["Newexten", "VarSet", "DeviceStateChange"],
                fields=("Cause", "SpyeeUniqueid"),
            )  # fmt: skip
            if e[0] not in ("SoftHangupRequest", "HangupRequest")
        ]

    for spy in spies:
        mine = ours[theirs.index(spy)]
        assert spy_trail(c.messages, mine) == spy_trail(T19, spy), spy
    starts = [m for m in c.messages if m.name in ("ChanSpyStart", "ChanSpyStop")]
    assert [m.names() for m in starts] == [
        m.names() for m in T19 if m.name in ("ChanSpyStart", "ChanSpyStop")
    ]
    # The spy never enters the bridge.
    assert not [m for m in c.events("BridgeEnter") if "supervisor-phone" in m["Channel"]]
