"""Ring-all end to end: pbxsim over real TCP AMI, the controller, SQLite and PostgreSQL.

A ring-all queue with three agents: every phone rings at once, each leg originated into
``[agent-ring-all]``, where an answered leg waits unbridged. The first answer is sent to
its ``Bridge()`` (a Redirect); the other legs are hung up (one of them answers a moment
after the first, the third never does). The caller talks to exactly one agent, the call
has one outcome in SQL, and the two others are READY again, not paused, although every
failure kind pauses at once here (``acd.pause_after``).

Then the controller is killed (SIGKILL) while a ring-all call rings, and one agent picks
up while no controller runs: that leg waits, unbridged, nobody pulls the caller. The
restarted controller hangs up the dead run's legs, adopts the caller back in line and
rings it again; one agent talks to it and the call gets one outcome.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from callcenter.demo import AgentDesktop
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import AgentStateChange, Call, CallEvent, QueueOutcome
from pbxsim.scenario import Agent, Dist

from .e2e_support import hotline_rig, scenario, wait_until
from .test_e2e_restart import sim_and_config, start_controller, stop_all

PHONES = ("1001", "1002", "1003")


def _ring_all(text: str) -> str:
    """The demo config with its queue ringing all, and every failure pausing at once."""
    old = "queues:\n  - name: support\n"
    assert text.count(old) == 1
    return text.replace(old, (
        "acd:\n  pause_after: {no-answer: 1, busy: 1, failed: 1, no-report: 1}\n"
        "queues:\n  - name: support\n    strategy: ring-all\n"
    ))  # fmt: skip


def _one_caller(numbers: list[str], phones: dict[str, Any]) -> dict[str, Any]:
    calls = [{"at": 1, "number": numbers[0], "digits": ["1", "1"], "patience": 900}]
    return scenario(numbers, arrivals={"kind": "trace", "calls": calls},
                    agents={"default": {"answer_delay": 1, "talk_time": [3, 4]},
                            "phones": phones})  # fmt: skip


def _headers(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in data.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            out.setdefault(key, value)
    return out


class Seen:
    """What pbxsim emitted: agent phones rung, channels entering bridges, hang-up causes."""

    def __init__(self) -> None:
        self.rung: list[str] = []
        self.bridged: list[str] = []
        self.causes: dict[str, str] = {}
        #: agent legs that ran the dialplan's own Hangup() after their Wait in
        #: [agent-ring-all]: nobody picked or hung them up
        self.left_waiting: list[str] = []
        #: agent legs that answered and waited in [agent-ring-all]
        self.waited: list[str] = []

    def __call__(self, name: str, data: bytes) -> None:
        if name not in ("DialBegin", "BridgeEnter", "Hangup", "Newexten"):
            return
        h = _headers(data)
        if name == "Newexten" and h.get("Context") == "agent-ring-all" and h.get("Exten") == "s":
            if h.get("Application") == "Wait":
                self.waited.append(h["Channel"])
            elif h.get("Application") == "Hangup":
                self.left_waiting.append(h["Channel"])
        if name == "DialBegin" and h.get("DestChannel", "").startswith("PJSIP/10"):
            self.rung.append(h["DestChannel"].split("/")[1].rsplit("-", 1)[0])
        elif name == "BridgeEnter":
            self.bridged.append(h["Channel"])
        elif name == "Hangup":
            self.causes[h["Uniqueid"]] = h["Cause"]

    def agents_bridged(self) -> list[str]:
        return [c for c in self.bridged if c.startswith("PJSIP/10")]


def _agent_legs(sim: Any) -> list[Any]:
    return [c for c in sim.world.channels.values() if c.name.startswith("PJSIP/10")]


async def _sql(db_url: str) -> tuple[list[Call], dict[str, int], list[str], list[str]]:
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        async with store.sessions() as s:
            calls = list(await s.scalars(select(Call)))
            counts = dict((await s.execute(
                select(QueueOutcome.call_id, func.count()).group_by(QueueOutcome.call_id))).all())  # fmt: skip
            kinds = list(await s.scalars(select(CallEvent.kind)))
            states = list(await s.scalars(select(AgentStateChange.new)))
    finally:
        await engine.dispose()
    return calls, counts, kinds, states


async def _all_ready(db_url: str, timeout: float = 60) -> None:
    """Wait until SQL says the three agents are ready (their desks said so)."""
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        end = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < end:
            async with store.sessions() as s:
                rows = (await s.execute(select(AgentStateChange.agent_id, AgentStateChange.new)
                                        .order_by(AgentStateChange.id))).all()  # fmt: skip
            latest = dict(rows)
            if len(latest) >= 3 and all(v == "ready" for v in latest.values()):
                return
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    raise AssertionError("the three agents never got ready")


async def test_ring_all_rings_three_one_answers_the_others_are_hung_up_and_ready(
    tmp_path: Path, db_url: str
) -> None:
    # 1001 and 1002 answer together: the one heard second is hung up, answered or not
    phones = {"1001": {"answer_delay": 1.0}, "1002": {"answer_delay": 1.0},
              "1003": {"no_answer_probability": 1.0}}  # fmt: skip
    seen = Seen()
    async with hotline_rig(tmp_path, db_url, lambda n: _one_caller(n, phones), agents=3,
                           edit_config=_ring_all, offer_timeout_s=20) as rig:  # fmt: skip
        rig.sim.world.listeners.append(seen)
        ctl = rig.ctl
        ids = {a.username: str(a.id) for a in await rig.hotline.store.list_agents()}
        agent_of = {f"100{i}": ids[f"agent{i}"] for i in (1, 2, 3)}
        await wait_until(lambda: len(seen.rung) >= 3, 90, "three phones to ring")
        assert sorted(seen.rung) == list(PHONES), "all three at once, each once"
        await wait_until(lambda: seen.agents_bridged(), 60, "an agent to be bridged")
        [call] = ctl.calls.values()
        winner = next(p for p, a in agent_of.items() if a == call.agent_id)
        assert seen.agents_bridged()[0].startswith(f"PJSIP/{winner}-")
        losers = [p for p in PHONES if p != winner]
        await wait_until(lambda: {c.name.split("/")[1].rsplit("-", 1)[0]
                                  for c in _agent_legs(rig.sim)} == {winner},
                         30, "the other legs to be hung up")  # fmt: skip
        for phone in losers:
            state = ctl.core.agent(agent_of[phone], ctl.now()).state.value
            assert state == "ready", (phone, state)
        await wait_until(lambda: ctl.counters["outcomes"] >= 1 and not ctl.calls, 90,
                         "the call to end")  # fmt: skip
        assert len(seen.agents_bridged()) == 1, seen.bridged
        assert sorted(seen.rung) == list(PHONES), "nobody rang twice"
        assert not seen.left_waiting, f"legs left waiting, never hung up: {seen.left_waiting}"
        await rig.hotline.writer.flush()
    calls, counts, _, states = await _sql(db_url)
    [row] = calls
    assert (row.outcome, counts.get(row.id), str(row.agent_id)) == (
        "answered", 1, agent_of[winner])  # fmt: skip
    assert "paused" not in states, states


async def test_a_controller_killed_while_ring_all_rings_strands_nobody(
    tmp_path: Path, db_url: str
) -> None:
    from .e2e_support import seeded

    numbers = await seeded(db_url, agents=3)
    # every phone rings until its leg is hung up (or its Timeout): nobody answers by itself
    ringing = {p: {"no_answer_probability": 1.0} for p in PHONES}
    world = _one_caller(numbers, ringing)
    world["arrivals"] = {"kind": "trace", "calls": []}  # the caller comes once all are ready
    sim, cfg = await sim_and_config(tmp_path, db_url, world, seed=3)
    cfg.write_text(_ring_all(cfg.read_text().replace("offer_timeout_s: 6", "offer_timeout_s: 30")))
    seen = Seen()
    sim.world.listeners.append(seen)
    procs: list[Any] = []
    desks: list[AgentDesktop] = []

    def ready_desks(base: str) -> list[AgentDesktop]:
        out = [AgentDesktop(base, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2, 3)]
        for d in out:
            d.start()
        return out

    try:
        first, base = await start_controller(cfg)
        procs.append(first)
        desks = ready_desks(base)
        await _all_ready(db_url)
        sim.world.population.arrive(numbers[0], ("1", "1"), patience=900)
        await wait_until(lambda: len(_agent_legs(sim)) == 3, 90, "three phones to ring")
        dead_legs = {c.uniqueid: c for c in _agent_legs(sim)}
        first.send_signal(signal.SIGKILL)  # no Logoff: a crash while all three ring
        await first.wait()
        for d in desks:
            await d.stop()
        # agent 1002 picks up while no controller runs: the leg waits, nobody bridges
        picked_up = next(c for c in dead_legs.values() if c.name.startswith("PJSIP/1002-"))
        sim.world.answer(picked_up)
        await wait_until(lambda: picked_up.context == "agent-ring-all", 30,
                         "the answered leg to wait in [agent-ring-all]")  # fmt: skip
        await asyncio.sleep(0.5)
        assert not seen.agents_bridged(), "an answered leg bridged with no controller to pick it"
        # from now on the phones answer (the next legs)
        answering = {p: Agent(answer_delay=Dist("fixed", 1.0 + i * 0.2),
                              talk_time=Dist("uniform", 3.0, 4.0))
                     for i, p in enumerate(PHONES)}  # fmt: skip
        pop = sim.world.population
        pop.scenario = dataclasses.replace(pop.scenario, agents=answering)

        second, base = await start_controller(cfg)
        procs.append(second)
        desks = ready_desks(base)
        await wait_until(lambda: not set(dead_legs) & {c.uniqueid for c in _agent_legs(sim)},
                         60, "the dead run's legs to be hung up")  # fmt: skip
        for uid, ch in dead_legs.items():
            if ch is not picked_up:  # hung up by the new controller: it never rang out (19)
                assert seen.causes.get(uid) not in (None, "19"), (ch.name, seen.causes.get(uid))
        await wait_until(lambda: len(seen.agents_bridged()) >= 1, 90,
                         "the caller to ring again and be answered")  # fmt: skip
        await wait_until(lambda: not any(c.role == "caller" for c in sim.world.channels.values()),
                         120, "the call to end")  # fmt: skip
        await asyncio.sleep(1.0)
        assert len(seen.agents_bridged()) == 1, seen.bridged
        assert picked_up.name in seen.waited
        assert not seen.left_waiting, f"legs left waiting, never hung up: {seen.left_waiting}"
    finally:
        await stop_all(procs, desks)
        await sim.close()
    calls, counts, kinds, states = await _sql(db_url)
    [row] = calls
    assert (row.outcome, counts.get(row.id)) == ("answered", 1), (row.outcome, counts)
    assert row.agent_id is not None
    assert "adopted" in kinds, "the restarted controller never picked the caller up"
    assert "paused" not in states, states
