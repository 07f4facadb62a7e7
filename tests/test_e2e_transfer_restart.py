"""A controller killed while a transferred caller waits in its new queue (flow rule 14),
over the whole hotline: pbxsim over real AMI, the controller as its own process, real
SQL. SQL already holds the call's one outcome (answered by the first agent) when the
controller dies: the restarted one must put the caller back in the queue it was
transferred to, never end it as answered nor start its IVR over."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import aiohttp

from pbxsim.server import PBXSim

from .e2e_support import ROOT, headers, scenario, seeded, wait_until
from .test_e2e_overflow import (
    FLOW,
    PROMPTS,
    _agent_ids,
    _one_agent_per_queue,
    _sql,
    _supervise,
    _wait_sql,
)
from .test_e2e_restart import sim_and_config, start_controller, stop_all


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


def with_billing(text: str) -> str:
    return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n  - name: billing\n", 1)


def waiting_again(sim: PBXSim) -> bool:
    """The caller's channel is back in AsyncAGI, out of any bridge (07 B)."""
    return any(c.role == "caller" and c.agi is not None and c.bridge is None
               for c in sim.world.channels.values())  # fmt: skip


async def _transfer(base: str, call_id: str, queue: str) -> None:
    """agent1 hands its caller on to ``queue`` over the controller's HTTP API."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "agent1", "password": "agent1-pass"}
        async with http.post(f"{base}/login", data=login) as resp:
            resp.raise_for_status()
        async with http.post(f"{base}/api/calls/{call_id}/transfer",
                             json={"queue": queue, "mode": "blind"},
                             headers={"Origin": base}) as resp:  # fmt: skip
            assert resp.status == 202, await resp.text()


async def _answered_and_transferred(db_url: str, base: str, number: str) -> None:
    """agent1 answers the caller of ``number`` in support and transfers it to billing."""

    async def answered() -> bool:
        call, _outcomes, _events = await _sql(db_url, number)
        return call is not None and call.answered_at is not None

    await _wait_sql(answered, 90, "agent1 to answer")
    call, _, _ = await _sql(db_url, number)
    assert call is not None
    await _transfer(base, call.id, "billing")

    async def transferred() -> bool:
        _call, _outcomes, events = await _sql(db_url, number)
        return any(e.kind == "transferred" for e in events)

    await _wait_sql(transferred, 60, "the transfer in SQL")


async def test_a_controller_killed_while_a_transferred_caller_waits_keeps_it_in_the_new_queue(
    tmp_path: Path, db_url: str
) -> None:
    """agent1 (support) answers and transfers the caller to billing, where nobody is
    ready; the controller is killed (SIGKILL) with the caller holding there and started
    again; agent2 (billing) goes ready: the caller is offered to agent2 and answered,
    with one outcome in SQL (agent1's answer in support) and the transfer's events."""
    numbers = await seeded(db_url, agents=2)
    await _one_agent_per_queue(db_url)  # agent1 support, agent2 billing
    sim, cfg = await sim_and_config(tmp_path, db_url, world(numbers), seed=3)
    ivr = tmp_path / "flow.yaml"  # one language, 1 at the main menu: support
    ivr.write_text(FLOW)
    cfg.write_text(with_billing(cfg.read_text()).replace(str(ROOT / "config" / "ivr.yaml"),
                                                         str(ivr)))  # fmt: skip
    agents = await _agent_ids(db_url)
    procs = []
    number = numbers[0]
    try:
        first, base = await start_controller(cfg)
        procs.append(first)
        await _supervise(base, agents["agent1"], "ready")
        caller = sim.world.population.arrive(number, ("1",), patience=900)
        await _answered_and_transferred(db_url, base, number)
        await wait_until(lambda: waiting_again(sim), 60,
                         "the caller back in AsyncAGI after the BlindTransfer")  # fmt: skip
        first.send_signal(signal.SIGKILL)  # no Logoff, no cleanup: a crash
        await first.wait()

        rung: list[str] = []  # the agent phones rung from now on

        def on_event(name: str, data: bytes) -> None:
            if name == "Newchannel" and not headers(data)["Channel"].startswith("PJSIP/trunk"):
                rung.append(headers(data)["Channel"].rsplit("-", 1)[0])

        sim.world.listeners.append(on_event)
        second, base = await start_controller(cfg)
        procs.append(second)
        await _supervise(base, agents["agent2"], "ready")

        async def over() -> bool:
            call, _outcomes, events = await _sql(db_url, number)
            done = any(e.kind == "transfer_outcome" for e in events)
            return call is not None and call.ended_at is not None and done

        await _wait_sql(over, 120, "agent2's visit and the call's end in SQL")
        await wait_until(lambda: caller.outcome, 60, "the caller to be done")
    finally:
        await stop_all(procs, [])
        await sim.close()
    call, outcomes, events = await _sql(db_url, number)
    assert call is not None and caller.talked
    kinds = [e.kind for e in events]
    assert kinds.count("adopted") == 1, "the second controller adopted it"
    assert rung == ["PJSIP/1002"], rung  # offered in billing only, once
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
    numbers = await seeded(db_url, agents=2)
    await _one_agent_per_queue(db_url)  # agent1 support, agent2 billing
    w = world(numbers)  # agent2 talks until the test hangs its phone up
    w["agents"]["phones"]["1002"]["talk_time"] = 3600
    sim, cfg = await sim_and_config(tmp_path, db_url, w, seed=3)
    ivr = tmp_path / "flow.yaml"  # one language, 1 at the main menu: support
    ivr.write_text(FLOW)
    cfg.write_text(with_billing(cfg.read_text()).replace(str(ROOT / "config" / "ivr.yaml"),
                                                         str(ivr)))  # fmt: skip
    agents = await _agent_ids(db_url)
    procs = []
    number = numbers[0]
    try:
        first, base = await start_controller(cfg)
        procs.append(first)
        await _supervise(base, agents["agent1"], "ready")
        await _supervise(base, agents["agent2"], "ready")
        caller = sim.world.population.arrive(number, ("1",), patience=900)
        await _answered_and_transferred(db_url, base, number)

        async def talking() -> bool:
            _call, _outcomes, events = await _sql(db_url, number)
            return any(e.kind == "transfer_answered" for e in events)

        await _wait_sql(talking, 90, "agent2's answer in SQL")
        first.send_signal(signal.SIGKILL)  # no Logoff, no cleanup: a crash
        await first.wait()
        second, base = await start_controller(cfg)
        procs.append(second)

        async def on_call() -> bool:
            return await _agent_state(base, agents["agent2"]) == "talking"

        await _wait_sql(on_call, 90, "agent2 on call after the restart")
        [phone] = [c for c in sim.world.channels.values()
                   if c.role == "agent" and c.agent_key == "1002" and c.bridge is not None]  # fmt: skip
        # agent2's phone hangs up, as pbxsim's talk timer does it (population._talk)
        sim.world.hangup(phone.peer if phone.half == 1 and phone.peer else phone,
                         how="remote", cause=16)  # fmt: skip

        async def over() -> bool:
            call, _outcomes, events = await _sql(db_url, number)
            done = any(e.kind == "transfer_outcome" for e in events)
            return call is not None and call.ended_at is not None and done

        await _wait_sql(over, 120, "agent2's visit and the call's end in SQL")
        await wait_until(lambda: caller.outcome, 60, "the caller to be done")
    finally:
        await stop_all(procs, [])
        await sim.close()
    call, outcomes, events = await _sql(db_url, number)
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
