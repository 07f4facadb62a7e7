"""MixMonitor as transcript 18 recorded it, replayed on its clock: MixMonitorID only with
``i()``, MixMonitorMute on every recording of the channel or only the one named by
MixMonitorID, StopMixMonitor by id or (without) the most recently started one, a
recording ended by hangup has no MixMonitorStop."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pbxsim.server import PBXSim
from pbxsim.testing import connect, read_actions, send_paced, transcript

SCALE = 10.0
HERE = Path(__file__).parent / "ami-transcripts"
T18 = transcript("18-mixmonitor-ids")
THEIR_LOCALS = ["Local/s@caller-sim-00000005", "Local/1001@agent-phones-00000006"]


async def test_transcript_18_replayed_on_its_clock(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    sim = PBXSim(time_scale=SCALE, spool_dir=spool)
    await sim.start()
    c = await connect(sim.port)
    blocks, _ = read_actions(HERE / "18-mixmonitor-ids.actions.txt")
    ids: dict[str, str] = {}

    def rename(text: str) -> str:
        ours = [m["Channel"][:-2] for m in c.events("Newchannel") if m["Channel"].endswith(";1")]
        for theirs, mine in zip(THEIR_LOCALS, ours, strict=False):
            text = text.replace(theirs, mine)
        for theirs, mine in ids.items():
            text = text.replace(theirs, mine)
        return text.replace("/var/spool/asterisk", str(spool))

    original = c.response

    async def learn_ids(action_id: str, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        resp = await original(action_id, timeout)
        recorded = next(m for m in T18 if m.kind == "response" and m.get("ActionID") == action_id)
        if recorded.get("MixMonitorID") and resp.get("MixMonitorID"):
            ids[recorded["MixMonitorID"]] = resp["MixMonitorID"]
        return resp

    c.response = learn_ids  # type: ignore[method-assign]
    try:
        async with asyncio.timeout(30):
            await send_paced(c, blocks, SCALE, rename)
            await c.event("Hangup", Channel=c.events("OriginateResponse")[0]["Channel"])
    finally:
        await c.close()
        await sim.close()

    # Responses: MixMonitorID with i() only; every response as recorded, names and texts.
    for block in blocks:
        if block.get("Action") in ("Login", "Logoff"):
            continue
        aid = block.get("ActionID")
        recorded = next(m for m in T18 if m.kind == "response" and m.get("ActionID") == aid)
        ours = next(m for m in c.messages if m.kind == "response" and m.get("ActionID") == aid)
        assert (ours.names(), ours.get("Message")) == (recorded.names(), recorded.get("Message"))
    # MixMonitorStart/Stop/Mute events in the same number and order, Mute with the same
    # Direction/State (no file name, no id).
    names = ("MixMonitorStart", "MixMonitorStop", "MixMonitorMute")
    assert [
        (m.name, m.get("Direction"), m.get("State")) for m in c.messages if m.name in names
    ] == [(m.name, m.get("Direction"), m.get("State")) for m in T18 if m.name in names]

    # Each recording lasted from its MixMonitor to what ended it, on the transcript's clock:
    # by id (bi), without id (the most recent one: abs), or the agent's hangup (b).
    t = {b.get("ActionID"): b.t for b in blocks}
    starts = {
        b.get("File"): t[b.get("ActionID")] for b in blocks if b.get("Action") == "MixMonitor"
    }
    stop_by_id = next(
        b for b in blocks if b.get("Action") == "StopMixMonitor" and b.get("MixMonitorID")
    )
    stop_bare = next(
        b for b in blocks if b.get("Action") == "StopMixMonitor" and not b.get("MixMonitorID")
    )
    hangup = next(b for b in blocks if b.get("Action") == "Hangup")
    bi = next(f for f, _ in starts.items() if "-bi-" in f)
    b_only = next(f for f, _ in starts.items() if "-b-" in f)
    latest = max(starts, key=lambda f: starts[f])
    expected = {
        bi: stop_by_id.t - starts[bi],
        latest: stop_bare.t - starts[latest],
        b_only: hangup.t - starts[b_only],
    }  # fmt: skip
    recs = {Path(r.path).name: r for r in sim.world.recordings}
    for file, seconds in expected.items():
        rec = recs[Path(file).name]
        assert abs(rec.duration - seconds) < 0.3, (file, rec.duration, seconds)

    # Mute scope: a MixMonitorMute both=1 without id silences every recording running, with
    # an id only that one (18): count the silent windows in each file.
    mutes = [b for b in blocks if b.get("Action") == "MixMonitorMute" and
             b.get("Direction") == "both" and b.get("State") == "1"]  # fmt: skip
    for file, rec in ((bi, recs[Path(bi).name]), (b_only, recs[Path(b_only).name])):
        applies = [
            b for b in mutes if not b.get("MixMonitorID") or
            (file == bi and b.get("MixMonitorID") in ids)
        ]  # fmt: skip
        silent = [s for s in rec.segments if s[2] == () and s[3] == () and s[1] - s[0] > 0.2]
        assert len(silent) == len(applies), (file, rec.segments)
    assert re.fullmatch(r"0x[0-9a-f]+", next(iter(ids.values())))
