"""The AMI client against ``pbxsim``, the Asterisk stand-in, over real TCP.

Skipped (with the reason) while ``pbxsim.server`` cannot be imported or does
not answer a Login; the replay tests in ``test_ami_client*.py`` cover the
client against real Asterisk bytes either way.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from callcenter.ami import (
    AMIClient,
    AuthenticationError,
    ConnectionState,
    Event,
    parse_agi_env,
)

from .test_ami_client import bounded

USERS = {"hotline": "hotline-secret"}


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    try:
        server = importlib.import_module("pbxsim.server")
    except ImportError as e:
        pytest.skip(f"pbxsim is not importable yet: {e}")
    pbx = server.PBXSim(host="127.0.0.1", port=0, users=dict(USERS))
    await pbx.start()
    try:
        probe = client_for(pbx)
        try:
            async with asyncio.timeout(3):
                await probe.connect()
        except Exception as e:
            pytest.skip(f"pbxsim does not answer Login yet: {type(e).__name__}: {e}")
        finally:
            await probe.close()
        yield pbx
    finally:
        await pbx.close()


def client_for(pbx: Any, **kw: Any) -> AMIClient:
    opts: dict[str, Any] = dict(
        action_timeout=3.0, connect_timeout=2.0, ping_interval=None, reconnect=False
    )
    opts.update(kw)
    secret = opts.pop("secret", USERS["hotline"])
    return AMIClient("127.0.0.1", pbx.port, "hotline", secret, **opts)


@bounded(10)
async def test_login_plain_and_md5_then_ping(sim: Any) -> None:
    for auth in ("plain", "md5"):
        client = client_for(sim, auth=auth)
        await client.connect()
        assert client.banner is not None and client.banner.startswith("Asterisk Call Manager/")
        assert await client.ping() >= 0
        await client.close()


@bounded(10)
async def test_wrong_secret_is_refused(sim: Any) -> None:
    client = client_for(sim, secret="nope")
    with pytest.raises(AuthenticationError) as err:
        await client.connect()
    assert str(err.value) == (
        f"AMI login failed: wrong username or secret for user 'hotline' on "
        f"127.0.0.1:{sim.port} (Asterisk said: Authentication failed)"
    )
    await client.close()


@bounded(15)
async def test_originate_into_hotline_and_answer_over_agi(sim: Any) -> None:
    client = client_for(sim)
    starts: asyncio.Queue[Event] = asyncio.Queue()
    client.on_event("AsyncAGIStart", starts.put_nowait)
    await client.connect()
    resp = await client.originate(
        "Local/s@caller-sim",
        context="hotline",
        exten="s",
        caller_id='"Client Test" <5550199>',
        dial_timeout=15,
        variables={"HOLD": "30"},
    )
    assert resp["Response"] == "Success", resp.as_dict()
    start = await starts.get()
    channel = parse_agi_env(start["Env"]).channel
    assert channel == start["Channel"]
    answered = await client.agi(channel, "ANSWER", timeout=5)
    assert (answered.code, answered.result) == (200, 0)
    await client.agi(channel, "HANGUP", timeout=5)
    await client.close()


@bounded(15)
async def test_reconnect_across_listener_restart(sim: Any) -> None:
    client = client_for(sim, reconnect=True, backoff_initial=0.05, backoff_max=0.2)
    states: list[ConnectionState] = []
    client.on_state(states.append)
    reconnected = asyncio.Event()
    client.on_reconnect(reconnected.set)
    await client.connect()
    port = sim.port
    await sim.stop_listener()
    async with asyncio.timeout(3):
        while client.connected:  # stop_listener must also drop the open sessions
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # a few refused attempts while the PBX is away
    await sim.start_listener()
    assert sim.port == port
    await reconnected.wait()
    assert client.connected and client.reconnects == 1
    assert await client.ping() >= 0
    assert states[:3] == [ConnectionState.CONNECTING, ConnectionState.CONNECTED,
                          ConnectionState.DISCONNECTED]  # fmt: skip
    await client.close()
