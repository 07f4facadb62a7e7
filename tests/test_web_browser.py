"""The wallboard and the agent desktop in a real headless Chromium.

The app runs on a real TCP port; the browser logs in, watches a snapshot
published server-side change the page without reload, and an agent receives a
screen-pop and saves a disposition. The README's picture comes from the real hotline
(tests/test_e2e_browser.py), not from these stand-ins.
"""

from __future__ import annotations

import os

import pytest

from tests.test_web_support import CALL_ID, PASSWORD, World, screen_pop, wallboard_snapshot

from .test_e2e_browser import CHROMIUM, chromium, served

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Python package playwright is not installed"
)
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium); no browser is downloaded",
)


async def _login(page, base: str, path: str, username: str) -> None:
    await page.goto(base + path)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(base + path)
    await page.wait_for_selector('body[data-live="open"]')


async def test_wallboard_updates_live_and_agent_saves_disposition_after_screen_pop(tmp_path):
    expect = playwright_api.expect
    world = World()
    errors: list[str] = []
    async with served(world.app()) as base, chromium() as browser:
        # The supervisor's wallboard: first snapshot, then a live update.
        sup = await browser.new_page(viewport={"width": 1600, "height": 1000})
        sup.on("pageerror", lambda exc: errors.append(f"wallboard: {exc}"))
        sup.on("console", lambda m: m.type == "error" and errors.append(f"wallboard: {m.text}"))
        await _login(sup, base, "/supervisor", "lan")
        await expect(sup.get_by_test_id("waiting")).to_have_text("3")
        await expect(sup.get_by_test_id("offered")).to_have_text("128")
        world.hub.publish_wallboard(
            wallboard_snapshot(waiting=4, longest_wait_s=17.0, offered=131, answered=119, asa_s=9.8)
        )
        await expect(sup.get_by_test_id("waiting")).to_have_text("4")
        await expect(sup.get_by_test_id("offered")).to_have_text("131")
        await expect(sup.get_by_test_id("agents")).to_contain_text("Đặng Quốc Huy")
        await sup.screenshot(path=str(tmp_path / "wallboard.png"))

        # The agent's desktop: screen-pop while ringing, then the disposition.
        desk = await browser.new_page(viewport={"width": 1400, "height": 900})
        desk.on("pageerror", lambda exc: errors.append(f"desk: {exc}"))
        desk.on("console", lambda m: m.type == "error" and errors.append(f"desk: {m.text}"))
        await _login(desk, base, "/agent", "an")
        await expect(desk.get_by_test_id("state")).to_have_text("Paused")
        assert world.hub.push_to_agent("7", screen_pop()) == 1
        await expect(desk.get_by_test_id("card")).to_contain_text("Nguyễn Thị Minh Khai")
        # the caller's path through the IVR, as the screen-pop carries it
        await expect(desk.get_by_test_id("ivr")).to_contain_text(
            "language(1) > hours[1] > main(1) > account(2041187) > find(found)"
        )
        await expect(desk.get_by_test_id("call-status")).to_contain_text("Ringing")
        notes = "Khách hỏi về hoá đơn tháng 10"
        await desk.get_by_test_id("dispo-code").select_option("resolved")
        await desk.get_by_test_id("dispo-notes").fill(notes)
        await desk.get_by_test_id("dispo-submit").click()
        await expect(desk.get_by_test_id("dispo-result")).to_contain_text("Saved")
    assert world.dispositions.saved == [(CALL_ID, "7", "resolved", notes)]
    assert world.hub.screen_pops_delivered == 1
    assert errors == []
