"""pbxsim's AMI framing and session rules over real TCP (01, 08, manager.c)."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator

import pytest

from pbxsim.server import PBXSim
from pbxsim.testing import connect


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[PBXSim]:
    s = PBXSim(time_scale=10.0, spool_dir=tmp_path / "spool")
    await s.start()
    yield s
    await s.close()


async def test_banner_login_and_the_events_after_it(sim: PBXSim) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    assert await reader.readline() == b"Asterisk Call Manager/11.0.0\r\n"
    writer.write(
        b"Action: Login\r\nActionID: 1\r\nUsername: hotline\r\nSecret: hotline-secret\r\n\r\n"
    )
    data = b""
    while data.count(b"\r\n\r\n") < 3:
        data += await reader.read(4096)
    frames = data.split(b"\r\n\r\n")
    assert frames[0] == b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted"
    assert frames[1].startswith(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: ")
    assert frames[2].startswith(b"Event: SuccessfulAuth\r\nPrivilege: security,all\r\nEventTV: ")
    writer.close()


async def test_headers_any_case_any_order_bare_lf_and_no_actionid(sim: PBXSim) -> None:
    c = await connect(sim.port)
    c.send_raw(b"actionid: low\r\nACTION: ping\r\n\r\n")
    assert (await c.response("low"))["Ping"] == "Pong"
    c.send_raw(b"Action: Ping\nActionID: lf\n\n")  # 08: bare LF accepted
    await c.response("lf")
    c.send("Ping", action_id=None)
    resp = await c.wait_for(
        lambda m: m.kind == "response" and m.get("Ping") == "Pong" and m.get("ActionID") is None
    )
    assert resp.names() == ["Response", "Ping", "Timestamp"]
    c.send_raw(b"\r\n")
    missing = await c.wait_for(lambda m: m.get("Message") == "Missing action in request")
    assert missing.names() == ["Response", "Message"]
    bad = await c.event("RequestBadFormat")
    assert bad["RequestType"] == "Action: NONE"
    await c.close()


async def test_permission_denied_then_failed_login_closes_after_a_second(sim: PBXSim) -> None:
    c = await connect(sim.port, login=False)
    assert (await c.action("Ping"))["Message"] == "Permission denied"
    t0 = time.monotonic()
    resp = await c.action("Login", {"Username": "hotline", "Secret": "nope"})
    assert resp["Message"] == "Authentication failed"
    assert time.monotonic() - t0 >= 1.0 / sim.world.time_scale * 0.9
    await asyncio.wait_for(c.closed.wait(), 2)
    await c.close()


async def test_md5_challenge_login(sim: PBXSim) -> None:
    c = await connect(sim.port, login=False)
    ch = await c.action("Challenge", {"AuthType": "MD5"})
    assert ch.names() == ["Response", "ActionID", "Challenge"]
    key = hashlib.md5((ch["Challenge"] + "hotline-secret").encode()).hexdigest()
    ok = await c.action("Login", {"AuthType": "MD5", "Username": "hotline", "Key": key})
    assert ok["Message"] == "Authentication accepted"
    await c.close()


async def test_unknown_action_and_pausemixmonitor_are_invalid(sim: PBXSim) -> None:
    c = await connect(sim.port)
    for name in ("FooBar", "PauseMixMonitor"):
        resp = await c.action(name, {"Channel": "x"})
        assert (
            resp["Message"]
            == f"Invalid/unknown command: {name}. Use Action: ListCommands to show available commands."
        )
        assert (await c.event("RequestBadFormat", RequestType=f"Action: {name}"))[
            "AccountID"
        ] == "hotline"
    await c.close()


async def test_command_outputs(sim: PBXSim) -> None:
    c = await connect(sim.port)
    version = await c.action("Command", {"Command": "core show version"})
    assert version["Output"].startswith("Asterisk 22.10.1 built by")
    unknown = await c.action("Command", {"Command": "no such cli command"})
    assert (unknown["Response"], unknown["Message"]) == ("Error", "Command output follows")
    assert (
        unknown["Output"]
        == "No such command 'no such cli command' (type 'core show help no such' for other possible commands)"
    )
    await c.close()
