"""pbxsim.sip without a network: the texts Asterisk prints about SIP calls (11), INVITE
parsing, dial strings, and ``--sip`` where pjsua2 is missing (no pjsua2 needed here)."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from pbxsim.scenario import Scenario
from pbxsim.sip import parse_address
from pbxsim.sip.texts import (
    UNKNOWN,
    ChannelRow,
    RtpStats,
    dial_target,
    from_uri,
    parse_invite,
    pjsip_show_channels,
    rtp_qos_vars,
    split_uri,
)
from pbxsim.testing import read_ami

ROOT = Path(__file__).resolve().parents[1]
T11 = ROOT / "tests/ami-transcripts/11-pjsip-loopback-asyncagi.ami"


def test_pjsip_show_channels_matches_transcript_11_line_for_line() -> None:
    _, msgs = read_ami(T11)
    real = next(m for m in msgs if m.get("ActionID") == "s11-7").getall("Output")
    rows = [
        ChannelRow("PJSIP/loop-in-00000003", "AGI", "Up", 5.4, "s", UNKNOWN, UNKNOWN),
        ChannelRow("PJSIP/loop-out-00000002", "SendDTMF", "Up", 5.9, "s", "SIP Caller", "5551100"),
    ]
    assert pjsip_show_channels(rows) == real


def test_rtp_qos_vars_have_transcript_11_names_and_shapes() -> None:
    _, msgs = read_ami(T11)
    real = [
        (m["Variable"], m["Value"])
        for m in msgs
        if m.name == "VarSet"
        and m.get("Channel") == "PJSIP/loop-in-00000003"
        and m["Variable"].startswith("RTPAUDIOQOS")
    ]
    ours = rtp_qos_vars(701478453, 742265739, RtpStats(rx_count=21, tx_count=148))
    assert [n for n, _ in ours] == [n for n, _ in real]
    assert ours == real  # with the same counters the text is the same, byte for byte


def test_parse_invite_takes_dnid_domain_and_caller_id_from_the_request() -> None:
    msg = (
        "INVITE sip:5551100@127.0.0.1:5060 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:40411;rport;branch=z9hG4bK1\r\n"
        'f: "Alice \\"A\\"" <sip:5550102@127.0.0.1:40411>;tag=x\r\n'
        "To: <sip:5551100@127.0.0.1>\r\n\r\nv=0\r\n"
    )
    inv = parse_invite(msg)
    assert (inv.user, inv.domain, inv.cid_num, inv.cid_name) == (
        "5551100",
        "127.0.0.1",
        "5550102",
        'Alice "A"',
    )
    # 11: From without a display name: CallerIDName stays <unknown>
    bare = parse_invite(
        "INVITE sip:hotline@[::1]:5070 SIP/2.0\r\nFrom: sip:loopcaller@h;tag=1\r\n\r\n"
    )
    assert (bare.user, bare.domain, bare.cid_num, bare.cid_name) == (
        "hotline",
        "::1",
        "loopcaller",
        UNKNOWN,
    )


def test_dial_strings_and_uris() -> None:
    assert dial_target("1001/sip:1001@127.0.0.1:5070") == "sip:1001@127.0.0.1:5070"
    assert dial_target("1001") is None
    assert dial_target("5551100@loop-out") is None
    assert split_uri("sip:1001@127.0.0.1:5070;transport=udp") == ("1001", "127.0.0.1:5070")
    assert from_uri("5550101", "Bob", "127.0.0.1") == '"Bob" <sip:5550101@127.0.0.1>'
    assert from_uri(UNKNOWN, UNKNOWN, "127.0.0.1") == "<sip:asterisk@127.0.0.1>"
    assert parse_address("127.0.0.1:0") == ("127.0.0.1", 0)
    for bad in ("127.0.0.1", ":5060", "h:99999", "h:x"):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_scenario_maps_an_agent_phone_to_a_sip_uri() -> None:
    sc = Scenario.from_dict(
        {"agents": {"phones": {"1001": {"sip_uri": "sip:1001@127.0.0.1:5070"}}}}
    )
    assert sc.agent("1001").sip_uri == "sip:1001@127.0.0.1:5070"
    assert sc.agent("1002").sip_uri == ""


def _no_pjsua2(tmp_path: Path) -> dict[str, str]:
    fake = tmp_path / "fake" / "pjsua2"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('simulated: no pjsua2 here')\n")
    import os

    return {**os.environ, "PYTHONPATH": str(tmp_path / "fake")}


async def test_sip_flag_without_pjsua2_exits_with_a_clear_message(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--port", "0", "--sip", "127.0.0.1:0",
        cwd=ROOT, env=_no_pjsua2(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(20):
        out, err = await proc.communicate()
    assert proc.returncode == 2
    assert out == b""
    assert "pbxsim: --sip needs pjsua2: pjsua2 is not importable" in err.decode()
    assert "pip install" in err.decode()


async def test_without_pjsua2_pbxsim_still_runs_without_sip(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--port", "0",
        cwd=ROOT, env=_no_pjsua2(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(20):
            assert proc.stdout is not None
            line = (await proc.stdout.readline()).decode()
            assert re.fullmatch(r"pbxsim listening on 127\.0\.0\.1:\d+\n", line), line
            proc.send_signal(signal.SIGTERM)
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
