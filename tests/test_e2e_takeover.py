"""Two controllers on one PostgreSQL database (callcenter.leader): the leader dies or
freezes, the standby takes over, no caller is lost.

Both are ``callcenter run`` processes with configs of their own (their own web port,
journal and AMI user) on one pbxsim over TCP under a steady load; the invariants are
read from pbxsim (the test's own AMI session, :class:`Observer`) and from SQL, never
from the controllers:

- every caller pbxsim saw ends with exactly one outcome; no caller talked to two
  agents, no agent leg was bridged to two callers at once;
- no caller sits in AsyncAGI with nothing driving it longer than
  ``test_e2e_restart_storm.SILENCE_BOUND_S``;
- a leader frozen (SIGSTOP) past its lease, then woken (SIGCONT) after the standby
  took over, sends no AMI action and lands no SQL write: it exits (status 3).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from callcenter.demo import SECRET, AgentDesktop, config_text
from callcenter.storage import Journal, default_journal_path, make_engine
from pbxsim.channels import State
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_observer import Observer, SilenceProbe
from .e2e_support import seeded, wait_until
from .test_e2e_restart import free_port, start_controller, stop_all
from .test_e2e_restart_storm import agent_states, check, sql_calls, world

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
#: the leader's lease in these tests (heartbeat 1 s): a frozen leader is replaced after it
LEASE_S = 4.0
KILLS = int(__import__("os").environ.get("TAKEOVER_KILLS", 10))
#: what a caller can be doing when the leader dies
STATES = ("ivr", "hold", "offer", "talk", "after-call")
SIDES = ("a", "b")


class TwoControllers:
    """pbxsim, and a config per controller (``a``, ``b``) in a folder of its own."""

    def __init__(self, tmp_path: Path, db_url: str, sim: PBXSim) -> None:
        self.db_url = db_url
        self.sim = sim
        self.configs: dict[str, Path] = {}
        (tmp_path / "monitor").mkdir(exist_ok=True)
        for side in SIDES:
            folder = tmp_path / side
            folder.mkdir()
            text = config_text(ami_port=sim.port, database_url=db_url, monitor=tmp_path / "monitor",
                               web_port=free_port(), offer_timeout_s=6, wrap_up_s=1,
                               hold_slice_s=3)  # fmt: skip
            text = text.replace("username: hotline\n", f"username: hotline-{side}\n")
            text += (
                f"leader:\n  enabled: true\n  heartbeat_s: 1.0\n  lease_s: {LEASE_S}\n"
                "  retry_s: 0.25\n"
            )
            self.configs[side] = folder / "hotline.yaml"
            self.configs[side].write_text(text)
        self.procs: list[Any] = []

    async def start(self, side: str) -> tuple[Any, str]:
        proc, base = await start_controller(self.configs[side])
        self.procs.append(proc)
        return proc, base

    async def term(self) -> tuple[int, str | None]:
        """The database's term and which side holds it."""
        engine = make_engine(self.db_url)
        try:
            async with engine.connect() as conn:
                term, holder = (await conn.execute(sa.text(
                    "SELECT term, holder FROM leader_terms WHERE id = 1"))).one()  # fmt: skip
        finally:
            await engine.dispose()
        side = next((s for s in SIDES if holder and f"/{s}/var/" in holder), None)
        return int(term), side

    async def wait_term(self, term: int, timeout: float = 60) -> str:
        """Wait until the database's term is at least ``term``; returns the side leading."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            now, side = await self.term()
            if now >= term and side is not None:
                return side
            await asyncio.sleep(0.1)
        raise AssertionError(f"no leader took term {term} within {timeout} s")

    def actions_of(self, side: str) -> int:
        """AMI actions pbxsim received from ``side``'s controller (all its connections)."""
        return sum(s.actions for s in self.sim.opened if s.user == f"hotline-{side}")


def new_sim(tmp_path: Path, numbers: list[str], seed: int) -> PBXSim:
    """The restart storm's world at a rate three or four agents keep up with (at 40 calls
    a minute the queue grew through the run and outlasted the drain on a loaded machine)."""
    users = {"hotline": SECRET, "hotline-a": SECRET, "hotline-b": SECRET}
    steady = {**world(numbers), "arrivals": {"kind": "poisson", "calls_per_minute": 20}}
    return PBXSim(port=0, users=users, scenario=Scenario.from_dict(steady), seed=seed,
                  spool_dir=tmp_path / "spool", time_scale=3.0)  # fmt: skip


