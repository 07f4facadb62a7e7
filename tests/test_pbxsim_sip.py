"""pbxsim --sip with real SIP over loopback: calls placed by pjsua2 phones in this process.

pbxsim runs as a subprocess (one pjsua2 endpoint per process); the test process
holds the phones (tests/sip_support.py): a caller playing 440 Hz, agent phones
playing 620 Hz that answer after 1 s, are busy, or never answer.
"""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import wave
from array import array
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from pbxsim.testing import AMIClient, Msg, connect, read_ami, read_inventory, transcript
from tests.sip_support import PJ_MISSING, Phones, pbxsim_sip, tone_power

pytestmark = pytest.mark.skipif(PJ_MISSING is not None, reason=f"no pjsua2: {PJ_MISSING}")

ROOT = Path(__file__).resolve().parents[1]
T11 = ROOT / "tests/ami-transcripts/11-pjsip-loopback-asyncagi.ami"
LOOP_IN = "PJSIP/loop-in-00000003"


@pytest.fixture(scope="module")
def phones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Phones]:
    ph = Phones(tmp_path_factory.mktemp("phones"))
    ph.start()
    try:
        yield ph
    finally:
        ph.stop()


def _scenario(tmp_path: Path, text: str) -> str:
    path = tmp_path / "scenario.toml"
    path.write_text(text + '[arrivals]\nkind = "poisson"\ncalls_per_minute = 0\n')
    return str(path)


def _trail(msgs: list[Msg], channel: str, device: str) -> list[Msg]:
    """The events of one channel, and its endpoint's DeviceStateChange, in order."""
    return [
        m
        for m in msgs
        if m.kind == "event" and (m.get("Channel") == channel or m.get("Device") == device)
    ]


def _key(m: Msg) -> tuple[str, str]:
    return (m.name, m.get("Variable") or m.get("Application") or m.get("State") or "")


async def _agi(c: AMIClient, chan: str, command: str, cid: str) -> Msg:
    start = len(c.messages)
    resp = await c.action("AGI", {"Channel": chan, "Command": command, "CommandID": cid})
    assert resp["Response"] == "Success", resp
    return await c.event("AsyncAGIExec", timeout=15, start=start, CommandId=cid)


async def test_inbound_sip_call_replays_transcript_11(tmp_path: Path, phones: Phones) -> None:
    """The actions of 11 against a real SIP caller give 11's events, header for header."""
    acc, port = phones.account("5550101")
    scenario = _scenario(tmp_path, 'context = "hotline"\n')  # 11 ran in [hotline]
    async with asyncio.timeout(60), pbxsim_sip(tmp_path, "--scenario", scenario) as (ami, sip):
        c = await connect(ami)
        heard = tmp_path / "heard.wav"
        call = phones.call(acc, f"sip:5551100@127.0.0.1:{sip}", hz=440, record=heard)
        start = await c.event("AsyncAGIStart", timeout=10)
        chan = start["Channel"]
        assert re.fullmatch(r"PJSIP/sip-in-[0-9a-f]{8}", chan)
        assert (await _agi(c, chan, "ANSWER", "sip-1"))["Result"] == "200%20result%3D0%0A"

        playing = asyncio.ensure_future(_agi(c, chan, 'STREAM FILE demo-congrats "3"', "sip-2"))
        await asyncio.sleep(1.5)
        phones.dtmf(call, "3")  # RFC 4733, like 11's SendDTMF(3)
        result = unquote((await playing)["Result"])
        assert re.fullmatch(r"200 result=51 endpos=\d+\n", result), result

        getting = asyncio.ensure_future(_agi(c, chan, "GET DATA beep 4000 2", "sip-3"))
        await asyncio.sleep(0.2)
        phones.dtmf(call, "42")
        assert unquote((await getting)["Result"]) == "200 result=42\n"

        src = await c.action("Getvar", {"Channel": chan, "Variable": "CHANNEL(rtp,src)"})
        assert re.fullmatch(r"127\.0\.0\.1:\d+", src["Value"]), src
        remote = await c.action(
            "Getvar", {"Channel": chan, "Variable": "CHANNEL(pjsip,remote_addr)"}
        )
        assert remote["Value"] == f"127.0.0.1:{port}"
        out = (await c.action("Command", {"Command": "pjsip show channels"})).getall("Output")
        assert re.fullmatch(rf"  Channel: {chan}/AGI +Up +00:00:0\d   ", out[5]), out
        assert out[-2:] == ["Objects found: 1", ""]

        await _agi(c, chan, "HANGUP", "sip-4")
        await c.event("DeviceStateChange", timeout=5, Device="PJSIP/sip-in", State="UNAVAILABLE")
        await call.wait(call.ended, 5)  # the caller got our BYE
        await c.close()

    _, real = read_ami(T11)
    theirs = _trail(real, LOOP_IN, "PJSIP/loop-in")
    ours = _trail(c.messages, chan, "PJSIP/sip-in")
    assert [_key(m) for m in ours] == [_key(m) for m in theirs]
    for mine, real_msg in zip(ours, theirs, strict=True):
        assert mine.names() == real_msg.names(), mine.name
    inventory = read_inventory(T11.parent / "header-inventory.txt")
    for m in c.events():  # every event of the session, SIP channel or not
        assert m.names() in inventory[f"Event: {m.name}"], m
    hangup = next(m for m in ours if m.name == "Hangup")
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("0", "Unknown")  # 11: AGI HANGUP
    assert [m["Digit"] for m in ours if m.name == "DTMFEnd"] == ["3", "4", "2"]
    assert {m["Direction"] for m in ours if m.name.startswith("DTMF")} == {"Received"}

    env = dict(_env(start))
    assert [k for k, _ in _env(start)] == [k for k, _ in _env(_first(theirs, "AsyncAGIStart"))]
    assert env["agi_type"] == "PJSIP" and env["agi_channel"] == chan
    assert (env["agi_dnid"], env["agi_callerid"], env["agi_calleridname"]) == (
        "5551100",
        "5550101",
        "unknown",
    )
    assert (env["agi_context"], env["agi_extension"], env["agi_priority"]) == ("hotline", "s", "3")
    newchannel = _first(ours, "Newchannel")
    assert (newchannel["ChannelState"], newchannel["Exten"]) == ("4", "5551100")
    assert _first(ours, "VarSet")["Value"] == "127.0.0.1"  # SIPDOMAIN

    with wave.open(str(heard)) as w:  # the caller heard the prompts over RTP
        samples = array("h", w.readframes(w.getnframes()))
    assert max(abs(x) for x in samples) > 1000


