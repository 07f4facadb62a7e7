"""Third-party AMI clients talk to pbxsim as to Asterisk: panoramisk (asyncio)
and asterisk-ami (a thread per client). Each logs in, originates a caller into
[hotline] and receives the call's events, AsyncAGIStart included."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from asterisk.ami import AMIClient as ThreadedClient
from asterisk.ami import SimpleAction
from panoramisk import Manager

from pbxsim.server import PBXSim


@pytest.fixture
async def sim(tmp_path) -> AsyncIterator[PBXSim]:
    s = PBXSim(time_scale=10.0, spool_dir=tmp_path / "spool")
    await s.start()
    yield s
    await s.close()


async def test_panoramisk_logs_in_originates_and_drives_agi(sim: PBXSim) -> None:
    logging.getLogger("panoramisk").setLevel(logging.CRITICAL)
    events: list = []
    got = asyncio.Event()
    manager = Manager(host="127.0.0.1", port=sim.port, username="hotline", secret="hotline-secret",
                      loop=asyncio.get_running_loop(), ping_delay=3600, reconnect_timeout=3600)  # fmt: skip

    def on_event(mgr: Manager, event) -> None:  # type: ignore[no-untyped-def]
        events.append(event)
        got.set()

    manager.register_event("*", on_event)
    await manager.connect()
    while not manager.authenticated:
        await asyncio.sleep(0.01)
    answers = await manager.send_action({"Action": "Originate", "Channel": "Local/s@caller-sim",
                                         "Context": "hotline", "Exten": "s", "Priority": "1",
                                         "CallerID": '"Pano" <5550900>', "Async": "true"})  # fmt: skip
    # panoramisk gathers the response and the OriginateResponse that carries the same ActionID.
    assert [m.get("Response") for m in answers] == ["Success", "Success"]
    assert answers[1].event == "OriginateResponse" and answers[1].reason == "4"
    chan = answers[1].channel
    while not any(e.event == "AsyncAGIStart" and e.channel == chan for e in events):
        got.clear()
        await got.wait()
    assert any(e.event == "Newchannel" for e in events)
    resp = await manager.send_action({"Action": "AGI", "Channel": chan, "Command": "ANSWER",
                                      "CommandID": "pano-1"}, as_list=False)  # fmt: skip
    assert resp.message == "Added AGI command to queue"
    while not any(e.event == "AsyncAGIExec" and e.get("CommandId") == "pano-1" for e in events):
        got.clear()
        await got.wait()
    hung = await manager.send_action({"Action": "Hangup", "Channel": chan})
    assert hung.message == "Channel Hungup"
    manager.close()


async def test_asterisk_ami_threaded_client_sees_the_call(sim: PBXSim) -> None:
    events: list = []
    client = ThreadedClient(address="127.0.0.1", port=sim.port, timeout=5)
    client.add_event_listener(lambda event, source: events.append(event))

    def run() -> tuple[str, str, str]:
        login = client.login(username="hotline", secret="hotline-secret").response
        orig = client.send_action(SimpleAction("Originate", Channel="Local/s@caller-sim", Context="hotline",
                                               Exten="s", Priority="1", Async="true")).response  # fmt: skip
        deadline = time.monotonic() + 5
        start = None
        while start is None and time.monotonic() < deadline:
            start = next((e for e in list(events) if e.name == "AsyncAGIStart"), None)
            time.sleep(0.01)
        assert start is not None, [e.name for e in events]
        agi = client.send_action(SimpleAction("AGI", Channel=start["Channel"], Command="ANSWER",
                                              CommandID="ami-1")).response  # fmt: skip
        while time.monotonic() < deadline and not any(
            e.name == "AsyncAGIExec" and e.keys.get("CommandId") == "ami-1" for e in list(events)
        ):
            time.sleep(0.01)
        client.send_action(SimpleAction("Hangup", Channel=start["Channel"])).response  # noqa: B018
        client.logoff().response  # noqa: B018  (wait: Goodbye, then pbxsim closes)
        return login.keys["Message"], orig.keys["Message"], agi.keys["Message"]

    try:
        messages = await asyncio.to_thread(run)
    finally:
        client.disconnect()
    assert messages == (
        "Authentication accepted",
        "Originate successfully queued",
        "Added AGI command to queue",
    )
    names = [e.name for e in events]
    assert {"FullyBooted", "Newchannel", "AsyncAGIStart", "AsyncAGIExec", "Hangup"} <= set(names)
    exec_ = next(e for e in events if e.name == "AsyncAGIExec")
    assert exec_.keys["Result"] == "200%20result%3D0%0A"
