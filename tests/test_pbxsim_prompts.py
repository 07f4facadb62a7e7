"""AGI prompts as transcript 17 recorded them, replayed on its clock: GET DATA of a missing
prompt (result -1, AsyncAGI goes on), SAY NUMBER / SAY DIGITS, STREAM FILE and CONTROL
STREAM FILE cut by a digit (endpos in samples / in ms, PLAYBACKSTATUS / CPLAYBACK*),
GET DATA ended by ``#``, RECORD FILE with BEEP (a WAV of the timeout's length), EXEC
Playback of a list."""

from __future__ import annotations

import asyncio
import re
import wave
from pathlib import Path
from urllib.parse import unquote

from pbxsim.server import PBXSim
from pbxsim.testing import Msg, connect, read_actions, send_paced, trail, transcript

SCALE = 10.0
HERE = Path(__file__).parent / "ami-transcripts"
T17 = transcript("17-agi-prompts-and-say")
THEIR_CALLERS = ["Local/s@caller-sim-00000003", "Local/s@caller-sim-00000004"]


def results(msgs: list[Msg]) -> dict[str, str]:
    return {m["CommandId"]: unquote(m["Result"]) for m in msgs if m.name == "AsyncAGIExec"}


def agi_trail(msgs: list[Msg], base: str) -> list[tuple[str, ...]]:
    """What happens on the caller's ;1 from AsyncAGIStart on (no Newexten, no DTMF: the
    phone half's timing is not the point), with VarSet names and AGIExecEnd codes."""
    out = trail(msgs, [base + ";1"], skip=["Newexten", "DTMFBegin", "DTMFEnd", "OriginateResponse"],
                fields=("Variable", "ResultCode"))  # fmt: skip
    return out[[e[0] for e in out].index("AsyncAGIStart") :]


async def test_transcript_17_replayed_on_its_clock(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    sim = PBXSim(time_scale=SCALE, spool_dir=spool)
    await sim.start()
    c = await connect(sim.port)
    blocks, _ = read_actions(HERE / "17-agi-prompts-and-say.actions.txt")

    def rename(text: str) -> str:
        ours = [m["Channel"][:-2] for m in c.events("OriginateResponse")]
        for theirs, mine in zip(THEIR_CALLERS, ours, strict=False):
            text = text.replace(theirs, mine)
        return text.replace("/var/spool/asterisk", str(spool))

    try:
        async with asyncio.timeout(30):
            await send_paced(c, blocks, SCALE, rename)
            for m in c.events("OriginateResponse"):
                await c.event("Hangup", Channel=m["Channel"], timeout=10)
    finally:
        await c.close()
        await sim.close()
    ours_callers = [m["Channel"][:-2] for m in c.events("OriginateResponse")]

    # Every AGI result as Asterisk gave it (endpos of a cut prompt is a time: same unit).
    def shape(text: str) -> str:
        return re.sub(r"endpos=[1-9]\d*", "endpos=N", text)

    theirs, ours = results(T17), results(c.messages)
    assert {k: shape(v) for k, v in ours.items()} == {k: shape(v) for k, v in theirs.items()}
    # Uncut, the same numbers: RECORD FILE's endpos is its timeout in samples.
    record = next(b.get("CommandID") for b in blocks if "RECORD FILE" in b.get("Command"))
    assert ours[record] == theirs[record]
    # The same events on each caller, in the same order: no AsyncAGIEnd after GET DATA of a
    # missing prompt; PLAYBACKSTATUS, CPLAYBACKSTATUS/STOPKEY/OFFSET where 17 set them.
    for mine, recorded in zip(ours_callers, THEIR_CALLERS, strict=True):
        assert agi_trail(c.messages, mine) == agi_trail(T17, recorded)
    # CONTROL STREAM FILE: endpos in ms, equal to CPLAYBACKOFFSET (17: 1760 and 1760).
    control = next(b.get("CommandID") for b in blocks if "CONTROL STREAM" in b.get("Command"))
    endpos = re.search(r"endpos=(\d+)", ours[control])
    offset = next(m["Value"] for m in c.events("VarSet") if m["Variable"] == "CPLAYBACKOFFSET")
    assert endpos is not None and endpos.group(1) == offset
    # RECORD FILE wrote its file: 8 kHz 16-bit mono, as long as endpos says.
    path = next(Path(p) for p in re.findall(r"RECORD FILE (\S+) wav", rename(
        next(b.raw.decode() for b in blocks if "RECORD FILE" in b.get("Command")))))  # fmt: skip
    with wave.open(str(path.with_name(path.name + ".wav"))) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
        recorded_endpos = re.search(r"endpos=(\d+)", theirs[record])
        assert recorded_endpos is not None and w.getnframes() == int(recorded_endpos.group(1))
