"""Callers on hold, as transcripts 15, 21 and 22 recorded them: what CoreShowChannels and
Status say after an AGI ``EXEC``, results of a closed session's commands, ``SET MUSIC ON``
with ``WAIT FOR DIGIT``, prompts that stop the music, and a hang-up during the wait."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from pbxsim.testing import AMIClient, Msg, connect, read_actions, send_paced, trail, transcript

SCALE = 10.0
HERE = Path(__file__).parent / "ami-transcripts"
T15 = transcript("15-restart-during-hold")
T15_DEAD = transcript("15-restart-during-hold.dead")
T21 = transcript("21-restart-while-talking") + transcript("21-restart-while-talking.dead")
T22 = transcript("22-hold-with-announcements")
PHONES = Scenario.from_dict({"agents": {"phones": {
    "2002": {"no_answer_probability": 1.0},
    "2004": {"answer_delay": 1.0, "talk_time": 1e6},
}}})  # fmt: skip


@pytest.fixture
async def make_sim(tmp_path: Path) -> AsyncIterator:
    sims: list[PBXSim] = []

    async def make(**kw: object) -> PBXSim:
        sim = PBXSim(time_scale=SCALE, spool_dir=tmp_path / "spool", scenario=PHONES, **kw)  # type: ignore[arg-type]
        await sim.start()
        sims.append(sim)
        return sim

    yield make
    for s in sims:
        await s.close()


async def park(c: AMIClient, *variables: str) -> str:
    fields = [("Channel", "Local/s@caller-sim"), ("Context", "hotline-safe"), ("Exten", "s"),
              ("Priority", "1"), ("Async", "true"), ("CallerID", '"Khach" <0912001501>'),
              *[("Variable", v) for v in ("HOLD=120", *variables)]]  # fmt: skip
    aid = c.send("Originate", fields)
    resp = await c.wait_for(lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid)
    await c.event("AsyncAGIStart", Channel=resp["Channel"])
    return resp["Channel"]


async def agi(c: AMIClient, chan: str, command: str, cid: str) -> None:
    resp = await c.action("AGI", {"Channel": chan, "Command": command, "CommandID": cid})
    assert resp["Response"] == "Success", resp


async def listed(c: AMIClient, chan: str) -> tuple[str | None, str | None]:
    _, items, _ = await c.collect_list("CoreShowChannels")
    item = next(m for m in items if m["Channel"] == chan)
    return item.get("Application"), item.get("ApplicationData")


async def status(c: AMIClient, chan: str) -> tuple[str | None, str | None]:
    _, items, _ = await c.collect_list("Status", {"Channel": chan})
    return items[0].get("Application"), items[0].get("Data")


def theirs(aid: str, field_a: str, field_b: str) -> tuple[str | None, str | None]:
    """The (Application, Data) of 15's caller A in the list answering ``aid``."""
    item = next(
        m for m in T15 if m.get("ActionID") == aid and m.get("Channel", "").endswith("0000;1")
    )
    return item.get(field_a), item.get(field_b)


async def test_listing_keeps_the_exec_application_status_does_not(make_sim) -> None:
    """15: CoreShowChannels keeps MusicOnHold after the EXEC returned (even after a STREAM
    FILE); Status says AGI once it returned; a Redirect into AsyncAGI refreshes the listing."""
    sim = await make_sim()
    c = await connect(sim.port)
    a = await park(c)
    await agi(c, a, "EXEC MusicOnHold default,6", "s15-c1")
    await c.event("MusicOnHoldStart", Channel=a)
    during = await listed(c, a), await status(c, a)
    assert during == (theirs("s15-csc1", "Application", "ApplicationData"),
                      theirs("s15-st1", "Application", "Data"))  # fmt: skip
    await c.event("AsyncAGIExec", timeout=10, CommandId="s15-c1")
    after = await listed(c, a), await status(c, a)
    assert after == (theirs("s15-csc2", "Application", "ApplicationData"),
                     theirs("s15-st2", "Application", "Data"))  # fmt: skip
    await agi(c, a, 'STREAM FILE beep ""', "s15-c2")
    await c.event("AsyncAGIExec", CommandId="s15-c2")
    assert await listed(c, a) == theirs("s15-csc3", "Application", "ApplicationData")
    mark = len(c.messages)
    await c.action("Redirect", {"Channel": a, "Context": "hotline-safe", "Exten": "s",
                                "Priority": "1"})  # fmt: skip
    await c.event("AsyncAGIStart", Channel=a, start=mark)
    assert await listed(c, a) == theirs("s15-csc4", "Application", "ApplicationData")
    await c.close()


