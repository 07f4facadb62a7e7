"""The agent desk in a real Chromium over the whole hotline (pbxsim, controller, SQL):
the disposition form is bound to its call, and logging out leaves the ACD (issue 15).

Callers ring on demand (:func:`caller_arrives`), once the desk is ready for them;
every wait is for a condition with a generous deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

import acd

from .e2e_support import hotline_rig, wait_until
from .test_e2e_browser import (
    CUSTOMERS,
    LIVE_MS,
    agent_id_of,
    caller_arrives,
    chromium,
    expect,
    interactions,
    log_in,
    no_callers,
    open_page,
    pytestmark,  # noqa: F401 (skipped without Chromium)
)


def state_of(rig: Any, agent_id: int) -> acd.AgentState:
    return rig.ctl.core.agent(str(agent_id), rig.ctl.now()).state


async def call_of(rig: Any, number: str) -> Any:
    found: list[Any] = []

    def seen() -> bool:
        found[:] = [c for c in rig.ctl.calls.values() if c.caller_number == number]
        return bool(found)

    await wait_until(seen, 60, f"the call from {number}")
    return found[0]


async def test_two_consecutive_calls_keep_their_notes_apart(tmp_path, db_url):
    # The form switched to the next ringing call with the typed notes and code:
    # notes for call A were saved on call B.
    first, second = CUSTOMERS[3].national_numbers[0], CUSTOMERS[11].national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        me = await agent_id_of(rig, "agent1")
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")

            await caller_arrives(rig, first)
            call_a = await call_of(rig, first)
            await expect(desk.locator("#call-id")).to_have_text(call_a.call_id, timeout=LIVE_MS)
            await desk.get_by_test_id("dispo-code").select_option("information")
            await desk.get_by_test_id("dispo-notes").fill("Khách A hỏi giá cước")
            await desk.get_by_test_id("sched-note").fill("Gọi lại cho A")
            await desk.get_by_test_id("sched-number").fill("0901234567")
            # call A ends, the wrap-up runs out, the agent is ready again: not saved yet
            await wait_until(lambda: call_a.call_id not in rig.ctl.calls
                             and state_of(rig, me) is acd.AgentState.READY, 60,
                             "call A to end and the agent to be ready")  # fmt: skip

            await caller_arrives(rig, second)
            call_b = await call_of(rig, second)
            await expect(desk.locator("#call-id")).to_have_text(call_b.call_id, timeout=LIVE_MS)
            await expect(desk.get_by_test_id("dispo-call")).to_have_value(call_b.call_id)
            await expect(desk.get_by_test_id("dispo-notes")).to_have_value("")
            await expect(desk.get_by_test_id("dispo-code")).to_have_value("")
            await expect(desk.get_by_test_id("sched-note")).to_have_value("")
            await expect(desk.get_by_test_id("sched-number")).to_have_value("")
            await wait_until(lambda: call_b.agent_id == str(me) and call_b.bridged, 60,
                             "call B to be answered")  # fmt: skip
            await desk.get_by_test_id("dispo-code").select_option("follow_up")
            await desk.get_by_test_id("dispo-notes").fill("Khách B cần gọi lại")
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text(
                "Saved: Needs follow-up"
            )

            # call A's draft is kept apart: pick it, save it
            await desk.get_by_test_id("dispo-call").select_option(call_a.call_id)
            await expect(desk.get_by_test_id("dispo-notes")).to_have_value("Khách A hỏi giá cước")
            await expect(desk.get_by_test_id("dispo-code")).to_have_value("information")
            await expect(desk.get_by_test_id("sched-note")).to_have_value("Gọi lại cho A")
            await expect(desk.get_by_test_id("sched-number")).to_have_value("0901234567")
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text(
                "Saved: Information given"
            )
            # back on call B, with what was saved for it; a second save edits it
            await expect(desk.get_by_test_id("dispo-call")).to_have_value(call_b.call_id)
            await expect(desk.get_by_test_id("dispo-notes")).to_have_value("Khách B cần gọi lại")
            await desk.get_by_test_id("dispo-code").select_option("resolved")
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text(
                "Saved: Resolved on the call"
            )
        saved_a = await interactions(rig, call_a.call_id)
        saved_b = await interactions(rig, call_b.call_id)
    assert [(i.disposition, i.notes, i.agent_id) for i in saved_a] == [
        ("information", "Khách A hỏi giá cước", me)
    ]
    assert [(i.disposition, i.notes, i.agent_id) for i in saved_b] == [
        ("resolved", "Khách B cần gọi lại", me)
    ]
    assert errors == []


async def test_an_agent_who_logs_out_gets_no_more_calls(tmp_path, db_url):
    # Logout left the agent READY in the ACD: calls kept going to the phone.
    number = CUSTOMERS[5].national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=2, auto_login=False) as rig:
        one, two = await agent_id_of(rig, "agent1"), await agent_id_of(rig, "agent2")
        async with chromium() as browser:
            desk1, desk2 = await open_page(browser, errors), await open_page(browser, errors)
            # agent1 is ready first: the longest idle, the one a call would go to
            await log_in(desk1, rig.hotline.urls.agent, "agent1")
            await desk1.get_by_test_id("ready").click()
            await expect(desk1.get_by_test_id("state")).to_have_text("Ready")
            await log_in(desk2, rig.hotline.urls.agent, "agent2")
            await desk2.get_by_test_id("ready").click()
            await expect(desk2.get_by_test_id("state")).to_have_text("Ready")

            await desk1.get_by_role("button", name="Log out").click()
            await desk1.wait_for_url("**/login")
            assert state_of(rig, one) is acd.AgentState.LOGGED_OUT
            assert state_of(rig, two) is acd.AgentState.READY

            await caller_arrives(rig, number)
            call = await call_of(rig, number)
            await expect(desk2.locator("#call-id")).to_have_text(call.call_id, timeout=LIVE_MS)
            await expect(desk2.get_by_test_id("card")).to_contain_text(CUSTOMERS[5].full_name)
            assert [o.agent_id for o in call.offers] == [str(two)]
            assert state_of(rig, one) is acd.AgentState.LOGGED_OUT

            # back at the desk: logged in again, offline until Ready
            await log_in(desk1, rig.hotline.urls.agent, "agent1")
            await expect(desk1.get_by_test_id("state")).to_have_text("Offline")
    assert errors == []


async def test_a_supervisor_sets_an_agents_state_from_the_wallboard_and_the_agents_page_shows_it(
    tmp_path, db_url
):
    # Supervisors could only watch. The wallboard's agent row has Pause (with a typed
    # reason), Ready and Log off (POST /api/agents/{id}/state), live, without a reload.
    number = CUSTOMERS[7].national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(), agents=1, auto_login=False) as rig:
        me = await agent_id_of(rig, "agent1")
        base = rig.hotline.urls.base
        async with chromium() as browser, aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as boss:
            form = {"username": "supervisor", "password": "supervisor-pass"}
            async with boss.post(f"{base}/login", data=form) as resp:
                assert resp.status == 200

            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")

            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            await board.evaluate("window.sameDocument = 'not reloaded'")
            row = board.get_by_test_id(f"agent-{me}")
            button = lambda action: board.get_by_test_id(f"agent-{me}-{action}")  # noqa: E731
            reason = board.get_by_test_id(f"agent-{me}-reason")
            await expect(row.locator(".state-badge")).to_have_text("Ready", timeout=LIVE_MS)
            await expect(button("ready")).to_be_disabled()  # ready already

            await reason.fill("coaching")
            await button("paused").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Paused", timeout=LIVE_MS)
            await expect(desk.locator("#pause-reason")).to_have_text("(coaching)")
            assert state_of(rig, me) is acd.AgentState.PAUSED
            # the row was rebuilt from the delta; its controls were kept, focus and all
            await expect(row.locator(".state-badge")).to_have_text("Paused", timeout=LIVE_MS)
            await expect(row).to_contain_text("coaching")
            await expect(button("paused")).to_be_focused()
            await expect(reason).to_have_value("coaching")
            await expect(button("ready")).to_be_enabled()

            await button("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
            await expect(button("ready")).to_be_disabled(timeout=LIVE_MS)

            # paused again with no reason typed: the API's default reason
            await reason.fill("")
            await button("paused").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Paused", timeout=LIVE_MS)
            await expect(desk.locator("#pause-reason")).to_have_text("(supervisor)")

            # the agent paused, a caller waits: the supervisor sees it in line
            await caller_arrives(rig, number)
            waiting: list[Any] = []

            async def listed() -> bool:
                async with boss.get(f"{base}/api/waiting", params={"queue": "support"}) as resp:
                    assert resp.status == 200
                    waiting[:] = (await resp.json())["calls"]
                return bool(waiting)

            deadline = asyncio.get_running_loop().time() + 60
            while not await listed():
                assert asyncio.get_running_loop().time() < deadline, "the caller never waited"
                await asyncio.sleep(0.2)
            (entry,) = waiting
            call = await call_of(rig, number)
            assert (entry["call_id"], entry["queue"], entry["position"]) == (
                call.call_id, "support", 1)  # fmt: skip
            async with boss.get(f"{base}/api/waiting", params={"queue": "nowhere"}) as resp:
                assert resp.status == 404 and (await resp.json())["error"] == "unknown_queue"

            await button("ready").click()  # the waiting caller rings the agent
            await expect(desk.locator("#call-id")).to_have_text(call.call_id, timeout=LIVE_MS)
            await wait_until(lambda: call.call_id not in rig.ctl.calls, 60, "the call to end")
            await expect(button("logged_out")).to_be_enabled(timeout=LIVE_MS)
            await button("logged_out").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Offline", timeout=LIVE_MS)
            assert state_of(rig, me) is acd.AgentState.LOGGED_OUT
            await expect(row.locator(".state-badge")).to_have_text("Offline", timeout=LIVE_MS)
            for action in ("paused", "logged_out"):
                await expect(button(action)).to_be_disabled()
            await expect(button("ready")).to_be_enabled()  # a login

            # a board that has not heard of the change yet: the API's 409 shows on it
            await expect(board.get_by_test_id("agent-action-error")).to_be_hidden()
            await button("paused").evaluate("b => { b.disabled = false; }")
            await button("paused").click()
            await expect(board.get_by_test_id("agent-action-error")).to_contain_text(
                "Pause refused: agent '" + str(me) + "': no transition from LOGGED_OUT on PAUSE",
                timeout=LIVE_MS,
            )
            assert state_of(rig, me) is acd.AgentState.LOGGED_OUT
            assert await board.evaluate("window.sameDocument") == "not reloaded"
    assert errors == []
