"""The demo as a newcomer meets it, in a real headless Chromium: ``run_demo`` itself
(pbxsim as its own process, the controller, SQLite in the workdir), the human seat
logged in from the browser and taking a demo call end to end.

The seat is nobody's but the browser's: it starts Offline, and Ready works (the
simulated agents were once logged in for it, and Ready answered "no transition
from ON_CALL"). The demo's callers arrive by its Poisson scenario, so the test
waits for conditions (the pop, the answer, the row) with generous deadlines and
never for a time; the seat's phone in pbxsim answers by itself after its ring.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import pytest

from callcenter.app import Hotline
from callcenter.demo import DemoOptions, run_demo
from callcenter.demo.data import demo_customers
from crm_bridge.models import Interaction

from .e2e_support import wait_until
from .test_e2e_browser import CHROMIUM, LIVE_MS, chromium, expect, interactions, log_in, open_page

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing (apt-get install -y chromium); no browser is downloaded",
)


class Demo:
    """``run_demo`` as a task of the test's loop, with its Hotline once it has started."""

    def __init__(self, opts: DemoOptions) -> None:
        self.opts = opts
        self.stop = asyncio.Event()
        self.started: asyncio.Future[Hotline] = asyncio.get_running_loop().create_future()
        self.task = asyncio.ensure_future(run_demo(opts, self.stop, on_start=self._on_start))

    def _on_start(self, hotline: Hotline) -> None:
        self.started.set_result(hotline)

    async def hotline(self) -> Hotline:
        await asyncio.wait([self.task, self.started], timeout=120,
                           return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        if self.task.done():
            self.task.result()  # its error, if it failed to start
        assert self.started.done(), "the demo did not start within 120 s"
        return self.started.result()

    async def finish(self) -> dict[str, Any]:
        self.stop.set()
        return await asyncio.wait_for(self.task, 120)


async def test_a_newcomer_takes_a_demo_call_at_the_human_seat(tmp_path):
    # One simulated agent beside the seat, and more callers than it can take, so calls
    # come to the seat once it is Ready. pbxsim's clock runs as the demo's does: the
    # seat's call lasts 20-40 s, time enough to write the disposition before the next.
    opts = DemoOptions(agents=1, seats=1, calls_per_minute=6, web_port=0, time_scale=1.0,
                       workdir=tmp_path / "demo", drain_s=5, customers=200)  # fmt: skip
    customers = {n: c for c in demo_customers(opts.customers, seed=opts.seed)
                 for n in c.national_numbers}  # fmt: skip
    notes = "Khách hỏi cước chuyển vùng; đã hướng dẫn đăng ký gói."
    errors: list[str] = []
    demo = Demo(opts)
    try:
        hotline = await demo.hotline()
        assert hotline.urls is not None and hotline.controller is not None
        assert hotline.store is not None
        ids = {a.username: str(a.id) for a in await hotline.store.list_agents()}
        seat, simulated = ids["agent1"], ids["agent2"]
        async with chromium() as browser:
            # The wallboard labels the simulated agent, not the seat.
            board = await open_page(browser, errors)
            await log_in(board, hotline.urls.supervisor, "supervisor")
            await expect(board.locator("#agent-rows tr")).to_have_count(2)
            await expect(board.locator("#agent-rows .badge-sim")).to_have_count(1)
            await expect(board.locator("#agent-rows .badge-sim")).to_have_text("simulated")
            flags = await board.evaluate(
                "async () => (await (await fetch('/api/wallboard')).json()).agents"
                ".map((a) => [a.id, a.simulated])"
            )
            assert dict(flags) == {seat: False, simulated: True}

            desk = await open_page(browser, errors)
            await log_in(desk, hotline.urls.agent, "agent1")
            await expect(desk.get_by_test_id("state")).to_have_text("Offline")
            await desk.get_by_test_id("ready").click()
            # callers are waiting already: Ready may turn into Ringing at once
            await expect(desk.get_by_test_id("state")).to_have_text(
                re.compile("^(Ready|Ringing|Talking)$")
            )
            await expect(desk.locator("#action-result")).to_have_text("")

            # The next caller the ACD gives the seat pops up on its desk...
            await expect(desk.locator("#call-id")).not_to_have_text("–", timeout=LIVE_MS)
            call_id = await desk.locator("#call-id").text_content()
            assert call_id
            call = hotline.controller.calls[call_id]
            assert call.agent_id == seat
            customer = customers.get(call.caller_number or "")
            card = desk.get_by_test_id("card")
            if customer is not None:
                await expect(card).to_contain_text(customer.full_name)
                await expect(card).to_contain_text(customer.account_no)
            else:
                await expect(card).to_contain_text("Unknown caller")
            # ...pbxsim's phone of the seat answers, and the agent writes the disposition
            # while talking, as agents do.
            await expect(desk.get_by_test_id("call-status")).to_have_text("On call")
            await desk.get_by_test_id("dispo-code").select_option("resolved")
            await desk.get_by_test_id("dispo-notes").fill(notes)
            await desk.get_by_test_id("dispo-submit").click()
            await expect(desk.get_by_test_id("dispo-result")).to_have_text("Saved: Resolved on the call")

        # The call ends (the talk time runs out in pbxsim) with the seat as its agent.
        await wait_until(lambda: call_id not in hotline.controller.calls, 120, "the call to end")
        assert hotline.writer is not None
        await hotline.writer.flush()
        row = await hotline.store.get_call(call_id)
        assert row is not None and row.answered_at is not None and str(row.agent_id) == seat
        saved: list[Interaction] = await interactions(_Rig(hotline), call_id)
        assert [(i.disposition, i.notes, str(i.agent_id)) for i in saved] == [
            ("resolved", notes, seat)
        ]
    finally:
        summary = await demo.finish()
    assert summary["calls_without_outcome"] == 0 and summary["duplicate_outcomes"] == 0
    assert errors == []


class _Rig:
    """What :func:`tests.test_e2e_browser.interactions` reads: ``rig.hotline``."""

    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline
