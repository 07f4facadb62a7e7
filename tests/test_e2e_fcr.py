"""The desk's "Resolved on first contact" box in a real Chromium over pbxsim (SQLite
and PostgreSQL): it starts ticked for a code of the config's ``fcr_dispositions`` and
unticked for another; the agent unticks it on ``resolved`` (an FCR code by default),
saves, and the supervisor's report counts the call as not resolved on first contact.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crm_bridge.models import Interaction

from .e2e_support import hotline_rig, wait_until
from .test_e2e_browser import (
    CUSTOMERS,
    LIVE_MS,
    caller_arrives,
    chromium,
    expect,
    log_in,
    no_callers,
    open_page,
)


async def test_the_agent_unticks_fcr_and_the_report_follows(tmp_path: Path, db_url: str) -> None:
    number = CUSTOMERS[5].national_numbers[0]
    quick = {"default": {"answer_delay": 1, "talk_time": [2, 3], "agent_hangs_up_probability": 0}}
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(quick), agents=1, auto_login=False,
                           offer_timeout_s=15) as rig:  # fmt: skip
        assert rig.hotline.urls is not None
        since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.get_by_test_id("ready").click()
            await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await caller_arrives(rig, number)
            calls: list[Any] = []

            def answered() -> bool:
                calls[:] = [c for c in rig.ctl.calls.values() if c.caller_number == number]
                return bool(calls) and calls[0].agent_id is not None

            await wait_until(answered, 60, "the caller to reach agent1")
            call_id = calls[0].call_id
            await expect(desk.locator("#call-id")).to_have_text(call_id, timeout=LIVE_MS)
            # answered and over: the store takes a disposition of an answered call only
            await expect(desk.get_by_test_id("call-status")).to_contain_text(
                "Call ended", timeout=LIVE_MS
            )

            box = desk.get_by_test_id("dispo-fcr")
            await expect(box).not_to_be_checked()  # no code chosen yet
            await desk.get_by_test_id("dispo-code").select_option("follow_up")
            await expect(box).not_to_be_checked()
            await desk.get_by_test_id("dispo-code").select_option("resolved")
            await expect(box).to_be_checked()  # resolved is one of fcr_dispositions
            await box.uncheck()  # the caller will have to call again
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text(
                "Saved: Resolved on the call"
            )

            async with rig.hotline.store.sessions() as s:
                saved = list(await s.execute(select(Interaction.disposition, Interaction.fcr)
                                             .where(Interaction.call_id == call_id)))  # fmt: skip
            assert [tuple(r) for r in saved] == [("resolved", False)]

            # the supervisor's report: answered 1, disposed 1, FCR 0 (by the code: 1)
            board = await open_page(browser, errors)
            await log_in(board, rig.hotline.urls.base + "/supervisor", "supervisor")
            until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
            await wait_until(lambda: not rig.ctl.calls, 60, "the call to end")
            await rig.hotline.writer.flush()
            params = {"from": since.isoformat(timespec="seconds"),
                      "to": until.isoformat(timespec="seconds")}  # fmt: skip
            answer = await board.request.get(rig.hotline.urls.base + "/api/reports",
                                             params=params)  # fmt: skip
            assert answer.status == 200, await answer.text()
            rows = {r["queue"]: r for r in (await answer.json())["rows"]}
            support = rows[calls[0].queue]
            assert (support["answered"], support["disposed"]) == (1, 1), support
            assert (support["resolved_first_contact"], support["fcr"]) == (0, 0.0), support
    assert errors == []
