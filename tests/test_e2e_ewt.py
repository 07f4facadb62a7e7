"""The estimated wait over the whole hotline: pbxsim over real AMI, real SQL, the
wallboard's JSON API over real HTTP. One agent, callers arriving faster than it
answers: once a call was answered (a talk time observed), a waiting caller has an
estimate, its position and the calls ahead, and the queue tile its estimate for a
caller joining now with the inputs it came from."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from .e2e_support import hotline_rig, scenario


def _world(numbers: list[str]) -> dict[str, Any]:
    return scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 40},
                    callers={"patience": [300, 400]},
                    agents={"default": {"answer_delay": [0.5, 1], "talk_time": [4, 8],
                                        "agent_hangs_up_probability": 0.5}})  # fmt: skip


async def test_the_wallboard_api_shows_each_waiting_callers_estimate_and_its_inputs(
    tmp_path, db_url
):
    async with hotline_rig(tmp_path, db_url, _world, agents=1) as rig:
        jar = aiohttp.CookieJar(unsafe=True)
        base = rig.hotline.urls.base
        async with aiohttp.ClientSession(cookie_jar=jar) as http:
            login = {"username": "supervisor", "password": "supervisor-pass"}
            async with http.post(f"{base}/login", data=login) as resp:
                resp.raise_for_status()
            board: dict[str, Any] = {}
            for _ in range(1200):  # up to about two minutes
                async with http.get(f"{base}/api/wallboard") as resp:
                    board = await resp.json()
                estimated = [w for w in board["waiting_calls"] if w["ewt_s"] is not None]
                if estimated:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"no waiting call got an estimate: {board}")
        [tile] = board["queues"]
        inputs = tile["ewt_inputs"]
        assert inputs["talk_samples"] >= 1 and inputs["talk_s"] > 0
        assert inputs["handle_s"] >= inputs["talk_s"] and inputs["serving_agents"] == 1
        assert tile["ewt_s"] is not None and tile["ewt_s"] >= 0
        for w in estimated:
            assert w["position"] >= 1 and w["ahead"] is not None and w["ewt_s"] >= 0
        # the one agent serves them one by one: an estimate grows with the calls ahead
        ranked = sorted(estimated, key=lambda w: w["ahead"])
        assert [w["ewt_s"] for w in ranked] == sorted(w["ewt_s"] for w in ranked)
        assert tile["ewt_s"] >= max(w["ewt_s"] for w in estimated)
