"""Two controllers on one PostgreSQL database (callcenter.leader): the leader dies or
freezes, the standby takes over, no caller is lost.

Both are ``callcenter run`` processes with configs of their own (their own web port,
journal and AMI user) under a steady load: on one pbxsim over TCP (the frozen leader),
or on two trunked pbxsim nodes with agents homed on both and callers arriving on both
(the kills, issue 18's "two controllers, several PBXs"). The invariants are read from
pbxsim (the test's own AMI session per node, :class:`Observer`; pbxsim's own events)
and from SQL, never from the controllers:

- every caller each pbxsim saw ends with exactly one outcome; no caller talked to two
  agents, no agent's phone was bridged to two callers at once;
- no caller sits in AsyncAGI with nothing driving it longer than
  ``test_e2e_restart_storm.SILENCE_BOUND_S``;
- a leader frozen (SIGSTOP) past its lease, then woken (SIGCONT) after the standby
  took over, sends no AMI action and lands no SQL write: it exits (status 3);
- each agent has a desk on the standby's ``/ws/agent`` (moved to the new standby after
  each kill): the screen-pop of every call offered to the agent while the desk was on
  a standby reaches it over the live fan-out (``web.fanout_url``), see
  :func:`pops_on_the_standby`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa

from callcenter.demo import SECRET, AgentDesktop, config_text
from callcenter.storage import Journal, default_journal_path, make_engine
from pbxsim.channels import State
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_observer import Observer, SilenceProbe
from .e2e_support import seeded, wait_until
from .redis_support import PrivateRedis
from .test_e2e_pbxs import HOMED, HOMES, NODES, outcome_rows, trunk_sim_args, two_node_config
from .test_e2e_restart import free_port, start_controller, stop_all
from .test_e2e_restart_storm import agent_states, check, sql_calls, world

ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
#: the leader's lease in these tests (heartbeat 1 s): a frozen leader is replaced after it
LEASE_S = 4.0
KILLS = int(__import__("os").environ.get("TAKEOVER_KILLS", 10))
#: what a caller can be doing when the leader dies
STATES = ("ivr", "hold", "offer", "talk", "after-call")
SIDES = ("a", "b")


USERS = {"hotline": SECRET, "hotline-a": SECRET, "hotline-b": SECRET}


class TwoControllers:
    """pbxsim (one, or two nodes named as in ``test_e2e_pbxs.NODES``), and a config per
    controller (``a``, ``b``) in a folder of its own. ``fanout_url``: both publish live
    messages on that Redis (and, standing by, follow them: ``web.fanout_url``)."""

    def __init__(self, tmp_path: Path, db_url: str, sim: PBXSim | Mapping[str, PBXSim],
                 *, fanout_url: str | None = None) -> None:  # fmt: skip
        self.db_url = db_url
        self.sims = {"pbxsim": sim} if isinstance(sim, PBXSim) else dict(sim)
        self.configs: dict[str, Path] = {}
        (tmp_path / "monitor").mkdir(exist_ok=True)
        one = sim.port if isinstance(sim, PBXSim) else 0
        for side in SIDES:
            folder = tmp_path / side
            folder.mkdir()
            text = config_text(ami_port=one, database_url=db_url, monitor=tmp_path / "monitor",
                               web_port=free_port(), offer_timeout_s=6, wrap_up_s=1,
                               hold_slice_s=3)  # fmt: skip
            if one == 0:  # two nodes: agents homed on both, a trunk each way
                text = two_node_config(text, {n: s.port for n, s in self.sims.items()}, HOMED)
            text = text.replace("username: hotline\n", f"username: hotline-{side}\n")
            text += (
                f"leader:\n  enabled: true\n  heartbeat_s: 1.0\n  lease_s: {LEASE_S}\n"
                "  retry_s: 0.25\n"
            )
            if fanout_url is not None:
                text = text.replace("web:\n", f"web:\n  fanout_url: {fanout_url}\n", 1)
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
        return sum(s.actions for sim in self.sims.values() for s in sim.opened
                   if s.user == f"hotline-{side}")  # fmt: skip


def first_action_after(sim: PBXSim, side: str, after: float) -> float | None:
    """pbxsim's time (``time.monotonic()``, the loop's clock) of ``side``'s first AMI
    action later than ``after``: its Login, the start of its resync."""
    times = [
        t
        for s in sim.opened
        if s.user == f"hotline-{side}" and (t := s.first_action_at) is not None and t > after
    ]
    return min(times) if times else None


async def wait_first_action(sim: PBXSim, side: str, after: float, timeout: float = 120) -> float:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while (t := first_action_after(sim, side, after)) is None:
        if loop.time() > end:
            raise AssertionError(f"controller {side} sent no AMI action within {timeout} s")
        await asyncio.sleep(0.02)
    return t


def new_sim(tmp_path: Path, numbers: list[str], seed: int) -> PBXSim:
    """The restart storm's world at a rate three or four agents keep up with (at 40 calls
    a minute the queue grew through the run and outlasted the drain on a loaded machine)."""
    steady = {**world(numbers), "arrivals": {"kind": "poisson", "calls_per_minute": 20}}
    return PBXSim(port=0, users=USERS, scenario=Scenario.from_dict(steady), seed=seed,
                  spool_dir=tmp_path / "spool", time_scale=3.0)  # fmt: skip


def trunked_sims(tmp_path: Path, numbers: list[str], seed: int) -> dict[str, PBXSim]:
    """Two pbxsim nodes, a trunk each way, the same world at half the rate on each: the
    load of :func:`new_sim` shared by the nodes."""
    steady = {**world(numbers), "arrivals": {"kind": "poisson", "calls_per_minute": 10}}
    args = trunk_sim_args()
    return {node: PBXSim(port=0, users=USERS, scenario=Scenario.from_dict(steady),
                         seed=seed + i, spool_dir=tmp_path / f"spool-{node}", time_scale=3.0,
                         **args(node))
            for i, node in enumerate(NODES)}  # fmt: skip


async def sql_rows(db_url: str, query: str) -> list[Any]:
    """The rows of ``query`` on the test's database (an engine of its own)."""
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            return list(await conn.execute(sa.text(query)))
    finally:
        await engine.dispose()


