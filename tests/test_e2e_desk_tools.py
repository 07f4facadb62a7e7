"""The agent desk's own tools in a real Chromium over the whole hotline (pbxsim over real
AMI, the controller, SQL; issue 15): the wrap-up's countdown, Extend and End wrap-up; the desk reconnecting by itself and
showing it.

Callers ring on demand (:func:`caller_arrives`) once the desk is ready; every wait is
for a condition with a generous deadline, never a fixed time.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import WSCloseCode

import acd
from callcenter.web.keys import SOCKETS

from .e2e_support import hotline_rig, wait_until
from .test_e2e_browser import (
    CUSTOMERS,
    LIVE_MS,
    agent_id_of,
    caller_arrives,
    chromium,
    expect,
    log_in,
    no_callers,
    open_page,
    pytestmark,  # noqa: F401 (skipped without Chromium)
)


def state_of(rig: Any, agent_id: int) -> acd.AgentView:
    return rig.ctl.core.agent(str(agent_id), rig.ctl.now())


def long_wrap_up(text: str) -> str:
    """The queue's wrap-up: 120 s, extended at most to 180 s (a slow machine never
    sees it run out during the test)."""
    assert text.count("wrap_up_s: 1\n") == 1
    return text.replace("wrap_up_s: 1\n", "wrap_up_s: 120\n    wrap_up_max_s: 180\n")


def seconds_shown(text: str | None) -> int:
    minutes, _, seconds = (text or "").partition(":")
    return int(minutes) * 60 + int(seconds)


async def test_wrap_up_counts_down_extends_to_its_limit_and_ends_early(tmp_path, db_url):
    # The wrap-up ran out on a fixed timer: no countdown, no way to end it or extend it.
    number = CUSTOMERS[4].national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False,
                           edit_config=long_wrap_up) as rig:  # fmt: skip
        me = await agent_id_of(rig, "agent1")
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await expect(desk.get_by_test_id("wrapup")).to_be_hidden()
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")

            await caller_arrives(rig, number)
            await wait_until(lambda: state_of(rig, me).state is acd.AgentState.WRAP_UP, 90,
                             "the call to be answered and to end")  # fmt: skip
            await expect(desk.get_by_test_id("state")).to_have_text("Wrap-up", timeout=LIVE_MS)
            box = desk.get_by_test_id("wrapup")
            await expect(box).to_be_visible()
            first = state_of(rig, me)
            assert first.wrap_up_until is not None and first.wrap_up_limit is not None
            assert first.wrap_up_limit - first.wrap_up_until == 60.0
            # the countdown: 2:00 at most, and it goes down
            left = desk.get_by_test_id("wrapup-left")
            await expect(left).to_have_text(re.compile(r"^[0-2]:\d\d$"))
            shown = seconds_shown(await left.text_content())
            assert 0 < shown <= 120
            await desk.wait_for_function(
                f"() => {{ const t = document.querySelector('[data-testid=wrapup-left]')"
                f".textContent.split(':'); return +t[0] * 60 + +t[1] < {shown}; }}",
                timeout=LIVE_MS)  # fmt: skip

            # Extend: the ACD's wrap-up timer moves 30 s later, the countdown with it
            await desk.get_by_test_id("wrapup-extend").click()
            await wait_until(lambda: state_of(rig, me).wrap_up_until == first.wrap_up_until + 30,
                             30, "the ACD's wrap-up end to move 30 s")  # fmt: skip
            assert rig.ctl.core.next_timer() <= first.wrap_up_until + 30
            await desk.wait_for_function(
                "() => { const t = document.querySelector('[data-testid=wrapup-left]')"
                ".textContent.split(':'); return +t[0] * 60 + +t[1] > 120; }",
                timeout=LIVE_MS)  # fmt: skip
            await expect(desk.get_by_test_id("wrapup-extend")).to_be_enabled()
            # twice more: the second reaches the limit (180 s from the call's end)
            await desk.get_by_test_id("wrapup-extend").click()
            await wait_until(lambda: state_of(rig, me).wrap_up_until == first.wrap_up_limit,
                             30, "the wrap-up end to reach its limit")  # fmt: skip
            await expect(desk.get_by_test_id("wrapup-extend")).to_be_disabled()
            assert state_of(rig, me).state is acd.AgentState.WRAP_UP

            # End wrap-up: ready at once, the countdown gone
            await desk.get_by_test_id("wrapup-end").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
            await expect(box).to_be_hidden()
            assert state_of(rig, me).state is acd.AgentState.READY
            assert state_of(rig, me).wrap_up_until is None
            # outside wrap-up the API refuses, by name
            refused = await desk.evaluate(
                "async () => { const r = await fetch('/api/agent/wrap-up', {method: 'POST',"
                " headers: {'Content-Type': 'application/json'},"
                " body: JSON.stringify({action: 'extend'})}); return [r.status, await r.json()]; }")
            assert refused[0] == 409 and refused[1]["error"] == "invalid_transition"
    assert errors == []


#: records every value the page's live indicator takes (body[data-live])
WATCH_LIVE = """() => {
  window.liveSeen = [document.body.dataset.live];
  new MutationObserver(() => window.liveSeen.push(document.body.dataset.live))
    .observe(document.body, {attributes: true, attributeFilter: ["data-live"]});
}"""


async def test_the_desk_reconnects_by_itself_shows_it_and_catches_up(tmp_path, db_url):
    # The desk's reconnect (live.js) was never tested: a dropped socket must show
    # "Reconnecting…", come back without a reload and show what changed meanwhile.
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        me = await agent_id_of(rig, "agent1")
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await expect(desk.get_by_test_id("live")).to_have_text("Live")
            await desk.evaluate("window.sameDocument = 'not reloaded'")
            await desk.evaluate(WATCH_LIVE)

            # the server drops the desk's socket; the agent is paused while it is away
            app = rig.hotline.app
            dropped = list(app[SOCKETS])
            assert dropped, "the desk's socket"
            for ws in dropped:
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"test drop")
            await rig.ctl.agent_pause(str(me), "coaching")

            await desk.wait_for_function("() => window.liveSeen.includes('down')",
                                         timeout=LIVE_MS)  # fmt: skip
            await desk.wait_for_selector('body[data-live="open"]', timeout=LIVE_MS)
            await expect(desk.get_by_test_id("live")).to_have_text("Live")
            seen = await desk.evaluate("window.liveSeen")
            assert seen[seen.index("down"):][-1] == "open", seen
            # the new socket's first message is the agent's state now
            await expect(desk.get_by_test_id("state")).to_have_text("Paused", timeout=LIVE_MS)
            await expect(desk.locator("#pause-reason")).to_have_text("(coaching)")
            assert not any(ws in dropped for ws in app[SOCKETS])
            assert await desk.evaluate("window.sameDocument") == "not reloaded"
            # and it is live: a change now arrives over it
            await rig.ctl.agent_ready(str(me))
            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
    assert errors == []


async def test_the_ivr_trail_reads_as_steps_in_words(tmp_path, db_url):
    # IVR choices were shown as raw JSON ({"language": "1", "main": "1"}).
    number = CUSTOMERS[6].national_numbers[0]
    errors: list[str] = []
    talks_long = no_callers({"default": {"answer_delay": 1, "talk_time": 3600}})
    async with hotline_rig(tmp_path, db_url, talks_long, agents=1, auto_login=False) as rig:
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await caller_arrives(rig, number)  # presses 1 (Vietnamese), then 1 (support)
            steps = desk.get_by_test_id("ivr-steps").locator("li")
            await expect(steps).to_have_text([
                "Language menu — pressed 1: Vietnamese",
                "Main menu — pressed 1: Technical support",
            ], timeout=LIVE_MS)  # fmt: skip
            ivr = desk.get_by_test_id("ivr")
            await expect(ivr).to_contain_text("Vietnamese")  # the language chosen, in words
            await expect(ivr).to_contain_text("support")  # the queue
            assert "{" not in (await ivr.inner_text())
            # a reload mid-call shows the same steps (the page's first view carries them)
            await expect(desk.get_by_test_id("state")).to_have_text("Talking", timeout=LIVE_MS)
            await desk.reload()
            await desk.wait_for_selector('body[data-live="open"]')
            await expect(steps).to_have_count(2)
            await expect(steps.nth(1)).to_have_text("Main menu — pressed 1: Technical support")
    assert errors == []


#: every text the page shows (text nodes, option labels, aria-labels), outside the
#: caller's data and the configured disposition codes' labels
SHOWN_TEXTS = """() => {
  const out = [];
  const skip = (n) => n.closest && n.closest("#card, #caller-number, #call-id, #dispo-call,"
    + " #dispo-code, script, .ivr-path, dd");
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const n = walk.currentNode, text = n.textContent.trim();
    if (text && !skip(n.parentElement) && n.parentElement.offsetParent !== null) out.push(text);
  }
  for (const e of document.querySelectorAll("[aria-label]")) out.push(e.getAttribute("aria-label"));
  out.push(document.title);
  return out;
}"""


async def test_the_desk_speaks_vietnamese_when_the_agent_chooses_it_and_keeps_the_choice(
    tmp_path, db_url
):
    # The desk spoke English only.
    from callcenter.web.words import load_catalogues

    words = load_catalogues()
    english = {v for k, v in words["en"].items() if v != words["vi"][k] and "{" not in v}
    number = CUSTOMERS[8].national_numbers[0]
    errors: list[str] = []
    talks_long = no_callers({"default": {"answer_delay": 1, "talk_time": 3600}})
    async with hotline_rig(tmp_path, db_url, talks_long, agents=1, auto_login=False) as rig:
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await expect(desk.get_by_test_id("ready")).to_have_text("Ready")
            # the probe below sees the page's words: in English it finds them
            assert len(set(await desk.evaluate(SHOWN_TEXTS)) & english) > 15
            await desk.get_by_test_id("lang").select_option("vi")
            await expect(desk.locator("html")).to_have_attribute("lang", "vi")
            await desk.wait_for_selector('body[data-live="open"]')
            await expect(desk.get_by_test_id("live")).to_have_text("Trực tuyến")
            await expect(desk.get_by_test_id("ready")).to_have_text("Sẵn sàng")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Sẵn sàng")

            await caller_arrives(rig, number)
            await expect(desk.get_by_test_id("state")).to_have_text("Đang nói chuyện",
                                                                    timeout=LIVE_MS)  # fmt: skip
            await expect(desk.get_by_test_id("call-status")).to_have_text("Đang trong cuộc gọi")
            await expect(desk.get_by_test_id("ivr-steps").locator("li")).to_have_text([
                "Chọn ngôn ngữ — bấm 1: Tiếng Việt",
                "Menu chính — bấm 1: Hỗ trợ kỹ thuật",
            ])  # fmt: skip
            await expect(desk.get_by_test_id("card")).to_contain_text("Số tài khoản")
            left = sorted(set(await desk.evaluate(SHOWN_TEXTS)) & english)
            assert left == [], f"English left on the Vietnamese desk: {left}"

            # the choice is kept in this browser: another tab opens in Vietnamese
            again = await desk.context.new_page()
            await again.goto(rig.hotline.urls.agent)
            await expect(again.locator("html")).to_have_attribute("lang", "vi")
            await expect(again.get_by_test_id("ready")).to_have_text("Sẵn sàng")
            # and back to English
            await again.get_by_test_id("lang").select_option("en")
            await expect(again.get_by_test_id("ready")).to_have_text("Ready")
            await expect(again.get_by_test_id("state")).to_have_text("Talking", timeout=LIVE_MS)
    assert errors == []


def hcm_zone(text: str) -> str:
    """The hotline's time zone: Ho Chi Minh City (UTC+7, no summer time)."""
    return text + "time_zone: Asia/Ho_Chi_Minh\n"


