"""The recordings page in a real headless Chromium: a supervisor finds a recording by
the caller's number, plays it, sees its muted span, and the audit log shows the listen."""

from __future__ import annotations

import asyncio
import os

import pytest

from callcenter.web.keys import RECORDINGS
from tests.test_web_recordings import library  # noqa: F401  (the fixture)
from tests.test_web_support import PASSWORD, World

from .test_e2e_browser import CHROMIUM, chromium, served

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Python package playwright is not installed"
)
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium); no browser is downloaded",
)


async def test_a_supervisor_finds_a_recording_by_caller_plays_it_and_the_audit_shows_it(
    library,  # noqa: F811
):
    expect = playwright_api.expect
    app = World().app()
    app[RECORDINGS] = library[0]
    errors: list[str] = []
    async with served(app) as base, chromium("--mute-audio") as browser:
        page = await browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        await page.goto(base + "/supervisor/recordings")
        await page.fill("input[name=username]", "lan")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/supervisor/recordings")
        await expect(page.get_by_test_id("rec-status")).to_have_text("3 recording(s)")
        await page.get_by_test_id("rec-caller").fill("0912345678")
        await page.get_by_test_id("rec-search").click()
        await expect(page.get_by_test_id("rec-status")).to_have_text("1 recording(s)")
        rows = page.get_by_test_id("rec-rows")
        await expect(rows).to_contain_text("0912345678")
        await rows.get_by_test_id("rec-play").click()
        await expect(page.get_by_test_id("rec-title")).to_contain_text("pbx1:1796.1")
        await expect(page.get_by_test_id("rec-timeline")).to_contain_text("muted 0.5–1.0 s")
        # it plays: the browser loaded the WAV and its clock moves
        # (polled with evaluate: wait_for_function evaluates a string, which the
        # page's CSP forbids)
        deadline = asyncio.get_running_loop().time() + 30
        while not await page.evaluate("() => document.getElementById('rec-audio').currentTime > 0"):
            assert asyncio.get_running_loop().time() < deadline, "it never played"
            await asyncio.sleep(0.1)
        await expect(page.get_by_test_id("rec-audit")).to_contain_text("listen by supervisor 2")
    assert errors == []