async def journal_marks(db_url: str) -> dict[str, int]:
    rows = await sql_rows(db_url, "SELECT journal_id, applied_seq FROM journal_marks")
    return {r[0]: int(r[1]) for r in rows}


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


class AgentPhones:
    """Every agent phone's channels in a bridge now, on every node, from pbxsim's own
    events (``world.listeners``): a phone's channel is ``<device>-<n>`` on the node it
    is homed on (an agent across the trunk too). ``twice``: each moment a phone had two
    channels bridged at once."""

    def __init__(self, sims: Mapping[str, PBXSim]) -> None:
        self.devices = {d for homed in HOMES.values() for d in homed}
        self.bridged: dict[str, set[str]] = {d: set() for d in self.devices}
        self.talks = 0
        self.twice: list[tuple[str, set[str]]] = []
        for sim in sims.values():
            sim.world.listeners.append(self._on_event)

    def _on_event(self, name: str, data: bytes) -> None:
        if name not in ("BridgeEnter", "BridgeLeave", "Hangup"):
            return
        found = re.search(rb"\r\nChannel: ([^\r]+)\r\n", data)
        channel = found.group(1).decode() if found else ""
        device = channel.rpartition("-")[0]
        if device not in self.devices:
            return
        if name == "BridgeEnter":
            if self.bridged[device] - {channel}:
                self.twice.append((device, self.bridged[device] | {channel}))
            self.bridged[device].add(channel)
            self.talks += 1
        else:
            self.bridged[device].discard(channel)