def local(epoch: float, zone: str, with_date: bool = False) -> str:
    at = dt.datetime.fromtimestamp(epoch, ZoneInfo(zone))
    return at.strftime("%Y-%m-%d %H:%M") if with_date else at.strftime("%H:%M:%S")


async def test_times_show_in_the_hotlines_zone_or_the_one_the_agent_picks(tmp_path, db_url):
    # Times were raw UTC. The desk shows them in the config's time_zone, or in the zone
    # the agent picks (kept in this browser).
    caller = next(c for c in CUSTOMERS if c.history)  # contacts with times on the card
    number = caller.national_numbers[0]
    errors: list[str] = []
    talks_long = no_callers({"default": {"answer_delay": 1, "talk_time": 3600}})
    async with hotline_rig(tmp_path, db_url, talks_long, agents=1, auto_login=False,
                           edit_config=hcm_zone) as rig:  # fmt: skip
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await expect(desk.get_by_test_id("tz")).to_have_value("Asia/Ho_Chi_Minh")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await caller_arrives(rig, number)
            await expect(desk.get_by_test_id("state")).to_have_text("Talking", timeout=LIVE_MS)
            since_box = desk.get_by_test_id("state-since")
            since = float(await since_box.get_attribute("data-at") or "nan")
            await expect(since_box).to_have_text("since " + local(since, "Asia/Ho_Chi_Minh"))
            contacts = desk.locator("#card time.when")
            await expect(contacts.first).to_be_visible()

            async def card_times(zone: str) -> None:
                for i in range(await contacts.count()):
                    at = float(await contacts.nth(i).get_attribute("data-at") or "nan")
                    await expect(contacts.nth(i)).to_have_text(local(at, zone, with_date=True))

            await card_times("Asia/Ho_Chi_Minh")

            # the agent picks New York (UTC-5 in December): every time follows at once
            await desk.get_by_test_id("tz").select_option("America/New_York")
            await expect(since_box).to_have_text("since " + local(since, "America/New_York"))
            assert local(since, "America/New_York") != local(since, "Asia/Ho_Chi_Minh")
            await card_times("America/New_York")

            # kept in this browser: another tab opens in New York time
            again = await desk.context.new_page()
            await again.goto(rig.hotline.urls.agent)
            await again.wait_for_selector('body[data-live="open"]')
            await expect(again.get_by_test_id("tz")).to_have_value("America/New_York")
            await expect(again.get_by_test_id("state-since")).to_have_text(
                "since " + local(since, "America/New_York"))
    assert errors == []