async def test_a_closed_sessions_agi_result_and_originate_response_reach_the_others(
    make_sim,
) -> None:
    """15: the AsyncAGIExec of a command queued by a session that has closed arrives on the
    other sessions; 21: so does an OriginateResponse (broadcast to every session)."""
    sim = await make_sim()
    dead, other, third = [await connect(sim.port) for _ in range(3)]
    a = await park(dead)
    await agi(dead, a, "EXEC MusicOnHold default,2", "s15-c1")
    aid = dead.send("Originate", {"Channel": "PJSIP/2002", "Application": "Bridge",
                                  "Data": f"{a},F(after-call^s^1)", "Timeout": "3000",
                                  "ChannelId": "s21-ring-a", "Async": "true"})  # fmt: skip
    await dead.response(aid)
    await dead.close()
    for c in (other, third):
        done = await c.event("AsyncAGIExec", timeout=10, CommandId="s15-c1")
        assert unquote(done["Result"]) == unquote(
            next(m["Result"] for m in T15 if m.get("CommandId") == "s15-c1")
        )
        resp = await c.wait_for(
            lambda m: m.name == "OriginateResponse" and m.get("ActionID") == aid, timeout=10
        )
        t21 = next(m for m in T21 if m.name == "OriginateResponse" and m["Reason"] == "3")
        assert (resp["Response"], resp["Reason"], resp["Uniqueid"]) == (
            t21["Response"],
            t21["Reason"],
            t21["Uniqueid"],
        )
    # 15: the music's start went to the session that was open then, not to the later ones.
    assert any(m.name == "MusicOnHoldStart" for m in T15_DEAD)
    await other.close()
    await third.close()


def hold_trail(msgs: list[Msg], chan: str) -> list[str]:
    return [e[0] for e in trail(msgs, [chan], skip=["Newexten", "VarSet"])]


async def test_set_music_on_and_wait_for_digit_keep_agi_and_take_a_digit(make_sim) -> None:
    """15 (caller B): SET MUSIC ON + WAIT FOR DIGIT: AGI in both listings, the caller's 7
    ends the wait with 55, the music stops only at SET MUSIC OFF, as recorded."""
    sim = await make_sim()
    c = await connect(sim.port)
    b = await park(c, "DELAY=5", "DIGITS=7")
    mark = len(c.messages)
    await agi(c, b, "SET MUSIC ON default", "s15-c3")
    await agi(c, b, "WAIT FOR DIGIT 8000", "s15-c4")
    await c.event("AGIExecStart", Command="WAIT FOR DIGIT 8000")
    b15 = "Local/s@caller-sim-00000001;1"
    assert (await listed(c, b), await status(c, b)) == (
        next((m["Application"], m["ApplicationData"]) for m in T15
             if m.get("ActionID") == "s15-csc5" and m.get("Channel") == b15),
        next((m["Application"], m["Data"]) for m in T15
             if m.name == "Status" and m.get("ActionID") == "s15-st3"),
    )  # fmt: skip
    done = await c.event("AsyncAGIExec", timeout=10, CommandId="s15-c4")
    assert unquote(done["Result"]) == unquote(
        next(m["Result"] for m in T15 if m.get("CommandId") == "s15-c4")
    )
    await agi(c, b, "SET MUSIC OFF", "s15-c5")
    await c.event("AsyncAGIExec", CommandId="s15-c5")
    ours = hold_trail(c.messages[mark:], b)
    recorded = hold_trail(T15, b15)
    assert ours == _until_music_off(recorded[recorded.index("AGIExecStart") :])
    await c.close()


def _until_music_off(names: list[str]) -> list[str]:
    """From the first AGIExecStart up to the AsyncAGIExec after MusicOnHoldStop."""
    stop = names.index("MusicOnHoldStop")
    return names[: stop + names[stop:].index("AsyncAGIExec") + 1]