async def test_caller_bye_while_in_agi(tmp_path: Path, phones: Phones) -> None:
    """A BYE from the caller: 11's remote-hangup order (QoS, HangupRequest without Cause, Cause 0)."""
    acc, _ = phones.account("5550102")
    async with asyncio.timeout(40), pbxsim_sip(tmp_path) as (ami, sip):
        c = await connect(ami)
        heard = tmp_path / "heard.wav"
        call = phones.call(acc, f"sip:1900@127.0.0.1:{sip}", record=heard)
        chan = (await c.event("AsyncAGIStart", timeout=10))["Channel"]
        await call.wait(call.confirmed)
        await _agi(c, chan, "EXEC MusicOnHold default,2", "moh")  # the caller hears music
        phones.hangup(call)
        hangup = await c.event("Hangup", timeout=10, Channel=chan)
        await c.event("DeviceStateChange", timeout=5, Device="PJSIP/sip-in", State="UNAVAILABLE")
        await c.close()
    trail = _trail(c.messages, chan, "PJSIP/sip-in")
    assert [_key(m) for m in trail][-11:] == [
        ("VarSet", "RTPAUDIOQOS"), ("VarSet", "RTPAUDIOQOSJITTER"), ("VarSet", "RTPAUDIOQOSLOSS"),
        ("VarSet", "RTPAUDIOQOSRTT"), ("VarSet", "RTPAUDIOQOSMES"), ("HangupRequest", ""),
        ("AsyncAGIEnd", ""), ("VarSet", "AGISTATUS"), ("SoftHangupRequest", ""), ("Hangup", ""),
        ("DeviceStateChange", "UNAVAILABLE"),
    ]  # fmt: skip
    _, real = read_ami(T11)
    remote = next(m for m in real if m.name == "HangupRequest" and m.get("Cause") is None)
    request = next(m for m in trail if m.name == "HangupRequest")
    assert request.names() == remote.names()  # 11 (loop-out): no Cause header
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("0", "Unknown")
    with wave.open(str(heard)) as w:
        music = array("h", w.readframes(w.getnframes()))
    assert len(music) > 8000 and max(abs(x) for x in music) > 1000


def _env(start: Msg) -> list[tuple[str, str]]:
    lines = unquote(start["Env"]).split("\n")
    return [(k, v) for k, _, v in (line.partition(": ") for line in lines if line)]


