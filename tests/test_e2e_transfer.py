"""A transfer to a queue in two real Chromium desks over the whole hotline (pbxsim over
real AMI, the controller, SQL): agent1 (queue support) answers, clicks Transfer to
billing; agent2's desk (billing only) shows the same customer card while its phone
still rings, agent2 answers; SQL holds one call with its ``transferred`` event and one
outcome (issue 15)."""

from __future__ import annotations

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

#: every phone rings 5 s before it answers (the card must come first); agent1 would talk
#: for an hour, agent2's phone (PJSIP/1002) hangs up 4 s after answering
PHONES = {"default": {"answer_delay": 5, "talk_time": 3600, "agent_hangs_up_probability": 0},
          "phones": {"1002": {"answer_delay": 5, "talk_time": 4,
                              "agent_hangs_up_probability": 1.0}}}  # fmt: skip


def with_billing(text: str) -> str:
    """A second queue, billing, beside the rig's support."""
    return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n  - name: billing\n"
                        "    wrap_up_s: 1\n    offer_timeout_s: 15\n    hold_slice_s: 3\n",
                        1)  # fmt: skip


async def agent2_serves_billing(db_url: str) -> None:
    from callcenter.storage import Store, make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        for a in await store.list_agents():
            if a.username == "agent2":
                await store.set_agent_routing(a.id, queues=["billing"])
    finally:
        await engine.dispose()


async def test_a_transfer_to_a_queue_reaches_another_agent_with_the_same_pop(tmp_path, db_url):
    customer = CUSTOMERS[11]
    number = customer.national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(
        tmp_path, db_url, no_callers(PHONES), agents=2, time_scale=1.0, auto_login=False,
        offer_timeout_s=15, prepare=agent2_serves_billing, edit_config=with_billing,
    ) as rig:  # fmt: skip
        one, two = await agent_id_of(rig, "agent1"), await agent_id_of(rig, "agent2")
        ctl = rig.ctl
        async with chromium() as browser:
            desk1, desk2 = await open_page(browser, errors), await open_page(browser, errors)
            await log_in(desk1, rig.hotline.urls.agent, "agent1")
            await log_in(desk2, rig.hotline.urls.agent, "agent2")
            for desk in (desk1, desk2):
                await desk.get_by_test_id("ready").click()
                await expect(desk.get_by_test_id("state")).to_have_text("Ready")
            await expect(desk1.get_by_test_id("transfer")).to_be_disabled()

            await caller_arrives(rig, number)
            card1 = desk1.get_by_test_id("card")
            await expect(card1).to_contain_text(customer.full_name, timeout=LIVE_MS)
            (call,) = [c for c in ctl.calls.values() if c.caller_number == number]
            await wait_until(lambda: call.stage is Stage.TALKING and call.bridged, 60,
                             "agent1 to answer")  # fmt: skip
            assert call.agent_id == str(one) and call.queue == "support"
            shown_to_1 = await card1.inner_text()
            steps_shown_to_1 = await desk1.get_by_test_id("ivr-steps").inner_text()
            assert steps_shown_to_1.strip()
            await expect(desk2.get_by_test_id("card")).not_to_contain_text(customer.full_name)

            await desk1.get_by_test_id("transfer-queue").select_option("billing")
            await desk1.get_by_test_id("transfer").click()
            await expect(desk1.get_by_test_id("transfer-result")).to_have_text(
                "Transferred to billing"
            )
            card2 = desk2.get_by_test_id("card")
            await expect(card2).to_contain_text(customer.full_name, timeout=LIVE_MS)
            # read the controller right when agent2's card showed: its phone still rings
            stage_at_card, agent_at_card = call.stage, call.agent_id
            assert stage_at_card is Stage.OFFERED, f"card shown at stage {stage_at_card}"
            assert agent_at_card == str(two)  # offered to agent2, not answered yet
            assert await card2.inner_text() == shown_to_1, "not the same customer card"
            await expect(desk2.locator("#call-id")).to_have_text(call.call_id)
            await expect(desk2.get_by_test_id("call-status")).to_contain_text("Ringing")
            await expect(desk2.get_by_test_id("transfer-note")).to_have_text(
                f"Transferred by agent {one} from support"
            )
            # the same IVR trail, step by step
            assert await desk2.get_by_test_id("ivr-steps").inner_text() == steps_shown_to_1
            assert ctl.core.agent(str(one), ctl.now()).state is not acd.AgentState.ON_CALL

            await wait_until(lambda: call.agent_id == str(two) and call.bridged, 60,
                             "agent2 to answer")  # fmt: skip
            await expect(desk2.get_by_test_id("call-status")).not_to_contain_text("Ringing")

            async def events() -> list[CallEvent]:
                await rig.hotline.writer.flush()
                async with rig.hotline.store.sessions() as s:
                    return list(await s.scalars(select(CallEvent).where(
                        CallEvent.call_id == call.call_id).order_by(CallEvent.id)))  # fmt: skip

            seen: list[CallEvent] = []

            async def conversation_over() -> bool:
                seen[:] = await events()
                return any(e.kind == "transfer_outcome" for e in seen)

            for _ in range(600):  # agent2 hangs up 4 s after answering
                if await conversation_over():
                    break
                await desk2.wait_for_timeout(100)
            await rig.hotline.writer.flush()
            async with rig.hotline.store.sessions() as s:
                calls = list(await s.scalars(select(Call).where(Call.caller_number == number)))
                outcomes = list(await s.scalars(select(QueueOutcome)))
    assert [c.id for c in calls] == [call.call_id], "one call"
    assert calls[0].agent_id == two, "the call row is agent2's (its disposition) now"
    assert [(o.call_id, o.queue, o.outcome, o.agent_id) for o in outcomes] == [
        (call.call_id, "support", "answered", one)
    ], "one outcome: the first answer"
    kinds = [e.kind for e in seen]
    [moved] = [e.data for e in seen if e.kind == "transferred"]
    assert moved == {"from_queue": "support", "queue": "billing", "agent": str(one),
                     "mode": "blind", "by": f"agent:{one}"}  # fmt: skip
    [answered] = [e.data for e in seen if e.kind == "transfer_answered"]
    assert (answered["agent"], answered["queue"]) == (str(two), "billing")
    [after] = [e.data for e in seen if e.kind == "transfer_outcome"]
    assert (after["queue"], after["outcome"], after["agent"]) == ("billing", "answered", str(two))
    assert kinds.index("transferred") < kinds.index("transfer_answered")
    assert errors == []