async def journal_marks(db_url: str) -> dict[str, int]:
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT journal_id, applied_seq FROM journal_marks"))
            return {r[0]: int(r[1]) for r in rows}
    finally:
        await engine.dispose()


def held_answers(folder: Path, db_url: str) -> frozenset[str]:
    """The calls whose answer is among the writes left in ``folder``'s journal: written
    by a leader whose term ended first (fenced), never applied."""
    journal = Journal(default_journal_path(db_url, folder / "var"))
    try:
        first = journal.first_pending()
        pending = journal.read(first.seq, 1_000_000) if first is not None else []
    finally:
        journal.close()
    held = set()
    for entry in pending:
        if entry.payload.startswith("!"):  # a write that could not be journaled
            continue
        text = json.dumps(json.loads(entry.payload))
        if "answered_at" in text or '"answered"' in text:
            held.update(re.findall(r"pbxsim:[0-9.]+", text))
    return frozenset(held)


def states_in(sim: PBXSim, agents: dict[str, str]) -> set[str]:
    """What pbxsim's callers (and the agents, as the leader's wallboard shows them) do now."""
    seen = set()
    for ch in sim.world.channels.values():
        if ch.role == "caller" and ch.bridge is not None:
            seen.add("talk")
        elif ch.role == "caller" and ch.moh:
            seen.add("hold")
        elif ch.role == "caller" and ch.agi is not None:
            seen.add("ivr")
        elif ch.role in ("agent", "phone") and ch.state in (State.RING, State.RINGING):
            seen.add("offer")
    if "ringing" in agents.values():
        seen.add("offer")
    if "wrapup" in agents.values():
        seen.add("after-call")
    return seen


async def everyone_hung_up(observer: Observer, timeout: float = 360) -> None:
    await wait_until(lambda: all(c.hung_up for c in observer.callers.values()), timeout,
                     "every caller to end")  # fmt: skip


@ON_POSTGRES
async def test_a_frozen_leader_woken_after_the_takeover_neither_acts_nor_writes(
    tmp_path: Path, db_url: str
) -> None:
    numbers = await seeded(db_url, agents=3)
    sim = new_sim(tmp_path, numbers, seed=31)
    await sim.start()
    rig = TwoControllers(tmp_path, db_url, sim)
    observer = Observer(sim.port)
    await observer.start()
    probe = SilenceProbe(sim)
    probe.start()
    desks: list[AgentDesktop] = []
    try:
        a, base_a = await rig.start("a")
        assert await rig.wait_term(1) == "a"
        b, base_b = await rig.start("b")  # a standby: serves the web, no AMI at all
        desks = [AgentDesktop(base_a, f"agent{i}", f"agent{i}-pass", ready=True) for i in (1, 2, 3)]
        for d in desks:
            d.start()
        states = await agent_states(base_b)  # the standby's pages and API answer
        assert set(states) >= {"1", "2", "3"}
        await wait_until(lambda: sum(c.bridges != [] for c in observer.callers.values()) >= 2
                         and any(not c.hung_up and not c.bridges
                                 for c in observer.callers.values()),
                         120, "calls talking and callers waiting")  # fmt: skip
        assert rig.actions_of("b") == 0, "the standby sent AMI actions"

        loop = asyncio.get_running_loop()
        a.send_signal(signal.SIGSTOP)  # frozen: its socket to PostgreSQL stays open
        frozen = loop.time()
        try:
            assert await rig.wait_term(2, 60) == "b"
            downtime = (frozen, loop.time())
            before = await journal_marks(db_url)
            await wait_until(lambda: rig.actions_of("b") > 0, 60, "the new leader to act")
            end = loop.time() + 60  # the new leader writes: its journal's mark moves
            while (after := await journal_marks(db_url)) == before and loop.time() < end:
                await asyncio.sleep(0.2)
            new_leaders = {j for j in after if after[j] != before.get(j)}
            assert new_leaders, "the new leader wrote nothing"
            acted = rig.actions_of("a")
            marks = await journal_marks(db_url)
        finally:
            a.send_signal(signal.SIGCONT)
        assert await asyncio.wait_for(a.wait(), 60) == 3, "the old leader did not stop"
        held = held_answers(rig.configs["a"].parent, db_url)
        await asyncio.sleep(1.0)
        assert rig.actions_of("a") == acted, "the old leader sent AMI actions after waking"
        moved = {j for j, seq in (await journal_marks(db_url)).items() if seq != marks.get(j)}
        assert moved <= new_leaders, "a write of the old leader landed"
        print(f"old leader: {acted} actions before its freeze, none after")

        sim.world.population.stop_arrivals()
        await everyone_hung_up(observer)
        await asyncio.sleep(2.0)
    finally:
        await stop_all(rig.procs, desks)
        await observer.close()
        await probe.stop()
        await sim.close()
    calls, counts, recs = await sql_calls(db_url)
    # a call answered right before the freeze and over before the takeover: its answer
    # was the old leader's (fenced) write, and no PBX keeps a trace AMI can read
    print(f"answers the fence held back: {len(held)}")
    check(observer, probe, calls, counts, recs, downtimes=[downtime], held=held)


