"""The agent's desk says a call is a queued callback, while the agent's phone rings.

Chromium over the whole hotline (pbxsim over real AMI, real SQL): a caller presses 1
during the hold music and hangs up; when the agent goes ready, the callback rings the
agent's phone and the desk's pop names the customer's number and the attempt
(``callback`` in the screen-pop, flow rule 13), the card of the caller who asked.
"""

from __future__ import annotations

from pathlib import Path

from .test_e2e_browser import (
    LIVE_MS,
    agent_id_of,
    chromium,
    expect,
    log_in,
    open_page,
    pytestmark,  # noqa: F401 (skipped without Chromium)
)
from .test_e2e_callback import Heard, _virtual_caller, callback_rig


async def test_the_desk_shows_a_callback_with_its_number_and_attempt(
    tmp_path: Path, db_url: str
) -> None:
    heard = Heard()
    number = "0912000101"
    errors: list[str] = []
    async with callback_rig(tmp_path, db_url, {number: ["answer"]}, heard=heard) as rig:
        me = await agent_id_of(rig, "agent1")
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            note = desk.get_by_test_id("callback-note")
            await expect(note).to_have_text("")
            await _virtual_caller(rig, heard, number)
            await rig.ctl.agent_ready(str(me))
            # the callback rings the agent first: the pop says what it is
            await expect(note).to_have_text(
                f"Callback to {number}, attempt 1: the customer asked to be called back "
                "and kept their place in line.", timeout=LIVE_MS)  # fmt: skip
            await expect(desk.locator("#caller-number")).to_have_text(number)
    assert errors == []