async def test_prompts_stop_the_music_and_a_hangup_in_the_wait_ends_as_recorded(
    make_sim,
) -> None:
    """22 replayed on its clock: a prompt gives MusicOnHoldStop at its AGIExecStart and the
    music does not come back; the phone hanging up during WAIT FOR DIGIT with the music on
    gives 22's order (MusicOnHoldStop before AGIExecEnd -1, AsyncAGIEnd, no new AGI)."""
    sim = await make_sim()
    c = await connect(sim.port, login=False)
    await c.login("hotline", "hotline-secret")
    blocks, _ = read_actions(HERE / "22-hold-with-announcements.actions.txt")
    ours: dict[str, str] = {}

    def rename(text: str) -> str:
        m = re.search(r"Local/s@caller-sim-[0-9a-f]{8}", text)
        if m and "base" not in ours:
            starts = c.events("AsyncAGIStart")
            ours["base"] = starts[-1]["Channel"][:-2] if starts else m.group(0)
        return text.replace(m.group(0), ours["base"]) if m else text

    async with asyncio.timeout(30):
        await c.wait_for(lambda m: m.name == "FullyBooted" or m.kind == "response")
        first = next(b for b in blocks if b.get("Action") == "Originate")
        await send_paced(c, [first], SCALE)
        await c.event("AsyncAGIStart")
        await send_paced(c, [b for b in blocks if b.t > first.t], SCALE, rename)
        one = ours["base"] + ";1"
        await c.event("Hangup", Channel=one, timeout=10)
        await asyncio.sleep(0.05)

    def hold(msgs: list[Msg], base: str) -> list[tuple[str, ...]]:
        out = trail(msgs, [base + ";1", base + ";2"], devices=["Local/s@caller-sim"],
                    skip=["Newexten"], fields=("Class", "Cause", "State", "Variable", "Value"))  # fmt: skip
        start = next(i for i, e in enumerate(out) if e[0] == "AGIExecStart")  # SET MUSIC ON
        return out[start:]

    theirs = hold(T22, "Local/s@caller-sim-00000002")
    assert hold(c.messages, ours["base"]) == theirs
    assert [m.name for m in c.events("MusicOnHoldStart")] == [
        m.name for m in T22 if m.name == "MusicOnHoldStart"
    ]
    await c.close()


async def test_bridge_app_stops_the_music_and_loses_the_running_command(make_sim) -> None:
    """21: the agent leg's Bridge() stops the caller's hold music; the WAIT FOR DIGIT it was
    running never reports, no AsyncAGIEnd; an AGI command sent while it talks is queued
    and runs as soon as the caller re-enters AsyncAGI."""
    sim = await make_sim()
    c = await connect(sim.port)
    a = await park(c, "DELAY=0", "MOH=1")
    await agi(c, a, "SET MUSIC ON default", "s21-c1")
    await agi(c, a, "WAIT FOR DIGIT 20000", "s21-c2")
    await c.event("AGIExecStart", Command="WAIT FOR DIGIT 20000")
    mark = len(c.messages)
    await c.action("Originate", {"Channel": "PJSIP/2004", "Application": "Bridge",
                                 "Data": f"{a},F(after-call^s^1)", "Async": "true",
                                 "ChannelId": "s21-agent-a"})  # fmt: skip
    await c.event("BridgeEnter", Channel=a, timeout=10)
    mine = [m.name for m in c.messages[mark:] if m.get("Channel") == a]
    recorded_a = "Local/s@caller-sim-00000000;1"
    recorded = [m.name for m in T21 if m.get("Channel") == recorded_a]
    # Between the WAIT's start and the bridge entry: MusicOnHoldStop only (21).
    wait_start = recorded.index("AGIExecStart", recorded.index("MusicOnHoldStart"))
    between = recorded[wait_start + 1 : recorded.index("BridgeEnter")]
    assert [n for n in mine[: mine.index("BridgeEnter")] if n != "VarSet"] == [
        n for n in between if n != "VarSet"
    ]
    queued = await c.action("AGI", {"Channel": a, "Command": "NOOP", "CommandID": "s21-c5"})
    recorded_queued = next(m for m in T21 if m.get("ActionID") == "s21-a5")
    assert (queued["Response"], queued["Message"]) == (
        recorded_queued["Response"],
        recorded_queued["Message"],
    )
    await asyncio.sleep(0.3)
    assert not [m for m in c.events("AsyncAGIExec") if m.get("CommandId") in ("s21-c2", "s21-c5")]
    mark = len(c.messages)
    await c.action("Hangup", {"Channel": "PJSIP/2004-00000000"})
    noop = await c.event("AsyncAGIExec", CommandId="s21-c5", start=mark)
    assert unquote(noop["Result"]) == unquote(
        next(m["Result"] for m in T21 if m.get("CommandId") == "s21-c5")
    )
    after = [m.name for m in c.messages[mark:] if m.get("Channel") == a]
    recorded_after = [m.name for m in T21 if m.get("Channel") == recorded_a]
    i = recorded_after.index("AsyncAGIStart", recorded_after.index("BridgeLeave"))
    assert after[after.index("AsyncAGIStart") :][:4] == recorded_after[i : i + 4]
    assert not [m for m in c.events("AsyncAGIExec") if m.get("CommandId") == "s21-c2"]
    assert not [m for m in c.events("AsyncAGIEnd") if m["Channel"] == a]
    await c.close()


