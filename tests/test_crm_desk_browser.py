"""The agent desk in a real headless Chromium shows what the CRM said: "CRM unavailable"
when it failed or was too slow, "Looking up the caller" while it has not answered and
the card that follows the pop, and the card's "Open in CRM" link."""

from __future__ import annotations

import os

import pytest

from crm_bridge.card import CustomerCard, TicketSummary
from tests.test_web_support import CALL_ID, PASSWORD, World, screen_pop

from .test_e2e_browser import CHROMIUM, chromium, served

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Python package playwright is not installed"
)
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium); no browser is downloaded",
)
OTHER = "pbx1:1700000000.61"


async def test_the_desk_says_crm_unavailable_then_shows_the_card_that_follows():
    expect = playwright_api.expect
    world = World()
    errors: list[str] = []
    card = CustomerCard(None, "Nguyễn Văn An", "A-1", "vip", ("+84901234567",),
                        external_id="C-17", link="https://crm.example/c/C-17",
                        tickets=(TicketSummary(4, "No service", "open", 2),))  # fmt: skip
    async with served(world.app()) as base, chromium() as browser:
        page = await browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(base + "/agent")
        await page.fill("input[name=username]", "an")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/agent")
        await page.wait_for_selector('body[data-live="open"]')
        shown = page.get_by_test_id("card")
        # the CRM failed or was too slow: the pop says so
        pop = {**screen_pop(CALL_ID), "card": None, "crm": "unavailable"}
        assert world.hub.push_to_agent("7", pop) == 1
        await expect(shown).to_contain_text("CRM unavailable")
        # the next call rings before the CRM answered; its card follows
        pop = {**screen_pop(OTHER), "card": None, "crm": "pending"}
        assert world.hub.push_to_agent("7", pop) == 1
        await expect(shown).to_contain_text("Looking up the caller")
        update = {"type": "card", "call_id": OTHER, "caller_number": "x",
                  "card": card.to_json(), "crm": "found"}  # fmt: skip
        assert world.hub.push_to_agent("7", update) == 1
        await expect(shown).to_contain_text("Nguyễn Văn An")
        await expect(shown).to_contain_text("No service")
        link = page.get_by_test_id("card-link")
        await expect(link).to_have_attribute("href", "https://crm.example/c/C-17")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        # a late card of another call is not shown over the call on screen
        stale = {**update, "call_id": CALL_ID,
                 "card": {**card.to_json(), "full_name": "Khách khác"}}  # fmt: skip
        assert world.hub.push_to_agent("7", stale) == 1
        ended = {"type": "call_ended", "call_id": OTHER}
        assert world.hub.push_to_agent("7", ended) == 1  # after it on the same socket
        await expect(page.get_by_test_id("call-status")).to_contain_text("Call ended")
        await expect(shown).to_contain_text("Nguyễn Văn An")
        await expect(shown).not_to_contain_text("Khách khác")
    assert errors == []
