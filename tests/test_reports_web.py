"""The reports in the browser: ``GET /api/reports`` (JSON and CSV, the same figures as
``callcenter report``) over the scenario of ``tests/kpi_scenario.py`` in SQLite and
PostgreSQL, its refusals, and the ``/supervisor/reports`` page in a real headless
Chromium: the table, both charts, the CSV download."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.config import load_config
from callcenter.reports.service import SqlReports
from callcenter.storage import make_session_factory
from callcenter.web.keys import REPORTS

from .kpi_scenario import EXPECTED, SINCE, UNTIL
from .test_e2e_browser import CHROMIUM, chromium, served
from .test_reports import check, cli, engine, scenario_db, write_config  # noqa: F401
from .test_web import login
from .test_web_support import PASSWORD, World


@pytest.fixture
async def reports_app(tmp_path: Path, engine: AsyncEngine, scenario_db: str  # noqa: F811
                      ) -> AsyncIterator[tuple[web.Application, Path]]:  # fmt: skip
    cfg = write_config(tmp_path, scenario_db)
    config = load_config(cfg)
    app = World().app()
    app[REPORTS] = SqlReports(make_session_factory(engine), lambda: config)
    yield app, cfg


async def test_the_api_gives_the_reports_figures_as_json_and_csv(reports_app, aiohttp_client):
    app, cfg = reports_app
    client = await aiohttp_client(app)
    await login(client, "lan")
    r = await client.get("/api/reports", params={"from": SINCE, "to": UNTIL})
    assert r.status == 200, await r.text()
    doc: dict[str, Any] = await r.json()
    rows = {row["queue"]: row for row in doc["rows"]}
    check(rows["support"], EXPECTED["support"], "api support")
    check(rows["sales"], EXPECTED["sales"], "api sales")
    r = await client.get("/api/reports", params={"from": SINCE, "to": UNTIL, "by": "hour",
                                                 "format": "csv"})  # fmt: skip
    assert r.status == 200 and r.content_type == "text/csv"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="hotline-hour-2026-12-01-2026-12-01.csv"'
    )
    text = await r.text()
    # the same bytes as the command line's CSV
    done = cli("report", "--config", str(cfg), "--from", SINCE, "--to", UNTIL, "--by", "hour",
               "--format", "csv")  # fmt: skip
    assert done.returncode == 0 and text == done.stdout
    hours = list(csv.DictReader(io.StringIO(text)))
    assert [(h["hour"], h["queue"], h["sl_pct"], h["agents_needed"]) for h in hours] == [
        ("2026-12-01 09:00", "sales", "0", ""),
        ("2026-12-01 09:00", "support", "50", "2"),
        ("2026-12-01 10:00", "support", "0", "1"),
    ]


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": SINCE}, "to: required"),
        ({"from": SINCE, "to": UNTIL, "by": "year"}, "by: one of queue, agent, hour, day, week, month"),
        ({"from": SINCE, "to": UNTIL, "format": "xml"}, "format: one of json, csv"),
        ({"from": "2026-13-01", "to": UNTIL}, "from: '2026-13-01' is not a date (YYYY-MM-DD) or an"
         " ISO time (YYYY-MM-DDTHH:MM[+HH:MM])"),
        ({"from": UNTIL, "to": SINCE}, "from: must be before to"),
        ({"from": SINCE, "to": UNTIL, "queue": "x"}, "queue: unknown parameter"),
    ],
)  # fmt: skip
async def test_bad_parameters_are_refused_by_name(reports_app, aiohttp_client, params, reason):
    client = await aiohttp_client(reports_app[0])
    await login(client, "lan")
    r = await client.get("/api/reports", params=params)
    assert r.status == 400 and await r.json() == {"error": "invalid_field", "reason": reason}


async def test_only_supervisors_see_reports(reports_app, aiohttp_client):
    client = await aiohttp_client(reports_app[0])
    params = {"from": SINCE, "to": UNTIL}
    assert (await client.get("/api/reports", params=params)).status == 401
    await login(client, "an")
    assert (await client.get("/api/reports", params=params)).status == 403


playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Python package playwright is not installed"
)


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                    reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")  # fmt: skip
async def test_the_reports_page_shows_the_table_charts_and_downloads_the_csv(
    reports_app, tmp_path: Path
):
    app, cfg = reports_app
    expect = playwright_api.expect
    errors: list[str] = []
    async with served(app) as base, chromium() as browser:
        page = await browser.new_page(accept_downloads=True)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        await page.goto(base + "/supervisor/reports?from=2026-12-01&to=2026-12-02")
        await page.fill("input[name=username]", "lan")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/supervisor/reports*")
        await expect(page.get_by_test_id("rep-status")).to_have_text(
            "2 row(s), 2026-12-01T00:00:00+07:00 to 2026-12-02T00:00:00+07:00 (Asia/Ho_Chi_Minh)"
        )
        support = page.locator("tr[data-testid=rep-row]", has_text="support")
        for col, value in (("offered", "10"), ("sl_pct", "44.4"), ("asa_s", "15"),
                           ("aht_s", "158.3"), ("fcr_pct", "60"), ("nps", "25")):  # fmt: skip
            await expect(support.locator(f"td[data-col={col}]")).to_have_text(value)
        # both charts drew (uPlot: a canvas each) with their series
        for chart, series in (("rep-chart-share", "service level %,abandon %"),
                              ("rep-chart-count", "offered,answered,agents needed")):  # fmt: skip
            box = page.get_by_test_id(chart)
            await expect(box.locator("canvas")).to_have_count(1)
            await expect(box).to_have_attribute("data-series", series)
            await expect(box.locator(".u-legend")).to_contain_text(series.split(",")[0])
        # by agent: occupancy and pause time on the agents' rows
        await page.get_by_test_id("rep-by").select_option("agent")
        await page.get_by_test_id("rep-show").click()
        alice = page.locator("tr[data-testid=rep-row]", has_text="alice")
        # over the whole day alice was in from 01:50 UTC (not from the 02:00 of the
        # two-hour range): 370 / (6,900 - 1,800) = 7.25 %
        await expect(alice.locator("td[data-col=occupancy_pct]")).to_have_text("7.3")
        await expect(alice.locator("td[data-col=pause_s_by_reason]")).to_have_text("lunch=1800")
        await expect(page.get_by_test_id("rep-chart-share")).to_have_attribute(
            "data-series", "occupancy %,utilisation %"
        )
        # the CSV link downloads what the command line prints
        async with page.expect_download() as info:
            await page.get_by_test_id("rep-csv").click()
        download = await info.value
        saved = tmp_path / "report.csv"
        await download.save_as(saved)
        done = cli("report", "--config", str(cfg), "--from", "2026-12-01",
                   "--to", "2026-12-02", "--by", "agent", "--format", "csv")  # fmt: skip
        assert saved.read_text() == done.stdout
        # a bad range is said, not drawn
        await page.get_by_test_id("rep-to").fill("2026-11-30")
        await page.get_by_test_id("rep-show").click()
        await expect(page.get_by_test_id("rep-status")).to_have_text(
            "Not shown: from: must be before to"
        )
        await expect(page.locator("tr[data-testid=rep-row]")).to_have_count(0)
    # the refused range's fetches log their 400s; nothing else may fail
    assert [e for e in errors if "status of 400" not in e] == [], errors
