"""A busy, a silent and an unreachable PJSIP agent phone reach the ACD as three failures.

Broke on a real Asterisk 22: a PJSIP phone answering 486 Busy gives OriginateResponse
Reason 0, not 5 (transcript 16); the controller called it "failed" and counted it toward
the ring-no-answer pause. Unreachable is Reason 0 too, with no channel at all.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from callcenter.storage.models import Agent, AgentStateChange

from .e2e_support import hotline_rig, scenario, wait_until

KINDS = {
    # the phone of agent1 (PJSIP/1001) -> what the ACD must record for agent1
    "busy": ({"busy_probability": 1.0}, ("ready", "busy")),
    "no-answer": ({"no_answer_probability": 1.0}, ("ready", "no-answer")),
    "unreachable": ({"unreachable": True}, ("paused", "device-unreachable")),
}
#: the reasons each kind may leave on agent1 (a second failure pauses it, named by the kind)
ALLOWED = {
    "busy": {"busy", "device-busy"},
    "no-answer": {"no-answer", "ring-no-answer"},
    "unreachable": {"device-unreachable"},
}
FAILURES = set().union(*ALLOWED.values()) | {"failed", "offer-failed"}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_each_kind_of_agent_leg_failure_reaches_the_acd_as_itself(tmp_path, db_url, kind):
    phone, expected = KINDS[kind]

    def world(numbers: list[str]) -> dict:
        return scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 20},
                        agents={"default": {"answer_delay": [1, 2], "talk_time": [3, 5]},
                                "phones": {"1001": phone}})  # fmt: skip

    async with hotline_rig(tmp_path, db_url, world, agents=2, offer_timeout_s=4) as rig:
        store = rig.hotline.store
        seen: list[tuple[str, str | None]] = []

        async def agent1_changes() -> None:
            await rig.hotline.writer.flush()
            async with store.sessions() as s:
                agent1 = await s.scalar(select(Agent.id).where(Agent.username == "agent1"))
                rows = await s.scalars(select(AgentStateChange)
                                       .where(AgentStateChange.agent_id == agent1)
                                       .where(AgentStateChange.old == "offered"))  # fmt: skip
                seen[:] = [(r.new, r.reason) for r in rows]

        async def poll() -> bool:
            await agent1_changes()
            return expected in seen

        end = time.monotonic() + 120
        while not await poll():
            assert time.monotonic() < end, f"agent1 never got {expected}; saw {seen}"
            await asyncio.sleep(0.5)
        reasons = {r for _, r in seen if r in FAILURES}
        assert reasons <= ALLOWED[kind], f"{kind} phone reported as {reasons}"
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 1, 120, "a call to end")
