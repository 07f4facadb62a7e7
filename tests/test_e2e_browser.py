"""The whole hotline in a real headless Chromium: pbxsim over real TCP AMI, the
controller, a real database (SQLite and PostgreSQL) and the web app.

A supervisor watches the wallboard change as a caller arrives; an agent logs in,
clicks Ready, sees the caller's card while the phone still rings, and types a
disposition that ends up in SQL; the API refuses other agents' data and bad
requests without writing. One run screenshots the busy wallboard: with
HOTLINE_README_PICTURE=1 it becomes docs/wallboard.png, the README's picture.

Callers come on demand (:func:`caller_arrives`), never at a fixed time after the
simulator starts: a test first waits until the page is logged in and live (or
the agent is ready), then makes its caller ring, then waits with a generous
deadline. The machine may be slow and shared, so nothing races a clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp import web
from sqlalchemy import func, select

from callcenter.demo.data import demo_customers
from callcenter.flow import Stage
from callcenter.storage.models import Call
from crm_bridge.models import Interaction

from .e2e_support import hotline_rig, scenario, stop_arrivals, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
README_PICTURE = Path(__file__).resolve().parents[1] / "docs" / "wallboard.png"
#: the rig seeds 40 demo customers with seed 7: the CRM the cards come from
CUSTOMERS = demo_customers(40, seed=7)

playwright_api = pytest.importorskip(
    "playwright.async_api", reason="the Python package playwright is not installed"
)
pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium); no browser is downloaded",
)
expect = playwright_api.expect
#: a slow, shared machine: an expect() waits up to 20 s unless it says otherwise
expect.set_options(timeout=20_000)
#: how long a figure or a card may take to follow the simulated world (ms)
LIVE_MS = 60_000


@contextlib.asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args]
        )
        try:
            yield browser
        finally:
            await browser.close()


@contextlib.asynccontextmanager
async def served(app: web.Application) -> AsyncIterator[str]:
    """``app`` served on a free local port for the browser; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def open_page(browser: Any, errors: list[str], width: int = 1400, height: int = 900) -> Any:
    """A page in its own context (own cookies) that records uncaught script errors."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    return page


async def log_in(page: Any, url: str, username: str) -> None:
    """Open ``url``, get sent to the login form, log in, land back live on ``url``."""
    await page.goto(url)
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", f"{username}-pass")
    await page.click("button[type=submit]")
    await page.wait_for_url(url)
    await page.wait_for_selector('body[data-live="open"]')


def no_callers(agents: dict[str, Any] | None = None) -> Callable[[list[str]], dict[str, Any]]:
    """A world where nobody calls until the test says so (:func:`caller_arrives`)."""
    over: dict[str, Any] = {"arrivals": {"kind": "trace", "calls": []}}
    if agents is not None:
        over["agents"] = agents
    return lambda numbers: scenario(numbers, **over)


async def caller_arrives(rig: Any, number: str, *, patience: float = 120) -> Any:
    """Now, not before: a known caller rings, picks Vietnamese, then menu 1.

    First the controller's AMI link must be up and resynced (the app may start
    without it), so the call is taken live, not adopted. ``patience`` is in
    simulated seconds (the rig's ``time_scale`` applies).
    """
    await rig.ctl.wait_synced(30)
    return rig.sim.world.population.arrive(number, ("1", "1"), patience)


async def agent_id_of(rig: Any, username: str) -> int:
    return next(a.id for a in await rig.hotline.store.list_agents() if a.username == username)


async def interactions(rig: Any, call_id: str | None = None) -> list[Interaction]:
    async with rig.hotline.store.sessions() as s:
        q = select(Interaction)
        if call_id is not None:
            q = q.where(Interaction.call_id == call_id)
        return list(await s.scalars(q))


async def count_interactions(rig: Any) -> int:
    async with rig.hotline.store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Interaction)) or 0)


FETCH = """async ([url, method, type, body]) => {
  const init = {method, credentials: "same-origin", headers: {Accept: "application/json"}};
  if (type) init.headers["Content-Type"] = type;
  if (body !== null) init.body = body;
  const r = await fetch(url, init);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  return {status: r.status, data};
}"""


async def fetch(page: Any, url: str, body: str | None = None, type: str = "") -> dict[str, Any]:
    """``fetch`` from inside the logged-in page: its cookie, its Origin."""
    method = "GET" if body is None else "POST"
    return await page.evaluate(FETCH, [url, method, type, body])


async def shows_at_least(page: Any, least: dict[str, int], timeout: float) -> None:
    """Wait until each wallboard figure (by test id) shows at least its number, all at once."""
    end = time.monotonic() + timeout
    seen: dict[str, str | None] = {}
    while time.monotonic() < end:
        seen = {k: await page.get_by_test_id(k).text_content() for k in least}
        if all((v or "").isdigit() and int(v or 0) >= least[k] for k, v in seen.items()):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the wallboard never showed {least} at once; last {seen}")


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


async def test_wallboard_figures_change_live_as_a_caller_arrives(tmp_path, db_url):
    # No agent is logged in, so the caller waits in the queue until patience runs out:
    # 48 simulated seconds at time_scale 4, about 10 s of it waiting in the queue.
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        async with chromium() as browser:
            board = await open_page(browser, errors)
            # Logged in, the WebSocket open and its first snapshot rendered...
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            assert rig.ctl.counters["calls"] == 0, "a caller came before the first reading"
            await expect(board.get_by_test_id("offered")).to_have_text("0")
            await expect(board.get_by_test_id("waiting")).to_have_text("0")
            await expect(board.get_by_test_id("abandoned")).to_have_text("0")
            loads = []
            board.on("load", lambda: loads.append(board.url))
            await board.evaluate("window.sameDocument = 'not reloaded'")

            # ...and only then does the caller ring.
            await caller_arrives(rig, CUSTOMERS[3].national_numbers[0], patience=48)
            await expect(board.get_by_test_id("offered")).to_have_text("1", timeout=LIVE_MS)
            await expect(board.get_by_test_id("waiting")).to_have_text("1")
            await expect(board.get_by_test_id("abandoned")).to_have_text("1", timeout=LIVE_MS)
            await expect(board.get_by_test_id("waiting")).to_have_text("0")
            await expect(board.get_by_test_id("offered")).to_have_text("1")
            assert await board.evaluate("window.sameDocument") == "not reloaded"
            assert loads == []
    assert errors == []


async def test_agent_sees_the_card_while_ringing_and_the_disposition_lands_in_sql(tmp_path, db_url):
    customer = CUSTOMERS[11]
    number = customer.national_numbers[0]
    # The agent's phone rings 5 s before it is answered: the card must come first.
    # The offer waits 15 s for the answer, so a slow machine does not time it out.
    slow = {"default": {"answer_delay": 5, "talk_time": [3, 4], "agent_hangs_up_probability": 0.5}}
    notes = "Khách hàng phản ánh cước tháng 10 tăng bất thường; hẹn gọi lại sáng thứ Hai."
    errors: list[str] = []
    async with hotline_rig(
        tmp_path, db_url, no_callers(slow), agents=1, time_scale=1.0, auto_login=False,
        offer_timeout_s=15,
    ) as rig:  # fmt: skip
        me = await agent_id_of(rig, "agent1")
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await expect(desk.get_by_test_id("state")).to_have_text("Offline")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            assert rig.ctl.counters["calls"] == 0, "a caller came before the agent was ready"

            # The desk is live and the agent ready: now the caller rings.
            await caller_arrives(rig, number)
            card = desk.get_by_test_id("card")
            await expect(card).to_contain_text(customer.full_name, timeout=LIVE_MS)
            # Read the controller and SQL right when the card showed.
            (call,) = [c for c in rig.ctl.calls.values() if c.caller_number == number]
            stage_at_card = call.stage
            await rig.hotline.writer.flush()
            row_at_card = await rig.hotline.store.get_call(call.call_id)
            assert stage_at_card is Stage.OFFERED, f"card shown at stage {stage_at_card}"
            assert row_at_card is not None and row_at_card.answered_at is None
            # /metrics timed that pop, from the offer to its socket (one pop, one timing)
            scraped = rig.hotline.metrics.render().decode()
            assert "hotline_screen_pops_total 1.0" in scraped
            assert "hotline_screen_pop_seconds_count 1.0" in scraped
            await expect(desk.get_by_test_id("call-status")).to_contain_text("Ringing")
            await expect(desk.locator("#call-id")).to_have_text(call.call_id)
            await expect(card).to_contain_text(customer.account_no)

            await wait_until(lambda: call.stage is not Stage.OFFERED, 30, "the agent to answer")
            assert call.stage in (Stage.TALKING, Stage.AFTER_CALL, Stage.ENDED)
            await expect(desk.get_by_test_id("call-status")).to_contain_text(
                "Call ended", timeout=LIVE_MS
            )

            await desk.get_by_test_id("dispo-code").select_option("follow_up")
            await desk.get_by_test_id("dispo-notes").fill(notes)
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text("Saved: Needs follow-up")
        row = await rig.hotline.store.get_call(call.call_id)
        assert row is not None and row.answered_at is not None and row.agent_id == me
        saved = await interactions(rig, call.call_id)
    assert [(i.disposition, i.notes, i.agent_id) for i in saved] == [("follow_up", notes, me)]
    assert call.card is not None
    assert saved[0].customer_id == row.customer_id == call.card.customer_id
    assert errors == []


async def test_agent_api_refuses_other_agents_data_and_bad_requests_without_writing(
    tmp_path, db_url
):
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=2, auto_login=False) as rig:
        me, other = await agent_id_of(rig, "agent1"), await agent_id_of(rig, "agent2")
        await rig.ctl.agent_ready(str(other))  # only agent2 takes calls
        await caller_arrives(rig, CUSTOMERS[5].national_numbers[0])  # once agent2 is ready
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 1, 60, "the call to end")
        await wait_until(lambda: not rig.ctl.calls, 60, "the caller to leave")
        await rig.hotline.writer.flush()
        async with rig.hotline.store.sessions() as s:
            (call,) = list(await s.scalars(select(Call)))
        assert call.agent_id == other and call.answered_at is not None
        before = await count_interactions(rig)

        errors: list[str] = []
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            base = rig.hotline.urls.base
            mine = await fetch(desk, f"{base}/api/agents/{me}")
            assert mine["status"] == 200 and mine["data"]["agent_id"] == str(me)
            theirs = await fetch(desk, f"{base}/api/agents/{other}")
            assert theirs["status"] == 403, theirs
            assert theirs["data"]["error"] == "forbidden" and theirs["data"]["reason"]

            url = f"{base}/api/calls/{quote(call.id, safe='')}/disposition"
            json_type = "application/json"
            bad = {
                "bad JSON": ('{"code": "resolved", "notes": "Khách hỏi', json_type),
                "unknown code": ('{"code": "khong_ro", "notes": "Đã gọi lại"}', json_type),
                "notes too long": (
                    '{"code": "resolved", "notes": "' + "ơ" * 2001 + '"}',
                    json_type,
                ),
                "extra field": ('{"code": "resolved", "agent_id": 1}', json_type),
                "not JSON": ("code=resolved", "application/x-www-form-urlencoded"),
            }
            refused = {what: await fetch(desk, url, body, t) for what, (body, t) in bad.items()}
            refused["unknown call"] = await fetch(
                desk, f"{base}/api/calls/pbxsim:0000000.0/disposition", '{"code": "resolved"}',
                json_type,
            )  # fmt: skip
            # Well-formed, but the call is agent2's: not agent1's to dispose of.
            refused["another agent's call"] = await fetch(
                desk, url, '{"code": "resolved", "notes": "Không phải cuộc gọi của tôi"}', json_type
            )
        after = await count_interactions(rig)
    for what, r in refused.items():
        assert 400 <= r["status"] < 500, f"{what}: {r}"
        assert r["data"] and r["data"]["reason"], f"{what}: no reason in {r}"
    assert {what: r["data"]["error"] for what, r in refused.items()} == {
        "bad JSON": "bad_json",
        "unknown code": "unknown_code",
        "notes too long": "invalid_field",
        "extra field": "invalid_field",
        "not JSON": "bad_request",
        "unknown call": "unknown_call",
        "another agent's call": "not_your_call",
    }
    assert "khong_ro" in refused["unknown code"]["data"]["reason"]
    assert after == before, f"refused requests wrote {after - before} interaction(s)"
    assert errors == []


async def test_busy_wallboard_during_a_real_run_is_the_readme_picture(tmp_path):
    # One database is enough for a picture; the other tests cover PostgreSQL.
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    busy = {
        "arrivals": {"kind": "poisson", "calls_per_minute": 40},
        "callers": {"patience": [16, 60]},
        "agents": {"default": {"answer_delay": [1, 3], "talk_time": [8, 24],
                               "agent_hangs_up_probability": 0.5}},
    }  # fmt: skip
    errors: list[str] = []
    async with hotline_rig(
        tmp_path, db_url, lambda numbers: scenario(numbers, **busy), agents=4, time_scale=2.0
    ) as rig:
        async with chromium() as browser:
            board = await open_page(browser, errors, 1600, 1000)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            await expect(board.locator("#agent-rows tr")).to_have_count(4)
            # Busy: every agent talking at some point, then callers waiting and calls answered.
            talking = board.locator('.state-chip[data-state="talking"] .state-count')
            await expect(talking).to_have_text("4", timeout=LIVE_MS)
            await shows_at_least(board, {"offered": 15, "waiting": 2, "answered": 6}, timeout=60)
            await expect(board.get_by_test_id("nodes")).to_contain_text("connected")
            shot = tmp_path / "wallboard.png"
            await board.screenshot(path=str(shot))
        stop_arrivals(rig.sim)
    assert png_size(shot) == (1600, 1000)
    assert errors == []
    # HOTLINE_README_PICTURE=1 refreshes the README's picture from this run; a
    # plain test run leaves the working tree alone.
    if os.environ.get("HOTLINE_README_PICTURE") == "1":
        README_PICTURE.parent.mkdir(exist_ok=True)
        README_PICTURE.write_bytes(shot.read_bytes())
