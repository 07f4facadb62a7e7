"""The wallboard in a real headless Chromium over the whole hotline (pbxsim over real
TCP AMI, the controller, a real database): a queue's tile follows a caller live and
turns red when the longest wait passes the queue's configured limit; a banner says
so when the AMI link is down (and goes when it is back); a controller restart
leaves today's figures as they were (they are read from SQL), /metrics' call counts too.

Every step waits for a condition with a generous deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from callcenter.app import Hotline
from callcenter.config import load_config

from .e2e_support import drain, hotline_rig, scenario, stop_arrivals, wait_until
from .test_e2e_browser import (
    CUSTOMERS,
    LIVE_MS,
    caller_arrives,
    chromium,
    expect,
    fetch,
    log_in,
    no_callers,
    open_page,
)

FIGURES = ("offered", "answered", "abandoned", "sl", "asa")


async def metric_values(url: str, name: str) -> dict[tuple[str, ...], float]:
    """One metric of a real scrape of ``url``, parsed by prometheus-client: its label
    values in sorted label-name order -> value."""
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        text = await resp.text()
    return {
        tuple(v for _k, v in sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def limit_of(seconds: int) -> Any:
    """The config with the support queue's longest-wait limit set to ``seconds``."""

    def edit(text: str) -> str:
        assert text.count("    sl_threshold_s: 20\n") == 1
        return text.replace("    sl_threshold_s: 20\n",
                            f"    sl_threshold_s: 20\n    longest_wait_limit_s: {seconds}\n")  # fmt: skip

    return edit


async def test_a_queue_tile_follows_a_caller_and_turns_red_past_the_wait_limit(tmp_path, db_url):
    # Nobody logged in: the caller waits until patience runs out (48 simulated s at
    # time_scale 4, about 12 s), well past the 4 s limit of the config.
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False,
                           edit_config=limit_of(4)) as rig:  # fmt: skip
        async with chromium() as browser:
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            tile = board.get_by_test_id("queue-support")
            longest = board.locator('.queue-tile[data-queue="support"] .qfig-longest')
            await expect(board.get_by_test_id("queue-support-waiting")).to_have_text("0")
            await expect(longest).to_have_class("qfig qfig-longest ok")
            await expect(board.get_by_test_id("tile-longest")).to_have_class("tile ok")
            await expect(board.get_by_test_id("pbx-banner")).to_be_hidden()

            await caller_arrives(rig, CUSTOMERS[3].national_numbers[0], patience=48)
            await expect(board.get_by_test_id("queue-support-waiting")).to_have_text("1", timeout=LIVE_MS)
            await expect(board.get_by_test_id("queue-support-offered")).to_have_text("1")
            await expect(board.get_by_test_id("waiting-calls")).to_contain_text("support")
            # the limit (from the config file, 4 s) passed: red, here and in the centre
            await expect(longest).to_have_class("qfig qfig-longest bad", timeout=LIVE_MS)
            await expect(tile).to_have_class("tile queue-tile bad")
            await expect(board.get_by_test_id("tile-longest")).to_have_class("tile bad")
            # the caller gives up: the tile counts the abandon, the colour goes
            await expect(board.get_by_test_id("queue-support-abandon")).to_have_text(
                "1 (100 %)", timeout=LIVE_MS
            )
            await expect(board.get_by_test_id("queue-support-waiting")).to_have_text("0")
            await expect(longest).to_have_class("qfig qfig-longest ok")
            await expect(board.get_by_test_id("abandoned")).to_have_text("1")
            # the day's chart (the vendored uPlot) shows the interval the caller left in
            chart = board.get_by_test_id("chart")
            await expect(chart).to_have_attribute("data-calls", "1")
            await expect(chart).to_have_attribute("data-intervals", "1")
            await expect(chart.locator("canvas")).to_have_count(1)
            api = await fetch(board, "/api/wallboard")
            support = next(q for q in api["data"]["queues"] if q["name"] == "support")
            assert support["longest_wait_limit_s"] == 4
            assert (support["offered"], support["abandoned"], support["abandon_rate_pct"]) == (1, 1, 100.0)
            [interval] = api["data"]["intervals"]
            assert (interval["answered"], interval["abandoned"]) == (0, 1)
            # /metrics counts the same calls (one definition of an outcome everywhere)
            calls = await metric_values(rig.hotline.urls.metrics, "hotline_calls_total")
            assert calls[("abandoned", "support")] == support["abandoned"] == 1, calls
            assert calls[("answered", "support")] == support["answered"] == 0, calls
    assert errors == []


async def test_a_banner_says_the_pbx_link_is_down_and_goes_when_it_is_back(tmp_path, db_url):
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        async with chromium() as browser:
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            await rig.ctl.wait_synced(30)
            banner = board.get_by_test_id("pbx-banner")
            await expect(banner).to_be_hidden()
            await expect(board.locator("#tile-waiting")).to_have_class("tile ok")

            await rig.sim.stop_listener()  # Asterisk's AMI goes away
            await expect(banner).to_be_visible(timeout=LIVE_MS)
            await expect(banner).to_contain_text("PBX link down: pbxsim")
            # no calm green "0 waiting" while the PBX is not seen
            await expect(board.locator("#tile-waiting")).to_have_class("tile")
            await expect(board.get_by_test_id("nodes")).to_contain_text("DOWN")

            await rig.sim.start_listener()
            await expect(banner).to_be_hidden(timeout=LIVE_MS)
            await expect(board.locator("#tile-waiting")).to_have_class("tile ok")

            # TV mode: the agent table goes, the tiles stay (full screen where allowed)
            await expect(board.get_by_test_id("agents")).to_be_visible()
            await board.get_by_test_id("tv-toggle").click()
            await expect(board.locator("body")).to_have_class("wallboard tv")
            await expect(board.get_by_test_id("agents")).to_be_hidden()
            await expect(board.get_by_test_id("queue-support")).to_be_visible()
            await board.get_by_test_id("tv-toggle").click()
            await expect(board.get_by_test_id("agents")).to_be_visible()
    assert errors == []


async def test_a_controller_restart_leaves_the_figures_of_the_day_unchanged(tmp_path, db_url):
    errors: list[str] = []
    world = lambda numbers: scenario(numbers, callers={"patience": [6, 40]})  # noqa: E731
    async with hotline_rig(tmp_path, db_url, world, agents=2) as rig:
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 6, 120, "six calls to end")
        await drain(rig)
        async with chromium() as browser:
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            await expect(board.get_by_test_id("waiting")).to_have_text("0")
            before = {k: await board.get_by_test_id(k).text_content() for k in FIGURES}
            api_before = (await fetch(board, "/api/wallboard"))["data"]
            counted_before = await metric_values(rig.hotline.urls.metrics, "hotline_calls_total")
            assert int(before["offered"] or 0) >= 4, before
            assert int(before["answered"] or 0) >= 1, before
            await board.context.close()

            await rig.hotline.stop()  # the controller goes; pbxsim and the database stay
            again = Hotline(load_config(rig.config_path), web_port=0)
            await again.start()
            try:
                board = await open_page(browser, errors)
                await log_in(board, again.urls.supervisor, "supervisor")
                after = {k: await board.get_by_test_id(k).text_content() for k in FIGURES}
                api_after = (await fetch(board, "/api/wallboard"))["data"]
                assert again.urls is not None
                counted_after = await metric_values(again.urls.metrics, "hotline_calls_total")
            finally:
                await again.stop()
        stop_arrivals(rig.sim)
    assert after == before
    keys = ("offered", "answered", "abandoned", "service_level_pct", "asa_s", "abandon_rate_pct")
    assert {k: api_after[k] for k in keys} == {k: api_before[k] for k in keys}
    assert [(q["name"], q["offered"], q["answered"]) for q in api_after["queues"]] == [
        (q["name"], q["offered"], q["answered"]) for q in api_before["queues"]
    ]
    per_agent = lambda api: {a["id"]: (a["calls"], a["aht_s"]) for a in api["agents"]}  # noqa: E731
    assert per_agent(api_after) == per_agent(api_before)
    assert any(calls and aht for calls, aht in per_agent(api_before).values()), api_before["agents"]
    # /metrics counts the day's rows read back from SQL: the new process goes on from them
    assert counted_after == counted_before
    assert sum(counted_before.values()) >= 6, counted_before
    assert errors == []
