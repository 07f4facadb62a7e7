"""The agent desk's recording buttons in a real headless Chromium: the agent mutes and
unmutes the recording of the call on screen, and records one that is not recorded."""

from __future__ import annotations

import os

import pytest

from tests.test_web_support import CALL_ID, PASSWORD, World, screen_pop

from .test_e2e_browser import CHROMIUM, chromium, served

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Python package playwright is not installed"
)
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium); no browser is downloaded",
)
BARE = "pbx1:1700000000.60"


async def test_the_agent_mutes_unmutes_and_records_from_the_desk():
    expect = playwright_api.expect
    world = World()
    world.desk.live_calls = {CALL_ID: ("7", True), BARE: ("7", False)}
    errors: list[str] = []
    async with served(world.app()) as base, chromium() as browser:
        page = await browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/agent")
        await page.fill("input[name=username]", "an")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/agent")
        await page.wait_for_selector('body[data-live="open"]')
        mute = page.get_by_test_id("rec-mute")
        await expect(mute).to_be_disabled()
        assert world.hub.push_to_agent("7", screen_pop(CALL_ID)) == 1
        await expect(mute).to_be_enabled()
        await mute.click()
        await expect(page.get_by_test_id("rec-result")).to_have_text("Recording muted")
        await expect(mute).to_have_text("Unmute recording")
        await mute.click()
        await expect(page.get_by_test_id("rec-result")).to_have_text("Recording on")
        # a call not recorded yet: mute is refused with the reason, record starts it
        assert world.hub.push_to_agent("7", screen_pop(BARE)) == 1
        await expect(page.get_by_test_id("call-status")).to_contain_text("Ringing")
        await mute.click()
        await expect(page.get_by_test_id("rec-result")).to_contain_text("no recording")
        await page.get_by_test_id("rec-start").click()
        await expect(page.get_by_test_id("rec-result")).to_have_text("Recording")
    assert errors == []
    assert world.desk.actions == [
        ("mute", CALL_ID, "agent:7"),
        ("unmute", CALL_ID, "agent:7"),
        ("record", BARE, "agent:7"),
    ]
