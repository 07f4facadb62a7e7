"""``callcenter probe`` over real SIP on loopback, against ``pbxsim.phone`` agents.

Both run as subprocesses (one pjsua2 endpoint per process). Timing asserts
are generous: they check the measurement, not the machine's speed.

SIP codes observed with pjproject 2.15.1 on Linux:

- busy phone: 486 Busy Here (the phone's final answer);
- ringing phone, probe ``--timeout 3``: 487 Request Terminated (the phone's
  answer to our CANCEL; the phone prints ``ended 487``);
- closed UDP port: no response ever comes (Linux drops the ICMP error on an
  unconnected socket). pjsip would end the INVITE with 408 at Timer B (32 s)
  and makes up a local 487 when cancelled earlier; the probe reports 408;
- closed TCP port: 503 "Connection refused", made by pjsip at once.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import aiohttp

from .test_phone import ROOT, needs_pjsua2, phone, probe, script

pytestmark = needs_pjsua2


def closed_port(kind: int) -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_answered_call_hears_the_agent_tone(tmp_path: Path) -> None:
    steps = (
        "- wait_agent: {seconds: 10, hz: 620}\n"
        '- dtmf: "12"\n'
        "- wait: 1\n"
        "- tone: {hz: 440, seconds: 1}\n"
        "- hangup\n"
    )
    async with phone("--answer-after", "1", "--tone-hz", "620") as agent:
        rc, lines, err = await probe(agent.uri, "--script", script(tmp_path, steps))
        await agent.wait_for("ended 200")
        await agent.stop()
    assert rc == 0, err
    call, summary = lines
    assert (call["type"], call["result"], call["answered"], call["code"]) == (
        "call",
        "success",
        True,
        200,
    )
    assert call["failure"] is None
    assert 0.8 <= call["time_to_answer"] <= 3.0
    assert call["time_to_answer"] <= call["time_to_agent"] <= call["time_to_answer"] + 1.5
    assert (call["digits_sent"], call["digits_accepted"]) == ("12", "12")
    audio = call["audio"]
    assert audio["heard"] and audio["rms"] > 1000  # silence is < 50
    assert abs(audio["hz"] - 620) <= 3
    assert [s["do"] for s in audio["segments"]] == [
        "wait_agent 10 620Hz",
        "dtmf 12",
        "wait 1",
        "tone 440Hz 1",
    ]
    assert all(abs(s["hz"] - 620) <= 3 for s in audio["segments"][1:])
    assert summary["type"] == "summary"
    assert (summary["calls"], summary["answered"], summary["failed"]) == (1, 1, 0)
    assert summary["codes"] == {"200": 1}
    assert summary["time_to_answer_p50"] == call["time_to_answer"]
    assert summary["time_to_agent_p50"] == call["time_to_agent"]
    assert agent.lines[1:] == ["answered", "dtmf 1", "dtmf 2", "ended 200"]


async def test_default_script_waits_for_the_agent_then_plays_a_tone() -> None:
    async with phone("--answer-after", "0.2") as agent:
        rc, lines, err = await probe(agent.uri, "--timeout", "5")
        await agent.stop()
    assert rc == 0, err
    assert [s["do"] for s in lines[0]["audio"]["segments"]] == ["wait_agent 60", "tone 1000Hz 2"]
    assert lines[0]["time_to_agent"] < 2.0


async def test_busy_agent_is_486() -> None:
    async with phone("--busy") as agent:
        rc, lines, err = await probe(agent.uri, "--timeout", "5")
        await agent.wait_for("ended 486")
        await agent.stop()
    assert rc == 1, err
    call = lines[0]
    assert (call["result"], call["answered"], call["code"]) == ("unanswered", False, 486)
    assert call["failure"] == "486 Busy Here"
    assert lines[1]["codes"] == {"486": 1}


async def test_no_answer_is_cancelled_at_the_timeout_487() -> None:
    async with phone("--no-answer") as agent:
        rc, lines, err = await probe(agent.uri, "--timeout", "3")
        await agent.wait_for("ended 487")
        await agent.stop()
    assert rc == 1, err
    call = lines[0]
    assert (call["result"], call["code"], call["reason"]) == (
        "unanswered",
        487,
        "Request Terminated",
    )
    assert call["failure"] == "no answer within 3 s (ringing: 180)"
    assert 2.9 <= call["duration"] <= 6


async def test_closed_udp_port_is_408() -> None:
    port = closed_port(socket.SOCK_DGRAM)
    rc, lines, err = await probe(f"sip:1001@127.0.0.1:{port}", "--timeout", "2")
    assert rc == 1, err
    call = lines[0]
    assert (call["result"], call["code"], call["reason"]) == (
        "unanswered",
        408,
        "Request Timeout",
    )
    assert call["failure"] == "no SIP response within 2 s"


async def test_closed_tcp_port_is_503() -> None:
    port = closed_port(socket.SOCK_STREAM)
    rc, lines, err = await probe(f"sip:1001@127.0.0.1:{port};transport=tcp", "--timeout", "5")
    assert rc == 1, err
    assert (lines[0]["code"], lines[0]["reason"]) == (503, "Connection refused")
    assert lines[1]["codes"] == {"503": 1}


async def test_calls_at_a_rate_more_than_the_four_pjsua_slots(tmp_path: Path) -> None:
    async with phone("--answer-after", "0.3") as agent:
        rc, lines, err = await probe(
            agent.uri,
            *("--calls", "6", "--rate", "10"),
            *("--script", script(tmp_path, "- wait_agent: 5\n- wait: 0.5\n")),
        )
        await agent.stop()
    assert rc == 0, err
    calls, summary = lines[:-1], lines[-1]
    assert sorted(c["call"] for c in calls) == [1, 2, 3, 4, 5, 6]
    assert all(c["result"] == "success" for c in calls)
    assert (summary["calls"], summary["answered"], summary["codes"]) == (6, 6, {"200": 6})
    assert agent.lines.count("answered") == 6


async def test_serve_metrics_counts_the_rounds() -> None:
    async with phone("--answer-after", "0.2") as agent:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter.cli", "probe", agent.uri, "--json",
            "--serve-metrics", "127.0.0.1:0", "--interval", "1", "--timeout", "5",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert proc.stderr is not None
            async with asyncio.timeout(30):
                first = (await proc.stderr.readline()).decode()
                assert first.startswith("probe metrics on http://127.0.0.1:"), first
                url = first.split(" on ", 1)[1].strip()
                text = ""
                async with aiohttp.ClientSession() as http:
                    while 'hotline_probe_calls_total{result="success"} 2.0' not in text:
                        await asyncio.sleep(0.3)
                        async with http.get(url) as response:
                            assert response.status == 200
                            text = await response.text()
                proc.terminate()
                assert await proc.wait() == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        await agent.stop()
    assert 'hotline_probe_sip_code_total{code="200"} 2.0' in text
    assert 'hotline_probe_calls_total{result="unanswered"} 0.0' in text
    assert "hotline_probe_time_to_answer_seconds_count 2.0" in text
    assert "hotline_probe_time_to_agent_seconds_count 2.0" in text
    rms = next(line for line in text.splitlines() if line.startswith("hotline_probe_audio_rms "))
    assert float(rms.split()[1]) > 1000
    last = next(
        line
        for line in text.splitlines()
        if line.startswith("hotline_probe_last_success_timestamp_seconds ")
    )
    assert float(last.split()[1]) > 1e9


async def test_sip_address_in_use_exits_2() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        rc, lines, err = await probe("sip:1001@127.0.0.1:5999", "--bind", f"127.0.0.1:{port}")
    assert (rc, lines) == (2, [])
    assert err.startswith(f"callcenter probe: cannot start SIP on 127.0.0.1:{port}: "), err
    assert "Address already in use" in err
