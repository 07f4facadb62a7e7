"""The agent desk's own tools in a real Chromium over the whole hotline (pbxsim over real
AMI, the controller, SQL; issue 15): the wrap-up's countdown, Extend and End wrap-up.

Callers ring on demand (:func:`caller_arrives`) once the desk is ready; every wait is
for a condition with a generous deadline, never a fixed time.
"""

from __future__ import annotations

import re
from typing import Any

import acd

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
