"""A controller killed while a transferred caller waits in its new queue (flow rule 14),
over the whole hotline: pbxsim over real AMI, the controller as its own process, real
SQL. SQL already holds the call's one outcome (answered by the first agent) when the
controller dies: the restarted one must put the caller back in the queue it was
transferred to, never end it as answered nor start its IVR over; a caller transferred to
a named agent stays held for that agent alone (flow rule 19: its last ``queued`` event)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.flow.core import AGENT_TRANSFER_WAIT_S
from pbxsim.server import PBXSim

from .e2e_support import Crashable, crashable_hotline, scenario, wait_sql, wait_until
from .test_e2e_overflow import FLOW, PROMPTS


def world(numbers: list[str]) -> dict[str, Any]:
    # agent1 (support) answers and would talk for an hour; agent2 (billing) answers and
    # hangs up after a few seconds
    w = scenario(numbers, arrivals={"kind": "trace", "calls": []},
                 agents={"default": {"answer_delay": 1, "talk_time": 3600,
                                     "agent_hangs_up_probability": 0},
                         "phones": {"1002": {"answer_delay": 1, "talk_time": 3,
                                             "agent_hangs_up_probability": 1.0}}})  # fmt: skip
    w["prompts"] = {p: 1.0 for p in PROMPTS}
    return w


def waiting_again(sim: PBXSim) -> bool:
    """The caller's channel is back in AsyncAGI, out of any bridge (07 B)."""
    return any(c.role == "caller" and c.agi is not None and c.bridge is None
               for c in sim.world.channels.values())  # fmt: skip


