"""The controller starts with its Asterisk down, serves its pages, and takes calls once it is up.

Broke: ``callcenter run`` exited with a traceback when Asterisk was down at start,
and with several nodes one dead node stopped everything.
"""

from __future__ import annotations

import socket

import aiohttp

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import SECRET, config_text
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_support import scenario, seeded, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_controller_started_with_its_node_down_serves_pages_then_takes_calls(
    tmp_path, db_url
):
    numbers = await seeded(db_url, agents=2)
    ami_port = free_port()
    (tmp_path / "monitor").mkdir()
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(config_text(ami_port=ami_port, database_url=db_url,
                               monitor=tmp_path / "monitor", hold_slice_s=3))  # fmt: skip
    hotline = Hotline(load_config(cfg), web_port=0, auto_login_agents=True, connect_wait_s=0.5)
    sim: PBXSim | None = None
    await hotline.start()  # must not raise: nothing listens on ami_port
    try:
        assert hotline.urls is not None
        base = hotline.urls.base
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            async with http.get(f"{base}/healthz") as resp:
                body = await resp.json()
                assert resp.status == 503 and body["ami"] == {"pbxsim": False}
                assert "pbxsim" in body["errors"], body
            login = {"username": "supervisor", "password": "supervisor-pass"}
            async with http.post(f"{base}/login", data=login) as resp:
                assert resp.status == 200
            async with http.get(hotline.urls.supervisor) as resp:
                assert resp.status == 200 and "nodes" in await resp.text()

            world = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 30,
                                                "max_calls": 2})  # fmt: skip
            sim = PBXSim(port=ami_port, users={"hotline": SECRET},
                         scenario=Scenario.from_dict(world), seed=2,
                         spool_dir=tmp_path / "spool", time_scale=4.0)  # fmt: skip
            await sim.start()
            ctl = hotline.controller
            assert ctl is not None
            await wait_until(lambda: ctl.counters["outcomes"] >= 1, 120, "a call to end")
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200 and (await resp.json())["ami"] == {"pbxsim": True}
    finally:
        await hotline.stop()
        if sim is not None:
            await sim.close()
