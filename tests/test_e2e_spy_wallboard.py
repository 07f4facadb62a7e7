"""Listen, whisper and barge from the wallboard, in a real Chromium over the whole hotline.

pbxsim over real TCP AMI (ChanSpy as transcript 19 recorded it), the controller, a real
database (SQLite and PostgreSQL) and the web app: the supervisor's agent row has Listen,
Whisper and Barge (``POST /api/agents/{id}/spy``), enabled only while the agent talks.
A click with no phone on the supervisor's login shows the API's refusal; once the login
has a phone, Listen rings it into ``ChanSpy(<the agent's channel>,qE)``: pbxsim gets the
Originate and an AMI session of the test sees the spy's ChanSpyStart on the agent.
"""

from __future__ import annotations

from typing import Any

from callcenter.demo import SECRET
from pbxsim.testing import connect

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

#: the supervisor's phone: the Local channel transcript 19 rang (pbxsim's supervisor-phone)
PHONE = "Local/9000@supervisor-phone"
#: the agent answers after a second and talks until hung up
TALKER = {"default": {"answer_delay": [1, 1], "talk_time": [1e6, 1e6]}}


async def test_a_supervisor_listens_to_a_talking_agent_from_the_wallboard(tmp_path, db_url):
    number = CUSTOMERS[5].national_numbers[0]
    errors: list[str] = []
    async with hotline_rig(tmp_path, db_url, no_callers(TALKER), agents=1) as rig:
        me = await agent_id_of(rig, "agent1")
        sim, ctl = rig.sim, rig.ctl
        sent: list[Any] = []
        sim.world.action_hooks.append(
            lambda f: sent.append(f) if f.get("Action") == "Originate"
            and f.get("Application") == "ChanSpy" else None)  # fmt: skip
        ami = await connect(sim.port, login=False)
        await ami.login("hotline", SECRET)
        try:
            async with chromium() as browser:
                board = await open_page(browser, errors)
                await log_in(board, rig.hotline.urls.supervisor, "supervisor")
                row = board.get_by_test_id(f"agent-{me}")
                button = lambda mode: board.get_by_test_id(f"agent-{me}-{mode}")  # noqa: E731
                await expect(row.locator(".state-badge")).to_have_text("Ready", timeout=LIVE_MS)
                for mode in ("listen", "whisper", "barge"):
                    await expect(button(mode)).to_be_disabled()  # no call to join

                await caller_arrives(rig, number, patience=600)

                def talking() -> Any:
                    return next((c for c in ctl.calls.values() if c.agent_id == str(me)
                                 and c.connected() and c.bridged), None)  # fmt: skip

                await wait_until(lambda: talking() is not None, 60, "the agent to talk")
                call = talking()
                [offer] = [o for o in call.live_offers() if o.agent_id == str(me)]
                agent_channel = ctl.nodes[call.node].tracker.channels[offer.leg].name
                await expect(row.locator(".state-badge")).to_have_text("Talking", timeout=LIVE_MS)
                for mode in ("listen", "whisper", "barge"):
                    await expect(button(mode)).to_be_enabled()

                # the supervisor's login has no phone yet: the API's refusal is shown
                await expect(board.get_by_test_id("agent-action-error")).to_be_hidden()
                await button("listen").click()
                await expect(board.get_by_test_id("agent-action-error")).to_contain_text(
                    "Listen refused: your login has no phone to ring", timeout=LIVE_MS)  # fmt: skip
                assert sent == []

                await rig.hotline.store.set_agent_profile("supervisor", device=PHONE)
                start = len(ami.messages)
                await button("listen").click()
                await expect(board.get_by_test_id("agent-action-note")).to_contain_text(
                    f"Listen: your phone {PHONE} rings", timeout=LIVE_MS)  # fmt: skip
                await expect(board.get_by_test_id("agent-action-error")).to_be_hidden()
                # pbxsim got the Originate of the supervisor's phone into ChanSpy, quiet (q)
                await wait_until(lambda: len(sent) == 1, 30, "the listen Originate")
                (action,) = sent
                assert action.get("Channel") == PHONE
                assert action.get("Data") == f"{agent_channel},qE"
                made = await ami.event("Newchannel", timeout=30, start=start,
                                       Uniqueid=action.get("ChannelId"))  # fmt: skip
                spyer = made["Channel"]
                began = await ami.event("ChanSpyStart", timeout=30, start=start,
                                        SpyerChannel=spyer)  # fmt: skip
                assert began["SpyeeChannel"] == agent_channel
                assert began["SpyeeUniqueid"] == offer.leg
                # the spy's channel is no call of the hotline's
                assert list(ctl.calls) == [call.call_id]

                # the supervisor hangs up; then the agent's call ends: nothing to join
                await ami.action("Hangup", {"Channel": spyer[:-1] + "2"})
                await ami.event("ChanSpyStop", timeout=30, start=start, SpyerChannel=spyer)
                await ami.action("Hangup", {"Channel": agent_channel})
                await wait_until(lambda: talking() is None, 60, "the call to end")
                for mode in ("listen", "whisper", "barge"):
                    await expect(button(mode)).to_be_disabled(timeout=LIVE_MS)
                assert len(sent) == 1
        finally:
            await ami.close()
    assert errors == []