def _first(msgs: list[Msg], name: str) -> Msg:
    return next(m for m in msgs if m.name == name)


async def test_agent_sip_phone_is_bridged_and_recorded(tmp_path: Path, phones: Phones) -> None:
    """Originate to a SIP agent phone: 180, 200 -> Reason 4, Bridge; MixMonitor has both voices."""
    caller, _ = phones.account("5550103")
    agent, agent_port = phones.account("1001", mode="answer", answer_after=1.0, hz=620)
    rec = tmp_path / "call.wav"
    async with asyncio.timeout(60), pbxsim_sip(tmp_path) as (ami, sip):
        c = await connect(ami)
        heard = tmp_path / "caller-heard.wav"
        call = phones.call(caller, f"sip:1900@127.0.0.1:{sip}", hz=440, record=heard)
        chan = (await c.event("AsyncAGIStart", timeout=10))["Channel"]
        resp = await c.action("Originate", {
            "Channel": f"PJSIP/1001/sip:1001@127.0.0.1:{agent_port}", "Application": "Bridge",
            "Data": f"{chan},F(after-call^s^1)", "Timeout": "10000", "Async": "true",
            "CallerID": "<5550103>", "ChannelId": "agent-leg-1",
        })  # fmt: skip
        assert resp["Message"] == "Originate successfully queued"
        answered = await c.event("OriginateResponse", timeout=15)
        assert (answered["Response"], answered["Reason"]) == ("Success", "4"), answered
        leg = answered["Channel"]
        assert (
            re.fullmatch(r"PJSIP/1001-[0-9a-f]{8}", leg) and answered["Uniqueid"] == "agent-leg-1"
        )
        ringing = await c.event("DialState", timeout=1, DestChannel=leg)  # the 180
        assert ringing["DialStatus"] == "RINGING"
        await c.event("BridgeEnter", timeout=5, Channel=chan)
        mm = await c.action("MixMonitor", {"Channel": chan, "File": str(rec), "Options": "b"})
        assert mm["Response"] == "Success", mm
        await asyncio.sleep(3.0)
        phones.hangup(call)  # the caller hangs up: BYE
        await c.event("Hangup", timeout=10, Channel=chan)
        # The Hangup event is out: the file must be complete now (the controller hashes it).
        data = rec.read_bytes()
        assert data[:4] == b"RIFF" and int.from_bytes(data[4:8], "little") == len(data) - 8
        await c.event("Hangup", timeout=10, Channel=leg)
        agent_view = agent.views[0]
        await agent_view.wait(agent_view.ended, 5)  # pbxsim sent the agent phone a BYE
        await call.wait(call.ended, 5)
        await c.close()

    with wave.open(str(rec)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        samples = array("h", w.readframes(w.getnframes()))
    assert 2.0 < len(samples) / 8000 < 4.5
    caller_hz, agent_hz = tone_power(samples, 440), tone_power(samples, 620)
    floor = max(tone_power(samples, f) for f in (300, 1000, 1500))
    assert caller_hz > 100 * floor and agent_hz > 100 * floor, (caller_hz, agent_hz, floor)
    assert 0.2 < caller_hz / agent_hz < 5  # both ends, about as loud as each other
    with wave.open(str(heard)) as w:  # and the caller heard the agent through the bridge
        tail = array("h", w.readframes(w.getnframes()))[-16000:]
    assert tone_power(tail, 620) > 100 * tone_power(tail, 1000)


async def test_busy_sip_phone_gives_reason_0_and_techcause_486(
    tmp_path: Path, phones: Phones
) -> None:
    """486 Busy Here -> OriginateResponse Failure Reason 0 and Hangup 17 / TechCause 486, as
    transcript 16's PJSIP agent leg (scenario's sip_uri mapping)."""
    busy, port = phones.account("1002", mode="busy")
    scenario = _scenario(
        tmp_path, f'[agents.phones."1002"]\nsip_uri = "sip:1002@127.0.0.1:{port}"\n'
    )
    async with asyncio.timeout(30), pbxsim_sip(tmp_path, "--scenario", scenario) as (ami, _):
        c = await connect(ami)
        await c.action("Originate", {"Channel": "PJSIP/1002", "Application": "Bridge",
                                     "Data": "PJSIP/nobody", "Timeout": "10000", "Async": "true"})  # fmt: skip
        resp = await c.event("OriginateResponse", timeout=10)
        hangup = await c.event("Hangup", timeout=5)
        await c.close()
    recorded = transcript("16-agent-leg-failures-pjsip")
    t_busy = next(m for m in recorded if m.name == "Hangup" and m.get("TechCause") == "486")
    t_resp = next(
        m for m in recorded if m.name == "OriginateResponse" and m["Channel"] == "PJSIP/2001"
    )
    assert (resp["Response"], resp["Reason"], resp["Channel"]) == (
        t_resp["Response"],
        t_resp["Reason"],
        "PJSIP/1002",
    )
    assert resp["Uniqueid"] == "<unknown>"  # no ChannelId given
    assert re.fullmatch(r"PJSIP/1002-[0-9a-f]{8}", hangup["Channel"])
    assert (hangup["Cause"], hangup["Cause-txt"], hangup["TechCause"]) == (
        t_busy["Cause"],
        t_busy["Cause-txt"],
        t_busy["TechCause"],
    )
    assert 486 in busy.views[0].codes


async def test_unanswered_sip_phone_gives_reason_3_and_is_cancelled(
    tmp_path: Path, phones: Phones
) -> None:
    """Ringing past the Originate Timeout -> Reason 3, and the phone gets a CANCEL (487)."""
    ringer, port = phones.account("1003", mode="noanswer")
    async with asyncio.timeout(30), pbxsim_sip(tmp_path) as (ami, _):
        c = await connect(ami)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await c.action("Originate", {"Channel": f"PJSIP/1003/sip:1003@127.0.0.1:{port}",
                                     "Application": "Bridge", "Data": "PJSIP/nobody",
                                     "Timeout": "2000", "Async": "true"})  # fmt: skip
        resp = await c.event("OriginateResponse", timeout=10)
        elapsed = loop.time() - t0
        hangup = await c.event("Hangup", timeout=5)
        view = ringer.views[0]
        await view.wait(view.ended, 5)
        await c.close()
    assert (resp["Response"], resp["Reason"]) == ("Failure", "3")
    assert 1.8 < elapsed < 4.0
    assert any(m["DialStatus"] == "RINGING" for m in c.events("DialState"))
    assert (hangup["Cause"], hangup["Cause-txt"]) == ("19", "User alerting, no answer")
    assert view.codes[-1] == 487  # CANCELled: Request Terminated


async def test_unreachable_sip_phone_times_out_with_reason_3(tmp_path: Path) -> None:
    """Nobody on the port: pjsip retransmits the INVITE (Timer B is 32 s), so the Originate's
    Timeout decides first: Reason 3, as Asterisk's dial gives (cause 19 -> AST_CONTROL_RINGING)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # free again once closed
    async with asyncio.timeout(30), pbxsim_sip(tmp_path) as (ami, _):
        c = await connect(ami)
        await c.action("Originate", {"Channel": f"PJSIP/1009/sip:1009@127.0.0.1:{dead}",
                                     "Application": "Bridge", "Data": "PJSIP/nobody",
                                     "Timeout": "1500", "Async": "true"})  # fmt: skip
        resp = await c.event("OriginateResponse", timeout=10)
        await c.close()
    assert (resp["Response"], resp["Reason"]) == ("Failure", "3")
    assert not c.events("DialState")  # it never rang


async def test_sigterm_with_a_call_up_sends_bye_and_exits_cleanly(
    tmp_path: Path, phones: Phones
) -> None:
    """pbxsim stopping with a SIP call parked in AGI: the caller gets a BYE, exit status 0."""
    acc, _ = phones.account("5550104")
    async with asyncio.timeout(30):
        async with pbxsim_sip(tmp_path) as (ami, sip):
            c = await connect(ami)
            call = phones.call(acc, f"sip:1900@127.0.0.1:{sip}")
            await c.event("AsyncAGIStart", timeout=10)
            await call.wait(call.confirmed)
            await c.close()
        await call.wait(call.ended, 5)  # pbxsim_sip checked the exit status


async def test_pbxsim_api_takes_sip_address(tmp_path: Path) -> None:
    """``PBXSim(sip="127.0.0.1:0")`` binds a port (``sim.sip_port``) and closes cleanly."""
    script = (
        "import asyncio\n"
        "from pbxsim.server import PBXSim\n"
        "async def main():\n"
        f"    sim = PBXSim(port=0, sip='127.0.0.1:0', spool_dir={str(tmp_path)!r})\n"
        "    await sim.start()\n"
        "    print(sim.sip_port, sim.sip.device, flush=True)\n"
        "    await sim.close()\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(20):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    port, device = out.decode().split()
    assert int(port) > 0 and device == "PJSIP/sip-in"
