"""An attended transfer in two real Chromium desks over the whole hotline (pbxsim over
real AMI, the controller, SQL): agent1 answers a support caller, picks agent2 and clicks
Consult. ``Atxfer`` of agent1's PJSIP leg rings agent2's phone (``[hotline-consult]``):
agent2's desk shows the caller's card while it rings and the ACD holds agent2 for it.
agent1 cancels once (the caller back with agent1, agent2 Ready again), consults again
and completes: the caller talks to agent2 (its leg in the caller's bridge), agent1 goes
to wrap-up; SQL holds one call with one outcome (answered by agent1), ``consult``,
``consult_ended``, ``transferred`` (mode attended) and ``transfer_answered`` events
(issue 15)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import acd
from callcenter.flow import Stage
from callcenter.storage.models import Call, CallEvent, QueueOutcome

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

#: every phone rings 3 s before it answers (agent2's card must come first) and talks for
#: an hour
PHONES = {"default": {"answer_delay": 3, "talk_time": 3600, "agent_hangs_up_probability": 0}}


@pytest.mark.parametrize("pick", ["named", "queue"])
async def test_an_attended_transfer_consults_then_cancels_then_completes(tmp_path, db_url, pick):
    """``pick`` queue: the desk's "any agent of the queue" consults the queue's next Ready
    agent (agent2: agent1 has the call)."""
    customer = CUSTOMERS[14]
    number = customer.national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(
        tmp_path, db_url, no_callers(PHONES), agents=2, time_scale=1.0, auto_login=False,
        offer_timeout_s=15,
    ) as rig:  # fmt: skip
        one, two = [await agent_id_of(rig, f"agent{n}") for n in (1, 2)]
        ctl = rig.ctl
        world = rig.sim.world
        async with chromium() as browser:
            desk1, desk2 = [await open_page(browser, errors) for _ in range(2)]
            for n, desk in enumerate((desk1, desk2), 1):
                await log_in(desk, rig.hotline.urls.agent, f"agent{n}")
                await desk.get_by_test_id("ready").click()
                await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await caller_arrives(rig, number)
            card1 = desk1.get_by_test_id("card")
            await expect(card1).to_contain_text(customer.full_name, timeout=LIVE_MS)
            (call,) = [c for c in ctl.calls.values() if c.caller_number == number]
            await wait_until(lambda: call.stage is Stage.TALKING and call.bridged, 60,
                             "agent1 to answer")  # fmt: skip
            assert call.agent_id == str(one)
            shown_to_1 = await card1.inner_text()
            caller = world.channels[call.channel]
            [leg1] = [o.leg for o in call.offers if o.agent_id == str(one)]
            picker = desk1.get_by_test_id("transfer-agent")
            name2 = (await picker.locator(f"option[value='{two}']").inner_text()).strip()
            if pick == "named":
                await picker.select_option(str(two))
            else:
                await picker.select_option("")
                await desk1.get_by_test_id("transfer-queue").select_option("support")
            complete = desk1.get_by_test_id("consult-complete")
            cancel = desk1.get_by_test_id("consult-cancel")
            result = desk1.get_by_test_id("transfer-result")

            for attempt in ("cancel", "complete"):
                await desk1.get_by_test_id("consult").click()
                await expect(result).to_have_text(f"Calling {name2}, the caller is on hold")
                # agent2's desk shows the caller's card while its phone rings
                card2 = desk2.get_by_test_id("card")
                await expect(card2).to_contain_text(customer.full_name, timeout=LIVE_MS)
                consult = call.consult
                assert consult is not None and consult.leg is None, "shown before the answer"
                assert await card2.inner_text() == shown_to_1, "not the same customer card"
                await expect(desk2.locator("#call-id")).to_have_text(call.call_id)
                await expect(desk2.get_by_test_id("consult-note")).to_have_text(
                    f"Agent {one} consults you about this call"
                )
                # both agents busy in the ACD: agent2 held for this call, offered nothing else
                view2 = ctl.core.agent(str(two), ctl.now())
                assert view2.state is acd.AgentState.OFFERED and view2.call_id == call.call_id
                assert ctl.core.agent(str(one), ctl.now()).state is acd.AgentState.ON_CALL
                await expect(complete).to_be_disabled()  # agent2 has not answered yet
                await expect(result).to_have_text(
                    f"{name2} answered: complete the transfer or cancel", timeout=LIVE_MS
                )
                assert consult.leg is not None
                assert caller.moh, "the caller hears music on hold while the agents talk"
                if attempt == "cancel":
                    await cancel.click()
                    await expect(result).to_have_text("Back with the caller (cancelled)",
                                                      timeout=LIVE_MS)  # fmt: skip
                    await wait_until(lambda: call.consult is None, 30, "the consultation to end")
                    assert call.agent_id == str(one) and call.stage is Stage.TALKING
                    await wait_until(
                        lambda: ctl.core.agent(str(two), ctl.now()).state
                        is acd.AgentState.READY, 30, "agent2 Ready again")  # fmt: skip
                    await expect(complete).to_be_hidden()
                    # the caller is back in one bridge with agent1's leg
                    await wait_until(
                        lambda: caller.bridge is not None and len(caller.bridge.channels) == 2
                        and any(c.uniqueid == leg1 for c in caller.bridge.channels),
                        30, "the caller back with agent1")  # fmt: skip
                else:
                    await complete.click()
                    await expect(result).to_have_text(f"Transferred to {name2}",
                                                      timeout=LIVE_MS)  # fmt: skip
            await wait_until(lambda: call.agent_id == str(two), 30, "agent2 to own the call")
            assert call.stage is Stage.TALKING
            assert ctl.core.agent(str(two), ctl.now()).state is acd.AgentState.ON_CALL
            assert ctl.core.agent(str(one), ctl.now()).state is acd.AgentState.WRAP_UP
            # the caller talks to agent2: its bridge holds the caller and agent2's leg
            assert caller.bridge is not None
            names = sorted(c.name for c in caller.bridge.channels)
            assert len(names) == 2 and any("@hotline-consult-" in n for n in names), names
            await expect(desk2.get_by_test_id("state")).to_have_text("Talking", timeout=LIVE_MS)
            await rig.hotline.writer.flush()
            async with rig.hotline.store.sessions() as s:
                calls = list(await s.scalars(select(Call).where(Call.caller_number == number)))
                outcomes = list(await s.scalars(select(QueueOutcome)))
                seen = list(await s.scalars(select(CallEvent).where(
                    CallEvent.call_id == call.call_id).order_by(CallEvent.id)))  # fmt: skip
    assert [c.id for c in calls] == [call.call_id], "one call"
    assert calls[0].agent_id == two, "the call row is agent2's now"
    assert [(o.call_id, o.queue, o.outcome, o.agent_id) for o in outcomes] == [
        (call.call_id, "support", "answered", one)
    ], "one outcome: the first answer"
    kinds = [e.kind for e in seen]
    assert [e.data["result"] for e in seen if e.kind == "consult_ended"] == ["cancelled"]
    assert kinds.count("consult") == 2
    [moved] = [e.data for e in seen if e.kind == "transferred"]
    assert moved == {"from_queue": "support", "queue": "support", "agent": str(one),
                     "mode": "attended", "by": f"agent:{one}", "to_agent": str(two)}  # fmt: skip
    [answered] = [e.data for e in seen if e.kind == "transfer_answered"]
    assert (answered["agent"], answered["queue"]) == (str(two), "support")
    assert kinds.index("transferred") < kinds.index("transfer_answered")
    assert errors == []
