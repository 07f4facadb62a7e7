"""/metrics on the fixed KPI scenario (tests/kpi_scenario.py, hand-computed): the scenario
written through the real store (SQLite and PostgreSQL), a real controller started on it
(pbxsim over TCP, its wall clock held at ``SCRAPE_AT``), /metrics scraped over HTTP and
parsed by prometheus_client. Its figures are the hand-computed ones, and the wallboard
API (``GET /api/wallboard`` over HTTP) and the report of the same database give the same
(all three from ``acd.kpis``)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from argon2 import PasswordHasher
from prometheus_client.parser import text_string_to_metric_families

from callcenter.reports.cli import report_of
from callcenter.storage import Store, make_engine, make_session_factory

from .e2e_support import hotline_rig, no_caller_world
from .kpi_scenario import EXPECTED, METRICS, SCRAPE_AT, SINCE, UNTIL, ZONE, kpi_config
from .kpi_scenario import write_scenario as write_kpi_scenario


async def write_scenario(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine),
                      hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fmt: skip
        await write_kpi_scenario(store)
    finally:
        await engine.dispose()


def parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, parsed by prometheus_client: (name, labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def scrape(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200, resp.status
        return await resp.text()


async def wallboard_api(base: str) -> dict[str, Any]:
    """``GET /api/wallboard`` as the demo's supervisor (logged in over HTTP)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "supervisor", "password": "supervisor-pass"}
        async with http.post(f"{base}/login", data=login) as resp:
            resp.raise_for_status()
        async with http.get(f"{base}/api/wallboard") as resp:
            assert resp.status == 200, resp.status
            board: dict[str, Any] = await resp.json()
    return board


async def test_metrics_give_the_hand_computed_figures_of_the_fixed_scenario(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, no_caller_world, agents=2,
                           prepare=write_scenario, edit_config=kpi_config,
                           wall_clock=lambda: SCRAPE_AT) as rig:  # fmt: skip
        assert rig.hotline.urls is not None
        text = await scrape(rig.hotline.urls.metrics)
        board = await wallboard_api(rig.hotline.urls.base)
        cfg = rig.hotline.config
    got = parsed(text)
    wrong = {key: (got.get(key), want) for key, want in METRICS.items() if got.get(key) != want}
    assert not wrong, f"/metrics (got, hand-computed): {wrong}"

    # AHT from /metrics (talk + wrap-up over the answered calls talked) is the report's
    support = (("queue", "support"),)
    aht = (got[("hotline_talk_seconds_sum", support)] + got[("hotline_wrap_up_seconds_sum", support)]
           ) / got[("hotline_talk_seconds_count", support)]  # fmt: skip
    assert aht == pytest.approx(EXPECTED["support"]["aht_s"])

    # the wallboard API of the same run: the same calls, the same 30-minute service level
    tiles = {t["name"]: t for t in board["queues"]}
    for name in ("support", "sales"):
        tile, want = tiles[name], EXPECTED[name]
        assert (tile["answered"], tile["abandoned"], tile["offered"]) == (
            want["answered"], want["abandoned"], want["offered"])  # fmt: skip
        exported = got[("hotline_service_level_30m_ratio", (("queue", name),))]
        assert tile["service_level_30m_pct"] == round(100 * exported, 1)
        assert tile["service_level_pct"] == round(100 * want["service_level"], 1)
    assert tiles["support"]["asa_s"] == EXPECTED["support"]["asa_s"]
    assert tiles["support"]["abandon_rate_pct"] == round(100 * EXPECTED["support"]["abandon_rate"], 1)
    # its agent grid: each agent's calls and AHT are the report's by agent (talk + wrap-up)
    agents = {a["name"]: a for a in board["agents"]}
    for name in ("alice", "bob"):
        assert (agents[name]["calls"], agents[name]["aht_s"]) == (
            EXPECTED[name]["answered"], round(EXPECTED[name]["aht_s"], 1))  # fmt: skip

    # the report of the same database: what /metrics counted by outcome
    zone = ZoneInfo(ZONE)
    since, until = (dt.datetime.fromisoformat(t).replace(tzinfo=zone) for t in (SINCE, UNTIL))
    report = await report_of(cfg, since, until, "queue")
    for row in report.rows:
        f, q = row.figures, (("queue", row.queue),)
        counted = {o: got[("hotline_calls_total", (("outcome", o), *q))]
                   for o in ("answered", "abandoned", "timeout", "lost")}  # fmt: skip
        assert counted == {"answered": f.answered, "abandoned": f.abandoned,
                           "timeout": f.timed_out, "lost": f.lost}, row.queue  # fmt: skip
        assert got[("hotline_wait_seconds_count", q)] == f.offered
        if f.aht_s is not None:
            assert f.talk_s == got[("hotline_talk_seconds_sum", q)]
            assert f.wrap_up_s == got[("hotline_wrap_up_seconds_sum", q)]
    assert not math.isnan(got[("hotline_service_level_30m_ratio", support)])
