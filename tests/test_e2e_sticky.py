"""Sticky agent end to end: pbxsim over real TCP AMI, the controller, SQL.

The support queue is sticky (``queues[].sticky``). A caller answered by agent2 calls
again while agent1 and agent2 are both ready and agent1 has idled longer (the
queue's longest-idle strategy alone would ring agent1): agent2's phone rings, as
pbxsim's ``DialBegin`` of the agent leg shows. Then the answer is in SQL, where a
restarted controller's index starts from (``Controller.load_last_served``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from acd import AgentState
from callcenter.flow.sticky import LastServed

from .e2e_support import headers, hotline_rig, no_caller_world, wait_until
from .test_e2e_browser import caller_arrives


def _sticky(text: str) -> str:
    old = "queues:\n  - name: support\n"
    assert text.count(old) == 1
    return text.replace(old, old + "    sticky: {wait_s: 60, days: 7}\n")


async def test_a_returning_caller_rings_the_agent_who_served_it(tmp_path: Path, db_url: str):
    rings: list[tuple[str, str]] = []  # (agent phone, caller number), as pbxsim saw them

    def on_event(name: str, data: bytes) -> None:
        if name == "DialBegin":
            h = headers(data)
            endpoint = h["DestChannel"].split("/")[1].rsplit("-", 1)[0]
            rings.append((endpoint, h["DestCallerIDNum"]))

    async with hotline_rig(tmp_path, db_url, no_caller_world, agents=2, auto_login=False,
                           edit_config=_sticky, offer_timeout_s=20) as rig:  # fmt: skip
        rig.sim.world.listeners.append(on_event)
        ctl = rig.ctl
        ids = {a.username: str(a.id) for a in await rig.hotline.store.list_agents()}
        number = rig.numbers[0]

        def state(agent: str) -> AgentState:
            return ctl.core.agent(ids[agent], ctl.now()).state

        # first visit: only agent2 is ready, it answers
        await ctl.agent_ready(ids["agent2"])
        await caller_arrives(rig, number)
        await wait_until(lambda: ctl.counters["outcomes"] >= 1, 90, "the first call to end")
        assert rings == [("1002", number)]
        # agent1 ready first (idle the longest), then agent2: paused once its wrap-up is
        # over, so the order does not hang on how long the wrap-up took under load
        await wait_until(lambda: state("agent2") is AgentState.READY, 30, "agent2's wrap-up")
        await ctl.agent_pause(ids["agent2"], "break")
        await ctl.agent_ready(ids["agent1"])
        await ctl.agent_ready(ids["agent2"])
        assert state("agent1") is AgentState.READY and state("agent2") is AgentState.READY
        view = ctl.core.agent(ids["agent1"], ctl.now())
        assert view.idle_s > ctl.core.agent(ids["agent2"], ctl.now()).idle_s

        # it calls again: agent2's phone rings, not agent1's
        await caller_arrives(rig, number)
        await wait_until(lambda: len(rings) >= 2, 60, "the second call to ring")
        assert rings[1] == ("1002", number), rings
        assert state("agent1") is AgentState.READY

        await wait_until(lambda: ctl.counters["outcomes"] >= 2, 90, "the second call to end")
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        answered: list[Any] = await rig.hotline.store.last_answered(since)
        assert [(n, a) for n, a, _ in answered] == [(number, ids["agent2"])] * 2
        # what a restarted controller starts with: the index read back from SQL
        ctl.flow.last_served = LastServed()
        await ctl.load_last_served()
        now = dt.datetime.now(dt.UTC).timestamp()
        assert ctl.flow.last_served.agent_for(number, now, 7) == ids["agent2"]
        assert len(ctl.flow.last_served) == 1