async def _transfer(base: str, call_id: str, to: dict[str, str]) -> None:
    """agent1 hands its caller on (``to``: its queue, or agent) over the controller's API."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "agent1", "password": "agent1-pass"}
        async with http.post(f"{base}/login", data=login) as resp:
            resp.raise_for_status()
        async with http.post(f"{base}/api/calls/{call_id}/transfer",
                             json={**to, "mode": "blind"}, headers={"Origin": base}) as resp:  # fmt: skip
            assert resp.status == 202, await resp.text()


async def _answered_and_transferred(rig: Crashable, number: str, to: dict[str, str]) -> None:
    """agent1 answers the caller of ``number`` in support and transfers it (``to``)."""

    async def answered() -> bool:
        call, _outcomes, _events = await rig.sql(number)
        return call is not None and call.answered_at is not None

    await wait_sql(answered, 90, "agent1 to answer")
    call, _, _ = await rig.sql(number)
    assert call is not None
    await _transfer(rig.base, call.id, to)
    await rig.wait_events(number, "transferred")


async def test_a_controller_killed_while_a_transferred_caller_waits_keeps_it_in_the_new_queue(
    tmp_path: Path, db_url: str
) -> None:
    """agent1 (support) answers and transfers the caller to billing, where nobody is
    ready; the controller is killed (SIGKILL) with the caller holding there and started
    again; agent2 (billing) goes ready: the caller is offered to agent2 and answered,
    with one outcome in SQL (agent1's answer in support) and the transfer's events."""
    number = ""
    async with crashable_hotline(tmp_path, db_url, world, FLOW) as rig:
        number = rig.numbers[0]
        await rig.supervise("agent1", "ready")
        caller = rig.sim.world.population.arrive(number, ("1",), patience=900)
        await _answered_and_transferred(rig, number, {"queue": "billing"})
        await wait_until(lambda: waiting_again(rig.sim), 60,
                         "the caller back in AsyncAGI after the BlindTransfer")  # fmt: skip
        await rig.restart()
        await rig.supervise("agent2", "ready")
        await rig.wait_events(number, "transfer_outcome", 120)  # agent2's visit ended
        await rig.wait_ended(number)
        await wait_until(lambda: caller.outcome, 60, "the caller to be done")
    call, outcomes, events = await rig.sql(number)
    agents = rig.agents
    assert call is not None and caller.talked
    kinds = [e.kind for e in events]
    assert kinds.count("adopted") == 1, "the second controller adopted it"
    assert rig.rung == ["PJSIP/1002"], rig.rung  # offered in billing only, once
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == (
        "support", "answered", int(agents["agent1"]))  # fmt: skip
    [moved] = [e.data for e in events if e.kind == "transferred"]
    assert moved == {"from_queue": "support", "queue": "billing", "agent": agents["agent1"],
                     "mode": "blind", "by": f"agent:{agents['agent1']}"}  # fmt: skip
    [answered2] = [e.data for e in events if e.kind == "transfer_answered"]
    assert (answered2["agent"], answered2["queue"]) == (agents["agent2"], "billing")
    [after] = [e.data for e in events if e.kind == "transfer_outcome"]
    assert (after["queue"], after["outcome"], after["agent"]) == (
        "billing", "answered", agents["agent2"])  # fmt: skip
    assert kinds.index("transferred") < kinds.index("adopted") < kinds.index("transfer_answered")
    assert call.agent_id == int(agents["agent2"]), "the call row is agent2's now"


async def _agent_state(base: str, agent_id: str) -> str:
    """The agent's state as the controller's HTTP API tells a supervisor."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "supervisor", "password": "supervisor-pass"}
        async with http.post(f"{base}/login", data=login) as resp:
            resp.raise_for_status()
        async with http.get(f"{base}/api/agents/{agent_id}") as resp:
            assert resp.status == 200, await resp.text()
            return str((await resp.json())["state"])


async def test_a_controller_killed_while_a_transferred_caller_talks_keeps_its_agent_on_call(
    tmp_path: Path, db_url: str
) -> None:
    """agent1 (support) answers and transfers the caller to billing, where agent2 answers
    and talks; the controller is killed (SIGKILL) once SQL holds that answer and started
    again: agent2 is on call with the caller (never free for another call), and agent2's
    hang-up ends the visit with a transfer_outcome, the call's one outcome agent1's."""

    def long_talk(numbers: list[str]) -> dict[str, Any]:
        w = world(numbers)  # agent2 talks until the test hangs its phone up
        w["agents"]["phones"]["1002"]["talk_time"] = 3600
        return w

    number = ""
    async with crashable_hotline(tmp_path, db_url, long_talk, FLOW) as rig:
        number = rig.numbers[0]
        agents = rig.agents
        await rig.supervise("agent1", "ready")
        await rig.supervise("agent2", "ready")
        caller = rig.sim.world.population.arrive(number, ("1",), patience=900)
        await _answered_and_transferred(rig, number, {"queue": "billing"})
        await rig.wait_events(number, "transfer_answered", 90)  # agent2's answer
        await rig.restart()

        async def on_call() -> bool:
            return await _agent_state(rig.base, agents["agent2"]) == "talking"

        await wait_sql(on_call, 90, "agent2 on call after the restart")
        sim = rig.sim
        [phone] = [c for c in sim.world.channels.values()
                   if c.role == "agent" and c.agent_key == "1002" and c.bridge is not None]  # fmt: skip
        # agent2's phone hangs up, as pbxsim's talk timer does it (population._talk)
        sim.world.hangup(phone.peer if phone.half == 1 and phone.peer else phone,
                         how="remote", cause=16)  # fmt: skip
        await rig.wait_events(number, "transfer_outcome", 120)
        await rig.wait_ended(number)
        await wait_until(lambda: caller.outcome, 60, "the caller to be done")
    call, outcomes, events = await rig.sql(number)
    assert call is not None and caller.talked
    kinds = [e.kind for e in events]
    assert kinds.count("adopted") == 1, "the second controller adopted it"
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == (
        "support", "answered", int(agents["agent1"]))  # fmt: skip
    [after] = [e.data for e in events if e.kind == "transfer_outcome"]
    assert (after["queue"], after["outcome"], after["agent"]) == (
        "billing", "answered", agents["agent2"])  # fmt: skip
    assert kinds.index("transfer_answered") < kinds.index("adopted")
    assert call.agent_id == int(agents["agent2"]), "the call row is agent2's"


def one_queue(numbers: list[str]) -> dict[str, Any]:
    """``world``, agent2's phone (1002) answering like agent3's (1003)."""
    w = world(numbers)
    w["agents"]["phones"]["1003"] = w["agents"]["phones"]["1002"]
    return w


async def test_a_controller_killed_while_a_caller_waits_for_its_named_agent_keeps_it_held(
    tmp_path: Path, db_url: str
) -> None:
    """agent1 answers in support and transfers the caller to agent2 by name, paused; the
    controller is killed (SIGKILL) while the caller waits held for agent2 alone and started
    again. agent1 (back Ready) and agent3, of the same queue, are Ready first and never
    rung; agent2 goes Ready and its phone rings and answers: the hold for agent2 outlived
    the restart (flow rule 19). Without it, agent1's phone rang at once."""
    number = ""
    # every agent in support (billing, the IVR's other queue, has none)
    async with crashable_hotline(tmp_path, db_url, one_queue, FLOW, agents=3,
                                 prepare=None) as rig:  # fmt: skip
        number = rig.numbers[0]
        await rig.supervise("agent2", "ready")  # logged in, then paused: held for, not rung
        await rig.supervise("agent2", "paused")
        await rig.supervise("agent1", "ready")
        rig.sim.world.population.arrive(number, ("1",), patience=900)
        await _answered_and_transferred(rig, number, {"agent": rig.agents["agent2"]})
        transferred = dt.datetime.now(dt.UTC)
        await wait_until(lambda: waiting_again(rig.sim), 60,
                         "the caller back in AsyncAGI after the BlindTransfer")  # fmt: skip
        await rig.restart()

        async def adopted() -> bool:
            _call, _outcomes, events = await rig.sql(number)
            return any(e.kind == "adopted" for e in events)

        await wait_sql(adopted, 90, "the caller adopted by the second controller")
        await rig.supervise("agent3", "ready")  # the queue's: offered at once, were it not held
        await rig.supervise("agent2", "ready")
        took = (dt.datetime.now(dt.UTC) - transferred).total_seconds()
        print(f"transfer to agent2 ready after the restart: {took:.1f} s")
        assert took < AGENT_TRANSFER_WAIT_S, f"the hold ran out before agent2 was ready: {took} s"
        await rig.wait_events(number, "transfer_answered", 90)
    call, _outcomes, events = await rig.sql(number)
    assert call is not None
    assert rig.rung == ["PJSIP/1002"], rig.rung  # agent2's phone alone: agent1, agent3 Ready
    [answered] = [e.data for e in events if e.kind == "transfer_answered"]
    assert answered["agent"] == rig.agents["agent2"]
    places = [e.data for e in events if e.kind == "queued"]
    assert [(p["queue"], p["why"], p["held_for"]) for p in places] == [
        ("support", "ivr", None), ("support", "transfer", rig.agents["agent2"])]  # fmt: skip