@dataclass
class StandbyDesk:
    """One agent's desk on the standby's ``/ws/agent`` (logged in as ``AgentDesktop``
    does, no clicks): the screen-pops it gets, and on which connection."""

    username: str
    #: (connection, call id, loop time received)
    pops: list[tuple[int, str, float]] = field(default_factory=list)
    #: per connection: the side it went to, and its first message's time (loop clock)
    connections: list[tuple[str, float]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def connect(self, side: str, base: str) -> None:
        """Leave the node it is on, and connect to ``base`` until the next ``connect``."""
        await self.stop()
        opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.task = asyncio.create_task(self._run(side, base, opened), name=self.username)
        await asyncio.wait_for(opened, 60)

    async def _run(self, side: str, base: str, opened: asyncio.Future[None]) -> None:
        loop = asyncio.get_running_loop()
        try:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                login = {"username": self.username, "password": f"{self.username}-pass"}
                async with http.post(f"{base}/login", data=login, allow_redirects=False) as resp:
                    assert resp.status in (200, 302, 303), resp.status
                async with http.ws_connect(f"{base}/ws/agent", origin=base) as ws:
                    conn = len(self.connections)
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            continue
                        data = json.loads(msg.data)
                        if not opened.done():  # the first message: the agent's state
                            self.connections.append((side, loop.time()))
                            opened.set_result(None)
                        elif data.get("type") == "screen_pop":
                            self.pops.append((conn, data["call_id"], loop.time()))
        except Exception as exc:
            if not opened.done():
                opened.set_exception(exc)
            raise

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None


async def fanout_up(base: str, timeout: float = 60) -> None:
    """Wait until the node's /healthz says its fan-out link is up (whatever else it says:
    a standby has no AMI link)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    async with aiohttp.ClientSession() as http:
        while loop.time() < end:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as resp:
                    if ((await resp.json()).get("fanout") or {}).get("up"):
                        return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{base}: the fan-out link not up within {timeout} s")


def pops_on_the_standby(desks: list[StandbyDesk], ids: dict[str, str],
                        standby_until: list[float], observers: Mapping[str, Observer],
                        answered_by: dict[str, str]) -> tuple[list[str], list[str], int]:  # fmt: skip
    """The calls whose screen-pop a desk on the standby must have got, and those it did
    not get; with how many got it before pbxsim saw the agent answer (not asserted: a
    race between Redis and the phone).

    A call must: it arrived (the observer's first sight of the caller) after its agent's
    desk was connected to a standby, and it ended (the caller hung up) before that
    standby's lead began (the kill of the leader): the leader offering it lived through
    the whole call, so its pop was published, and the standby was one the whole time.
    Its agent is the one SQL says answered it. ``standby_until[k]``: the loop time the
    standby of the desks' ``k``-th connection stopped being one."""
    must, missed, early = [], [], 0
    for desk in desks:
        agent = ids[desk.username]
        for conn, (_side, since) in enumerate(desk.connections):
            until = standby_until[conn]
            got = {call_id: at for c, call_id, at in desk.pops if c == conn}
            for node, observer in observers.items():
                for uid, caller in observer.callers.items():
                    call_id = f"{node}:{uid}"
                    if (
                        answered_by.get(call_id) != agent
                        or caller.arrived_at <= since
                        or caller.hung_up_at is None
                        or caller.hung_up_at >= until
                    ):
                        continue  # fmt: skip
                    must.append(call_id)
                    if call_id not in got:
                        missed.append(call_id)
                    elif caller.bridged_at is not None and got[call_id] < caller.bridged_at:
                        early += 1
    return must, missed, early


async def agent_ids(db_url: str) -> dict[str, str]:
    return {r[1]: str(r[0]) for r in await sql_rows(db_url, "SELECT id, username FROM agents")}


@ON_POSTGRES
async def test_ten_leader_kills_on_two_pbx_nodes_lose_no_caller(
    tmp_path: Path, db_url: str, private_redis: PrivateRedis
) -> None:
    numbers = await seeded(db_url, agents=4)
    sims = trunked_sims(tmp_path, numbers, seed=41)
    for sim in sims.values():
        await sim.start()
    rig = TwoControllers(tmp_path, db_url, sims, fanout_url=private_redis.url)
    observers = {node: Observer(sim.port) for node, sim in sims.items()}
    probes = {node: SilenceProbe(sim) for node, sim in sims.items()}
    phones = AgentPhones(sims)
    for node in NODES:
        await observers[node].start()
        probes[node].start()
    rng = random.Random(18)
    desks: list[AgentDesktop] = []
    on_standby = [StandbyDesk(f"agent{i}") for i in range(1, 5)]
    #: per standby the desks connected to, when it stopped being one (loop clock)
    standby_until: list[float] = []
    #: per node: each kill, and the new leader's first AMI action there (its resync)
    downtimes: dict[str, list[tuple[float, float]]] = {node: [] for node in NODES}
    killed_in: list[set[str]] = []
    loop = asyncio.get_running_loop()

    async def to_the_standby(side: str, base: str) -> None:
        await fanout_up(base)
        for desk in on_standby:
            await desk.connect(side, base)

    try:
        procs, bases = {}, {}
        procs["a"], bases["a"] = await rig.start("a")
        assert await rig.wait_term(1) == "a"
        procs["b"], bases["b"] = await rig.start("b")
        # the agents click Ready once, on the first leader (their state survives the kills)
        desks = [AgentDesktop(bases["a"], f"agent{i}", f"agent{i}-pass", ready=True)
                 for i in range(1, 5)]  # fmt: skip
        for d in desks:
            d.start()
        await to_the_standby("b", bases["b"])
        term, leader = 1, "a"
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            want = STATES[kill % len(STATES)]  # every state, in turn
            seen: set[str] = set()
            end = loop.time() + 60
            while loop.time() < end:
                board = await agent_states(bases[leader])
                seen = set().union(*(states_in(sim, board) for sim in sims.values()))
                if want in seen:
                    break
                await asyncio.sleep(0.2)
            killed_in.append(seen)
            killed = loop.time()
            procs[leader].send_signal(signal.SIGKILL)
            await procs[leader].wait()
            standby_until.append(killed)
            standby = "b" if leader == "a" else "a"
            assert await rig.wait_term(term + 1) == standby, f"kill {kill}: no takeover"
            took = loop.time() - killed
            for node, sim in sims.items():
                downtimes[node].append((killed, await wait_first_action(sim, standby, killed)))
            procs[leader], bases[leader] = await rig.start(leader)  # the next standby
            await to_the_standby(leader, bases[leader])
            term, leader = term + 1, standby
            acted = max(downtimes[node][-1][1] for node in NODES) - killed
            print(f"kill {kill}: {sorted(seen)}; {standby} leads after {took:.2f} s, "
                  f"acts on both nodes after {acted:.2f} s")  # fmt: skip
        # the last standby stays one to the end: callers arriving now are offered while
        # the desks are on it (the calls pops_on_the_standby judges)
        since = max(d.connections[-1][1] for d in on_standby)
        await wait_until(lambda: sum(c.arrived_at > since and c.bridges != [] and c.hung_up
                                     for o in observers.values() for c in o.callers.values())
                         >= 6, 300, "six calls answered and over since the desks moved")  # fmt: skip
        for sim in sims.values():
            sim.world.population.stop_arrivals()
        try:
            for observer in observers.values():
                await everyone_hung_up(observer)
        except AssertionError:
            stuck = [(c.channel, c.bridges, round(o.silences()[c.uniqueid], 1))
                     for o in observers.values() for c in o.callers.values()
                     if not c.hung_up]  # fmt: skip
            raise AssertionError(f"callers still up: {stuck}") from None
        await asyncio.sleep(2.0)
        standby_until.append(loop.time())
    finally:
        for desk in on_standby:
            await desk.stop()
        await stop_all(rig.procs, desks)
        for node in NODES:
            await observers[node].close()
            await probes[node].stop()
        for sim in sims.values():
            await sim.close()
    missing = set(STATES) - set().union(*killed_in)
    assert not missing, f"no kill caught a call in {missing}: {killed_in}"
    calls, counts, recs = await sql_calls(db_url)
    answered = {node: sum(1 for k, c in calls.items() if k.startswith(f"{node}:")
                          and c.outcome == "answered") for node in NODES}  # fmt: skip
    print(f"{sum(len(o.callers) for o in observers.values())} callers "
          f"({', '.join(f'{n} {len(o.callers)}' for n, o in observers.items())}), "
          f"{KILLS} kills, answered {answered}; agent phones bridged {phones.talks} times")  # fmt: skip
    for node in NODES:
        check(observers[node], probes[node], calls, counts, recs, downtimes=downtimes[node],
              node=node)  # fmt: skip
    assert all(answered.values()), f"a node had no answered call: {answered}"
    assert not phones.twice, f"an agent's phone bridged to two callers at once: {phones.twice}"
    ids = await agent_ids(db_url)
    answered_by = {o.call_id: str(o.agent_id) for o in await outcome_rows(db_url)
                   if o.outcome == "answered" and o.agent_id is not None}  # fmt: skip
    must, missed, early = pops_on_the_standby(on_standby, ids, standby_until, observers,
                                              answered_by)  # fmt: skip
    print(f"screen-pops on the standby: {len(must) - len(missed)} of the {len(must)} calls "
          f"offered while a desk was on it and over before its lead; {early} before the "
          f"agent answered; desks' pops: {[len(d.pops) for d in on_standby]}")  # fmt: skip
    assert len(must) >= 6, f"too few calls to judge the standby's screen-pops: {must}"
    assert not missed, f"screen-pops that never reached the desk on the standby: {missed}"