async def test_a_ringing_call_sounds_and_notifies_until_it_stops_ringing(tmp_path, db_url):
    # The desk rang silently: an agent looking at another window missed the call.
    number = CUSTOMERS[9].national_numbers[0]
    errors: list[str] = []
    never_answers = no_callers({"default": {"answer_delay": 10_000, "talk_time": 5}})
    async with hotline_rig(tmp_path, db_url, never_answers, agents=1, auto_login=False,
                           offer_timeout_s=120) as rig:  # fmt: skip
        async with chromium() as browser:
            # the browser grants notifications to this context, as an agent's click would
            context = await browser.new_context(viewport={"width": 1400, "height": 900},
                                                permissions=["notifications"])  # fmt: skip
            desk = await context.new_page()
            desk.on("pageerror", lambda exc: errors.append(f"{desk.url}: {exc}"))
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.get_by_test_id("alerts").click()  # permission asked on a click
            await expect(desk.get_by_test_id("alerts-state")).to_have_text(
                "Call alerts on: sound and notification")
            assert await desk.evaluate("Notification.permission") == "granted"
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            assert await desk.evaluate("document.body.dataset.ring") == ""

            await caller_arrives(rig, number, patience=10_000)
            await expect(desk.get_by_test_id("state")).to_have_text("Ringing", timeout=LIVE_MS)
            call_id = await desk.locator("#call-id").text_content()
            # one notification for this call, and the ring repeats while it rings
            await desk.wait_for_function(f"() => document.body.dataset.notified === {call_id!r}")
            await expect(desk.locator("body")).to_have_attribute("data-ring", "on")
            await desk.wait_for_function("() => Number(document.body.dataset.beeps) >= 2",
                                         timeout=LIVE_MS)  # fmt: skip

            # the agent pauses instead of answering: the ringing stops, sound and note
            await desk.get_by_test_id("pause").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Paused", timeout=LIVE_MS)
            await expect(desk.locator("body")).to_have_attribute("data-ring", "")
            await expect(desk.locator("body")).to_have_attribute("data-notified", "")
            await context.close()
    assert errors == []
