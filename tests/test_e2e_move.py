"""A supervisor moves a waiting call from the wallboard, in a real Chromium over the whole
hotline (pbxsim over real AMI, the controller, SQL) (issue 15).

Two callers wait in support while its one agent is logged out; the supervisor clicks
"To front" on the later one; the agent goes Ready and the later caller is the one
offered and answered first: read from the ACD (the earlier one still waits while the
later one talks) and from SQL (answer order, the ``moved`` events). A move that reaches
the server once the call rings the agent (held on its way) shows the API's 409 on the
board. A call moved to another queue stays there, at its new priority, through a
controller killed and started again. Every wait is for a condition with a generous
deadline.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

import acd

from .e2e_support import (
    crashable_hotline,
    hotline_rig,
    one_agent_per_queue,
    wait_sql,
    wait_until,
)
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
from .test_e2e_desk import call_of

#: the agent's phone rings 60 simulated seconds (15 s here, time_scale 4) before it is
#: answered, within the offer's 120 (30 s): a move sent meanwhile is refused (409)
SLOW_PHONE = {"default": {"answer_delay": [60, 60], "talk_time": [8, 8],
                          "agent_hangs_up_probability": 1.0}}  # fmt: skip


def view(rig: Any, call_id: str) -> acd.CallView | None:
    return rig.ctl.core.call(call_id, rig.ctl.now())


async def test_the_supervisor_moves_the_later_caller_to_the_front_and_it_is_served_first(
    tmp_path, db_url
):
    first_number = CUSTOMERS[7].national_numbers[0]
    later_number = CUSTOMERS[9].national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(SLOW_PHONE), agents=1,
                           auto_login=False, offer_timeout_s=120) as rig:  # fmt: skip
        me = await agent_id_of(rig, "agent1")
        boss = next(a.id for a in await rig.hotline.store.list_agents()
                    if a.username == "supervisor")  # fmt: skip
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")  # logged out of the ACD
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")
            await board.evaluate("window.sameDocument = 'not reloaded'")

            await caller_arrives(rig, first_number, patience=2000)
            first = (await call_of(rig, first_number)).call_id
            await wait_until(lambda: view(rig, first) is not None, 60, "the first in line")
            await caller_arrives(rig, later_number, patience=2000)
            later = (await call_of(rig, later_number)).call_id
            await wait_until(lambda: view(rig, later) is not None, 60, "the later in line")

            first_row, later_row = board.get_by_test_id(f"call-{first}"), board.get_by_test_id(
                f"call-{later}")  # fmt: skip
            await expect(later_row).to_have_attribute("data-position", "2", timeout=LIVE_MS)
            await expect(first_row).to_have_attribute("data-position", "1")
            # a priority typed in the first row, not sent yet: it survives the updates
            await board.get_by_test_id(f"call-{first}-priority-input").fill("3")

            await board.get_by_test_id(f"call-{later}-front").click()
            await expect(later_row).to_have_attribute("data-position", "1", timeout=LIVE_MS)
            await expect(first_row).to_have_attribute("data-position", "2", timeout=LIVE_MS)
            await expect(board.locator("#waiting-rows tr").first).to_have_attribute(
                "data-call", later)  # fmt: skip
            await expect(board.get_by_test_id("call-action-error")).to_be_hidden()
            moved = view(rig, later)
            assert moved is not None and moved.position == 1 and moved.state is acd.CallState.WAITING
            # its row was rebuilt around the kept controls: the typed priority is there
            await expect(board.get_by_test_id(f"call-{first}-priority-input")).to_have_value("3")
            await expect(board.get_by_test_id(f"call-{later}-front")).to_be_disabled()

            await desk.get_by_test_id("ready").click()  # the front of the line rings
            await expect(desk.locator("#call-id")).to_have_text(later, timeout=LIVE_MS)
            await expect(later_row).to_have_attribute("data-state", "ringing", timeout=LIVE_MS)
            await expect(board.get_by_test_id(f"call-{later}-front")).to_be_disabled()

            def state(call_id: str) -> acd.CallState | None:
                v = view(rig, call_id)
                return None if v is None else v.state

            await wait_until(lambda: state(later) is acd.CallState.CONNECTED, 90,
                             "the later caller to be answered")  # fmt: skip
            # one agent, talking with the later caller: the first one still waits
            waiting = view(rig, first)
            assert waiting is not None and waiting.state is acd.CallState.WAITING
            assert waiting.position == 1

            # the first caller's Priority… (typed before, kept): sent, shown live
            await board.get_by_test_id(f"call-{first}-priority").click()
            await expect(first_row.locator("td.priority")).to_have_text("3", timeout=LIVE_MS)
            assert view(rig, first).priority == 3  # type: ignore[union-attr]

            # offered meanwhile: a move sent while the call waited reaches the server
            # once the agent's phone rings with it (the request is held until then)
            held: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            await board.route("**/api/calls/*/move", lambda route: held.set_result(route))
            await board.get_by_test_id(f"call-{first}-priority-input").fill("5")
            await board.get_by_test_id(f"call-{first}-priority").click()
            route = await asyncio.wait_for(held, 60)
            await wait_until(lambda: state(first) is acd.CallState.OFFERED, 120,
                             "the first caller to ring the agent")  # fmt: skip
            await route.continue_()
            await expect(board.get_by_test_id("call-action-error")).to_contain_text(
                f"Priority refused: call '{first}' is ringing {me}", timeout=LIVE_MS)  # fmt: skip
            assert view(rig, first).priority == 3  # type: ignore[union-attr]
            await board.unroute("**/api/calls/*/move")

            await wait_until(lambda: state(first) in (None, acd.CallState.CONNECTED), 120,
                             "the first caller to be answered")  # fmt: skip
            await expect(desk.locator("#call-id")).to_have_text(first, timeout=LIVE_MS)
            assert await board.evaluate("window.sameDocument") == "not reloaded"

        await rig.hotline.writer.flush()
        store = rig.hotline.store
        later_row_sql, first_row_sql = await store.get_call(later), await store.get_call(first)
        assert later_row_sql is not None and first_row_sql is not None
        assert later_row_sql.agent_id == me and first_row_sql.agent_id == me
        assert later_row_sql.answered_at is not None and first_row_sql.answered_at is not None
        assert later_row_sql.answered_at < first_row_sql.answered_at, "served in line order"
        assert later_row_sql.queue == first_row_sql.queue == "support"
        moves = [e.data for e in await store.list_call_events(later) if e.kind == "moved"]
        assert moves == [{"from": "support", "queue": "support", "priority": 0, "position": 1,
                          "by": f"supervisor:{boss}"}]  # fmt: skip
        prio = [e.data for e in await store.list_call_events(first) if e.kind == "moved"]
        assert [(m["priority"], m["position"]) for m in prio] == [(3, 1)]
    assert errors == []


async def test_a_call_moved_to_another_queue_stays_there_with_its_priority_after_a_restart(
    tmp_path, db_url
):
    """A caller waits in support (nobody logged in); the supervisor moves it to billing
    at priority 7 over the API; the controller is killed (SIGKILL) and started again:
    the caller is adopted in billing at priority 7 with its first entry (its last
    ``queued`` event's place: flow rule 19), and billing's agent answers it there."""
    from .test_e2e_overflow import FLOW
    from .test_e2e_overflow import world as overflow_world

    number = ""
    async with crashable_hotline(tmp_path, db_url, overflow_world, FLOW) as rig:
        number = rig.numbers[0]
        caller = rig.sim.world.population.arrive(number, ("1",), patience=900)
        await rig.wait_events(number, "queued")  # in support
        call, _, _ = await rig.sql(number)
        assert call is not None and call.queued_at is not None
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            login = {"username": "supervisor", "password": "supervisor-pass"}
            async with http.post(f"{rig.base}/login", data=login) as resp:
                resp.raise_for_status()
            async with http.post(f"{rig.base}/api/calls/{call.id}/move",
                                 headers={"Origin": rig.base},
                                 json={"queue": "billing", "priority": 7}) as resp:  # fmt: skip
                assert resp.status == 200, await resp.text()
                row = (await resp.json())["call"]
        assert (row["queue"], row["priority"], row["position"], row["state"]) == (
            "billing", 7, 1, "waiting")  # fmt: skip
        await rig.wait_events(number, "queued", cond=lambda events: any(
            e.kind == "queued" and e.data["why"] == "move" for e in events))  # fmt: skip
        await rig.restart()
        listed: list[dict[str, Any]] = []
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{rig.base}/login", data=login) as resp:
                resp.raise_for_status()

            async def adopted() -> bool:
                async with http.get(f"{rig.base}/api/waiting") as resp:
                    listed[:] = (await resp.json())["calls"] if resp.status == 200 else []
                return bool(listed)

            await wait_sql(adopted, 90, "the caller adopted by the second controller")
        [again] = listed
        assert (again["call_id"], again["queue"], again["priority"]) == (call.id, "billing", 7)
        # its first entry (SQL's queued_at, shown to the tenth of a second), not the restart
        assert abs(again["entered_at"] - call.queued_at.timestamp()) <= 0.2

        await rig.supervise("agent2", "ready")
        await wait_until(lambda: caller.outcome, 90, "the caller to be answered and done")
        await rig.wait_ended(number, 60)
    _call, outcomes, events = await rig.sql(number)
    assert caller.talked
    assert [e.kind for e in events].count("adopted") == 1
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == (
        "billing", "answered", int(rig.agents["agent2"]))  # fmt: skip


async def test_moved_to_another_queue_from_the_wallboard_the_caller_is_answered_there(
    tmp_path, db_url
):
    """A caller waits in support (its agent logged out) while billing's agent is Ready:
    the supervisor picks billing in the call's "Move to queue…" and billing's agent
    answers it, with one outcome, billing's, and its whole wait."""
    number = CUSTOMERS[7].national_numbers[0]
    errors: list[str] = []

    def two_queues(text: str) -> str:
        return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n  - name: billing\n", 1)

    async with hotline_rig(tmp_path, db_url, no_callers(), agents=2, auto_login=False,
                           prepare=one_agent_per_queue, edit_config=two_queues) as rig:  # fmt: skip
        billing = str(await agent_id_of(rig, "agent2"))
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent2")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready", timeout=LIVE_MS)
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.supervisor, "supervisor")

            await caller_arrives(rig, number, patience=2000)
            call_id = (await call_of(rig, number)).call_id
            await wait_until(lambda: view(rig, call_id) is not None, 60, "the caller in line")
            row = board.get_by_test_id(f"call-{call_id}")
            await expect(row).to_have_attribute("data-position", "1", timeout=LIVE_MS)
            await expect(row.locator("td").first).to_have_text("support")
            select = board.get_by_test_id(f"call-{call_id}-queue")
            await expect(select.locator("option")).to_have_count(2)  # the prompt, billing
            await select.select_option("billing")

            await expect(desk.locator("#call-id")).to_have_text(call_id, timeout=LIVE_MS)

            def answered() -> bool:
                v = view(rig, call_id)
                return v is not None and v.state is acd.CallState.CONNECTED

            await wait_until(answered, 90, "billing's agent to answer")
            talking = view(rig, call_id)
            assert talking is not None and (talking.queue, talking.agent_id) == ("billing", billing)
            await wait_until(lambda: view(rig, call_id) is None, 120, "the call to end")
            await expect(board.get_by_test_id("call-action-error")).to_be_hidden()

        await rig.hotline.writer.flush()
        row_sql = await rig.hotline.store.get_call(call_id)
        assert row_sql is not None and row_sql.queue == "billing"
        assert row_sql.agent_id == int(billing) and row_sql.answered_at is not None
        events = await rig.hotline.store.list_call_events(call_id)
        moved = [e.data for e in events if e.kind == "moved"]
        assert [(m["from"], m["queue"]) for m in moved] == [("support", "billing")]
        queued_at = row_sql.queued_at
        assert queued_at is not None and row_sql.wait_s is not None
        # the wait counted from its first entry into support, not from the move
        assert row_sql.wait_s >= (moved_at(events) - queued_at).total_seconds()
    assert errors == []


def moved_at(events: list[Any]) -> Any:
    return next(e.at for e in events if e.kind == "moved")