def no_agent_bridged_twice_at_once(observer: Observer) -> None:
    """A caller talked to one agent at most (pbxsim's bridges, the observer's record)."""
    for caller in observer.callers.values():
        assert len(caller.bridges) <= 1, f"{caller.channel} bridged {caller.bridges}"


@ON_POSTGRES
async def test_ten_leader_kills_under_load_lose_no_caller(tmp_path: Path, db_url: str) -> None:
    numbers = await seeded(db_url, agents=4)
    sim = new_sim(tmp_path, numbers, seed=41)
    await sim.start()
    rig = TwoControllers(tmp_path, db_url, sim)
    observer = Observer(sim.port)
    await observer.start()
    probe = SilenceProbe(sim)
    probe.start()
    rng = random.Random(18)
    desks: list[AgentDesktop] = []
    downtimes: list[tuple[float, float]] = []
    killed_in: list[set[str]] = []
    loop = asyncio.get_running_loop()
    try:
        procs = {}
        procs["a"], base_a = await rig.start("a")
        assert await rig.wait_term(1) == "a"
        procs["b"], _ = await rig.start("b")
        bases = {"a": base_a, "b": _}
        desks = [AgentDesktop(base_a, f"agent{i}", f"agent{i}-pass", ready=True)
                 for i in range(1, 5)]  # fmt: skip
        for d in desks:
            d.start()
        term, leader = 1, "a"
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            want = STATES[kill % len(STATES)]  # every state, in turn
            seen: set[str] = set()
            end = loop.time() + 60
            while loop.time() < end:
                seen = states_in(sim, await agent_states(bases[leader]))
                if want in seen:
                    break
                await asyncio.sleep(0.2)
            killed_in.append(seen)
            killed = loop.time()
            procs[leader].send_signal(signal.SIGKILL)
            await procs[leader].wait()
            standby = "b" if leader == "a" else "a"
            assert await rig.wait_term(term + 1) == standby, f"kill {kill}: no takeover"
            downtimes.append((killed, loop.time()))
            procs[leader], bases[leader] = await rig.start(leader)  # the next standby
            term, leader = term + 1, standby
            print(f"kill {kill}: {sorted(seen)}; {standby} leads after "
                  f"{downtimes[-1][1] - killed:.2f} s")  # fmt: skip
        sim.world.population.stop_arrivals()
        try:
            await everyone_hung_up(observer)
        except AssertionError:
            stuck = [(c.channel, c.bridges, round(observer.silences()[c.uniqueid], 1))
                     for c in observer.callers.values() if not c.hung_up]  # fmt: skip
            raise AssertionError(f"callers still up: {stuck}") from None
        await asyncio.sleep(2.0)
    finally:
        await stop_all(rig.procs, desks)
        await observer.close()
        await probe.stop()
        await sim.close()
    missing = set(STATES) - set().union(*killed_in)
    assert not missing, f"no kill caught a call in {missing}: {killed_in}"
    calls, counts, recs = await sql_calls(db_url)
    print(f"{len(observer.callers)} callers, {KILLS} kills, "
          f"{sum(1 for c in calls.values() if c.outcome == 'answered')} answered")  # fmt: skip
    no_agent_bridged_twice_at_once(observer)
    check(observer, probe, calls, counts, recs, downtimes=downtimes)