async def test_every_prompt_stops_the_music_and_agi_hangup_stops_it_before_asyncagiend(
    make_sim,
) -> None:
    """22 shows STREAM FILE stopping SET MUSIC ON at its AGIExecStart; pbxsim does the same
    for the other commands that open a sound file (unrecorded). 21 (caller B): AGI HANGUP
    with the music on gives AsyncAGIExec, MusicOnHoldStop, AsyncAGIEnd."""
    sim = await make_sim()
    c = await connect(sim.port)
    a = await park(c)
    for i, command in enumerate(('GET DATA beep 100 1', 'SAY DIGITS 42 ""', "EXEC Playback beep",
                                 'RECORD FILE /tmp/pbxsim-unused wav "#" 100 0 BEEP',
                                 'CONTROL STREAM FILE beep ""')):  # fmt: skip
        await agi(c, a, "SET MUSIC ON default", f"on{i}")
        await c.event("AsyncAGIExec", CommandId=f"on{i}")
        mark = len(c.messages)
        await agi(c, a, command, f"p{i}")
        await c.event("AsyncAGIExec", CommandId=f"p{i}", timeout=10)
        names = [m.name for m in c.messages[mark:] if m.get("Channel") == a]
        start = names.index("AGIExecStart")
        assert names[start + 1] == "MusicOnHoldStop", (command, names)
        assert names.count("MusicOnHoldStart") == 0
    await agi(c, a, "SET MUSIC ON default", "on-last")
    await c.event("AsyncAGIExec", CommandId="on-last")
    mark = len(c.messages)
    await agi(c, a, "HANGUP", "bye")
    await c.event("Hangup", Channel=a)
    ours = [m.name for m in c.messages[mark:] if m.get("Channel") == a]
    b21 = "Local/s@caller-sim-00000001;1"
    on_b = [m for m in T21 if m.get("Channel") == b21]
    hangup = next(i for i, m in enumerate(on_b) if m.get("Command") == "HANGUP")
    recorded = [m.name for m in on_b[hangup:]]
    i = recorded.index("AsyncAGIExec")
    assert ours[ours.index("AsyncAGIExec") :][:3] == recorded[i : i + 3]
    await c.close()


def test_asyncagi_takes_a_command_at_its_next_poll() -> None:
    """res_agi waits on the channel 100 ms at a time, or until the next 20 ms frame while
    music plays (15, 17, 21, 22: pick-up delays up to 0.1 s silent, 0.02 s with music)."""
    from pbxsim.agi import poll_wait
    from pbxsim.channels import Channel

    silent = Channel("Local/s@x-00000000;1", "1.0", "1.0", "Local", "hotline", "s", 0.0)
    assert poll_wait(silent, 0.0) == pytest.approx(0.1)
    assert poll_wait(silent, 0.03) == pytest.approx(0.07)
    assert poll_wait(silent, 0.23) == pytest.approx(0.07)  # the cycle restarts every 100 ms
    silent.moh = True
    assert poll_wait(silent, 0.005) == pytest.approx(0.015)


async def test_record_file_silence_and_hangup_as_res_agi_does(make_sim, tmp_path: Path) -> None:
    """Unrecorded (no transcript has them; res_agi's handle_recordfile is the reference):
    ``s=3`` ends a silent caller's message after 3 s and leaves one second of it; a hang-up
    during RECORD FILE answers ``-1 (hangup)`` with the samples so far and keeps the file."""
    import wave

    sim = await make_sim()
    c = await connect(sim.port, login=False)
    await c.login("hotline", "hotline-secret")
    async with asyncio.timeout(30):
        await c.wait_for(lambda m: m.name == "FullyBooted" or m.kind == "response")
        quiet = await park(c)
        await agi(c, quiet, f'RECORD FILE {tmp_path}/quiet wav "#" 20000 0 BEEP s=3', "q1")
        done = await c.event("AsyncAGIExec", CommandId="q1", timeout=10)
        assert unquote(done["Result"]) == "200 result=0 (timeout) endpos=8000\n"
        leaving = await park(c)
        await agi(c, leaving, f'RECORD FILE {tmp_path}/gone wav "#" 200000 0', "g1")
        await c.event("AGIExecStart", Channel=leaving, timeout=10)
        await asyncio.sleep(0.1)  # some samples first (any number passes the checks below)
        await c.action("Hangup", {"Channel": leaving})
        await c.event("Hangup", Channel=leaving, timeout=20)
        cut = await c.event("AsyncAGIExec", CommandId="g1", timeout=10)
    await c.close()
    with wave.open(str(tmp_path / "quiet.wav")) as w:
        assert (w.getnframes(), w.getframerate()) == (8000, 8000)
    reply = unquote(cut["Result"])
    assert re.fullmatch(r"200 result=-1 \(hangup\) endpos=\d+\n", reply), reply
    with wave.open(str(tmp_path / "gone.wav")) as w:
        assert w.getnframes() == int(reply.split("endpos=")[1])
