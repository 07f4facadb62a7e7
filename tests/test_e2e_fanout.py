"""Two web nodes on one PostgreSQL (issue 18, live fan-out): the node that drives
pbxsim over real TCP, and a web-only node that drives nothing and takes the live feed
from a private redis-server. A real Chromium desk and wallboard are connected to the
web-only node only: the screen-pop shows while the agent's phone still rings, and the
wallboard moves as the caller arrives. Redis going away is reported by both nodes'
/healthz and metrics, the driving node's calls go on, and the feed comes back."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.flow import Stage

from .e2e_support import hotline_rig, wait_until
from .redis_support import PrivateRedis
from .test_e2e_browser import (
    CHROMIUM,
    CUSTOMERS,
    LIVE_MS,
    caller_arrives,
    chromium,
    expect,
    log_in,
    no_callers,
    open_page,
)

#: two web nodes on one PostgreSQL (SQLite is one process's file), seen in Chromium
#: (tests/test_e2e_standby.py too)
TWO_NODES_IN_CHROMIUM = [
    pytest.mark.parametrize("db_url", ["postgresql"], indirect=True),
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is missing"),
]
pytestmark = TWO_NODES_IN_CHROMIUM

SLOW = {"default": {"answer_delay": 5, "talk_time": [3, 4], "agent_hangs_up_probability": 0.5}}


@contextlib.asynccontextmanager
async def two_nodes(
    tmp_path: Path, db_url: str, redis: PrivateRedis, **rig: Any
) -> AsyncIterator[tuple[Any, Hotline]]:
    """The rig's controller publishing to ``redis``, and a web-only node beside it (its
    config in a folder of its own: its own write journal)."""

    def with_fanout(text: str) -> str:
        return text.replace("web:\n", f"web:\n  fanout_url: {redis.url}\n", 1)

    async with hotline_rig(tmp_path, db_url, edit_config=with_fanout, **rig) as leader:
        folder = tmp_path / "web-only"
        folder.mkdir()
        (folder / "hotline.yaml").write_text(leader.config_path.read_text())
        standby = Hotline(load_config(folder / "hotline.yaml"), web_port=0, web_only=True)
        await standby.start()
        try:
            await wait_until(lambda: standby.hub.latest_wallboard is not None, 60,
                             "the first board over the fan-out")  # fmt: skip
            yield leader, standby
        finally:
            await standby.stop()


async def healthz(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as resp:
        return resp.status, await resp.json()


async def test_a_desk_and_a_wallboard_on_the_web_only_node_are_live(
    tmp_path, db_url, private_redis
):
    customer = CUSTOMERS[11]
    errors: list[str] = []
    async with two_nodes(tmp_path, db_url, private_redis, world=no_callers(SLOW), agents=1,
                         time_scale=1.0, auto_login=True, offer_timeout_s=15) as (leader, standby):  # fmt: skip
        assert standby.controller is not None  # built, never started: no AMI link
        assert not any(n.client.connected for n in standby.controller.nodes.values())
        async with chromium() as browser:
            board = await open_page(browser, errors)
            await log_in(board, standby.urls.supervisor, "supervisor")
            desk = await open_page(browser, errors)
            await log_in(desk, standby.urls.agent, "agent1")
            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
            await expect(board.get_by_test_id("offered")).to_have_text("0")
            await expect(board.get_by_test_id("waiting")).to_have_text("0")
            assert leader.ctl.counters["calls"] == 0, "a caller came before the pages were live"
            # the web-only node's /metrics read the driving node's floor, not its idle ACD
            assert 'hotline_agents{state="ready"} 1.0' in standby.metrics.render().decode()
            me = next(a.id for a in await leader.hotline.store.list_agents()
                      if a.username == "agent1")  # fmt: skip

            await caller_arrives(leader, customer.national_numbers[0])
            await expect(board.get_by_test_id("offered")).to_have_text("1", timeout=LIVE_MS)
            card = desk.get_by_test_id("card")
            await expect(card).to_contain_text(customer.full_name, timeout=LIVE_MS)
            (call,) = leader.ctl.calls.values()
            stage_at_card = call.stage
            await leader.hotline.writer.flush()
            row_at_card = await leader.hotline.store.get_call(call.call_id)
            assert stage_at_card is Stage.OFFERED, f"card shown at stage {stage_at_card}"
            assert row_at_card is not None and row_at_card.answered_at is None
            # the pop went through Redis: no desk is open on the driving node
            assert not leader.hotline.hub.agent_connected(str(me))
            assert standby.hub.delivered["screen_pop"] == 1
            await expect(desk.get_by_test_id("call-status")).to_contain_text("Ringing")
            await expect(desk.get_by_test_id("call-status")).to_contain_text(
                "Call ended", timeout=LIVE_MS
            )
            await expect(board.get_by_test_id("offered")).to_have_text("1")
            # the web-only node refuses what only the driving node does
            ready = await desk.evaluate(
                """async () => (await fetch("/api/agent/ready", {method: "POST",
                   credentials: "same-origin", headers: {Accept: "application/json"}})).status"""
            )
            assert ready == 503
    assert errors == []


async def test_redis_away_is_reported_the_calls_go_on_and_the_feed_comes_back(
    tmp_path, db_url, private_redis
):
    async with two_nodes(tmp_path, db_url, private_redis, world=no_callers(), agents=1,
                         auto_login=True) as (leader, standby):  # fmt: skip
        status, body = await healthz(standby.urls.base)
        assert status == 200 and body["fanout"]["up"] is True, body
        private_redis.stop()
        await wait_until(lambda: standby.parts.fanout.up is False, 60, "the standby's link down")
        status, body = await healthz(standby.urls.base)
        assert status == 503 and body["fanout"]["up"] is False and body["fanout"]["error"], body
        assert "hotline_fanout_connected 0.0" in standby.metrics.render().decode()
        # the driving node takes a call meanwhile: answered, one outcome
        await caller_arrives(leader, CUSTOMERS[3].national_numbers[0])
        await wait_until(lambda: leader.ctl.counters["outcomes"] >= 1, 120, "the call to end")
        await wait_until(
            lambda: leader.hotline.parts.fanout.up is False, 60, "the leader's link down"
        )
        status, body = await healthz(leader.hotline.urls.base)
        assert status == 200 and body["fanout"]["up"] is False, body
        private_redis.start()
        await wait_until(lambda: standby.parts.fanout.up and leader.hotline.parts.fanout.up, 60,
                         "both links back")  # fmt: skip
        await wait_until(
            lambda: (standby.hub.latest_wallboard or {}).get("offered") == 1, 60,
            "the standby's board caught up",
        )  # fmt: skip
        status, body = await healthz(standby.urls.base)
        assert status == 200 and body["fanout"]["reconnects"] == 1, body
        scraped = standby.metrics.render().decode()
        assert "hotline_fanout_connected 1.0" in scraped
        assert "hotline_fanout_reconnects_total 1.0" in scraped
