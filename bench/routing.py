"""ACD routing at scale: decision latency of the pure core beside a naive full scan.

    .venv/bin/python bench/routing.py                   # 1,000 / 5,000 / 15,000 agents
    .venv/bin/python bench/routing.py --json            # last line: one JSON object
    .venv/bin/python bench/routing.py --agents 200 --queues 100 --waiting 50 --decisions 200

What it does, per size (agents x queues, ``--waiting`` calls in line):

- builds a seeded configuration: each agent serves 3-10 random queues (with a
  random penalty 0-1 on some), has 2-5 random skills of 50 plus, 8 times in
  10, each skill a queue it serves requires, at levels 1-5; each queue
  requires 0-2 skills at levels 1-3, relaxes them by 1 after 30 s and drops
  them after 120 s, ages priority at 1/60 per second, and has one of the nine
  strategies (cycled over the queues: one in nine is longest-idle);
- fills it: every agent logged in, then calls queued in random queues that
  have members (priority 0 or, one in ten, 1; every offer answered at once)
  until ``--waiting`` wait (the agents left READY fit none of them);
- times ``--decisions`` routing decisions, alternating (a) a conversation ends
  (``CallEnded``, wrap-up 0): the agent is READY and takes the most due call
  it fits across its queues, and (b) a new call arrives in a random queue and
  goes to a READY agent who fits or waits; untimed arrivals then top the line
  up to ``--waiting`` again. The clock moves 50 ms per step and
  due timers (skill relaxation) are fired, untimed. Each decision's time is the
  whole ``Acd.handle`` call, commands included, on the wall clock (p50/p99)
  and in thread CPU time (cpu_p50/cpu_p99: on a shared machine the wall-clock
  tail includes time the process was descheduled);
- times, for each of those decisions and on the same state just before it, a
  naive full scan: (a) every call in the core for the most due WAITING call of
  the agent's queues that it fits; (b) every agent for the READY members of
  the call's queue who fit, longest idle first. The scan reads the core's own
  records, so it pays for no bookkeeping, no state change and no commands:
  the ratio flatters the scan;
- checks that both agree where the naive scan knows the rule: every (a), and
  (b) in longest-idle queues (exit 1 otherwise);
- times ``Acd.snapshot(now)`` (every agent, call and queue) and a snapshot of
  10 queues (``snapshot(now, queues=...)``), median of 5.

What it does not measure: the shell (AMI, SQL, WebSocket) around the core;
offers that fail or time out, pauses, logins and the on_timer path (they run
the same routing code); ring-all (several legs per call, not a one-pick
decision the naive scan can check); queues with thousands of
members (here about 3 to 30 each: a queue's own READY agents are walked,
so a single queue of 15,000 READY agents with skills nobody has would cost
more); memory; a cold process (a warm-up of 200 decisions is not timed);
garbage-collector pauses are included as they fall.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd import (  # noqa: E402
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentState,
    CallEnded,
    CallQueued,
    CallState,
    OfferAnswered,
    OfferCall,
    QueueConfig,
    RelaxStep,
    Strategy,
)
from acd.skills import fits  # noqa: E402

SKILLS = [f"s{i:02d}" for i in range(50)]
# ring-all rings several agents per call: not a one-pick decision the naive scan can check
STRATEGIES = [s for s in Strategy if s is not Strategy.RING_ALL]
DT = 0.05


@dataclass
class Size:
    agents: int
    queues: int
    waiting: int


def build_config(size: Size, seed: int) -> AcdConfig:
    rng = random.Random(seed)
    queues = []
    for i in range(size.queues):
        k = rng.choice((0, 1, 1, 1, 2))
        skills = {s: rng.randint(1, 3) for s in rng.sample(SKILLS, k)}
        queues.append(
            QueueConfig(
                f"q{i}",
                wrap_up_s=0.0,
                strategy=STRATEGIES[i % len(STRATEGIES)],
                skills=skills,
                relax=(RelaxStep(30.0, 1), RelaxStep(120.0, 5)),
                aging_per_s=1 / 60,
            )
        )
    agents = []
    for i in range(size.agents):
        served = rng.sample(range(size.queues), rng.randint(3, 10))
        names = [f"q{q}" for q in served]
        # mostly skilled for the queues served (8 in 10 per required skill), plus a few others
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(2, 5))}
        for q in served:
            for skill in queues[q].skills:
                if rng.random() < 0.8:
                    skills[skill] = max(skills.get(skill, 0), rng.randint(1, 5))
        penalties = {n: 1 for n in names if rng.random() < 0.2}
        weights = {n: rng.randint(1, 5) for n in names}
        agents.append(
            AgentConfig(f"a{i}", f"A{i}", f"PJSIP/{i}", names, skills, penalties, weights)
        )
    return AcdConfig(queues=tuple(queues), agents=tuple(agents), seed=seed)


class Run:
    """One size: the core, the clock, and who talks to whom."""

    def __init__(self, size: Size, seed: int) -> None:
        self.size = size
        self.rng = random.Random(seed + 1)
        self.config = build_config(size, seed)
        self.acd = Acd(self.config)
        self.now = 0.0
        self.talking: dict[str, str] = {}  # agent -> call
        # the same agents in a list, for a random pick in O(1): copying 13,000 of
        # them into a list before each decision evicted the caches it is timed on
        self.talkers: list[str] = []
        self.talker_at: dict[str, int] = {}
        self.seq = 0
        served = {q for a in self.config.agents for q in a.queues}
        self.routable = sorted(served, key=lambda q: int(q[1:]))
        self.strategy = {q.name: q.strategy for q in self.config.queues}

    def feed(self, event: object) -> list[object]:
        cmds = self.acd.handle(event, self.now)  # type: ignore[arg-type]
        self.answer(cmds)
        return cmds

    def answer(self, cmds: Iterable[object]) -> None:
        for cmd in cmds:
            if isinstance(cmd, OfferCall):
                self.acd.handle(OfferAnswered(cmd.call_id, cmd.agent_id), self.now)
                self.talking[cmd.agent_id] = cmd.call_id
                self.talker_at[cmd.agent_id] = len(self.talkers)
                self.talkers.append(cmd.agent_id)

    def hang_up(self) -> tuple[str, str]:
        """A random talking agent, and its call: they are no longer talking."""
        i = self.rng.randrange(len(self.talkers))
        agent_id, last = self.talkers[i], self.talkers.pop()
        if last != agent_id:
            self.talkers[i] = last
            self.talker_at[last] = i
        del self.talker_at[agent_id]
        return agent_id, self.talking.pop(agent_id)

    def new_call(self) -> CallQueued:
        self.seq += 1
        queue = self.rng.choice(self.routable)
        priority = 1 if self.rng.random() < 0.1 else 0
        return CallQueued(f"c{self.seq}", queue, "100", priority)

    def tick(self) -> None:
        self.now += DT
        due = self.acd.next_timer()
        if due is not None and due <= self.now:
            self.answer(self.acd.on_timer(self.now))

    def fill(self) -> None:
        for agent in self.config.agents:
            self.feed(AgentLogin(agent.agent_id))
        while self.waiting() < self.size.waiting:
            self.feed(self.new_call())

    def waiting(self) -> int:
        # every offer is answered at once: a call in the core waits or talks
        return len(self.acd._calls) - len(self.talking)

    # -- the naive full scans (same state, read from the core's records) ------

    def naive_call_for(self, agent_id: str) -> str | None:
        agent = self.acd._agents[agent_id]
        mine = set(agent.config.queues)
        skills = agent.config.skills
        best = None
        best_key = None
        for call in self.acd._calls.values():
            if call.state is not CallState.WAITING or call.queue not in mine:
                continue
            if not fits(skills, call.needs):
                continue
            rate = self.acd._queues[call.queue].aging_per_s
            key = (
                -(call.priority + (self.now - call.entered_at) * rate),
                call.entered_at,
                call.seq,
            )
            if best_key is None or key < best_key:
                best, best_key = call.call_id, key
        return best

    def naive_agent_for(self, event: CallQueued) -> str | None:
        queue = self.acd._queues[event.queue]
        needs = tuple(sorted(queue.skills.items()))
        best = None
        best_key = None
        for agent in self.acd._agents.values():
            if agent.state is not AgentState.READY or event.queue not in agent.config.queues:
                continue
            if not fits(agent.config.skills, needs):
                continue
            key = (agent.config.penalties.get(event.queue, 0), agent.idle_since, agent.order)
            if best_key is None or key < best_key:
                best, best_key = agent.agent_id, key
        return best


def _pass(size: Size, decisions: int, seed: int, naive: bool) -> dict[str, object]:
    """One run of the workload; times ``handle`` (naive=False) or the scans (naive=True)."""
    run = Run(size, seed)
    t0 = time.perf_counter()
    run.fill()
    fill_s = time.perf_counter() - t0
    times: dict[str, list[float]] = {"agent_ready": [], "call_arrives": []}
    picks: dict[str, list[float]] = {"agent_ready": [], "call_arrives": []}
    cpu: list[float] = []  # thread CPU time of each handle: what the scheduler took is not in it
    disagreements = 0
    warmup = 200
    router = run.acd._router
    for step in range(warmup + decisions):
        run.tick()
        expected: str | None = None
        if step % 2 == 0 and run.talking:
            kind = "agent_ready"
            agent_id, call_id = run.hang_up()
            event: object = CallEnded(call_id)
            if naive:
                agent = run.acd._agents[agent_id]
                p0 = time.perf_counter_ns()
                router.call_for(agent, run.now)
                p1 = time.perf_counter_ns()
                n0 = time.perf_counter_ns()
                expected = run.naive_call_for(agent_id)
                n1 = time.perf_counter_ns()
        else:
            kind = "call_arrives"
            event = run.new_call()
            if naive:
                assert isinstance(event, CallQueued)
                needs = run.acd._parts[event.queue].bits[0]
                ready = router.ready[event.queue]
                skills = run.acd._queues[event.queue].skills
                p0 = time.perf_counter_ns()
                if run.strategy[event.queue] not in RANDOMISED:  # a draw would change the run
                    ready.pick(needs, None, skills)
                p1 = time.perf_counter_ns()
                n0 = time.perf_counter_ns()
                expected = run.naive_agent_for(event)
                n1 = time.perf_counter_ns()
        c0n = time.thread_time_ns()
        t0n = time.perf_counter_ns()
        cmds = run.acd.handle(event, run.now)  # type: ignore[arg-type]
        t1n = time.perf_counter_ns()
        c1n = time.thread_time_ns()
        offer = next((c for c in cmds if isinstance(c, OfferCall)), None)
        if naive:
            if kind == "agent_ready":
                disagreements += (offer.call_id if offer else None) != expected
            elif run.strategy[event.queue] is Strategy.LONGEST_IDLE:  # type: ignore[attr-defined]
                disagreements += (offer.agent_id if offer else None) != expected
            else:
                disagreements += (offer is None) != (expected is None)
        run.answer(cmds)
        while run.waiting() < size.waiting:  # untimed top-up: keep the line full
            run.feed(run.new_call())
        if step >= warmup:
            if naive:
                times[kind].append((n1 - n0) / 1000)
                if kind == "agent_ready" or run.strategy[event.queue] not in RANDOMISED:  # type: ignore[attr-defined]
                    picks[kind].append((p1 - p0) / 1000)
            else:
                times[kind].append((t1n - t0n) / 1000)
                cpu.append((c1n - c0n) / 1000)
    return {
        "run": run,
        "times": times,
        "cpu": cpu,
        "picks": picks,
        "bad": disagreements,
        "fill_s": fill_s,
    }


RANDOMISED = (Strategy.RANDOM, Strategy.WEIGHTED_RANDOM)


def measure(size: Size, decisions: int, seed: int) -> dict[str, object]:
    mine = _pass(size, decisions, seed, naive=False)
    scan = _pass(size, decisions, seed, naive=True)
    run: Run = mine["run"]  # type: ignore[assignment]
    ours = [t for ts in mine["times"].values() for t in ts]  # type: ignore[attr-defined]
    naive = [t for ts in scan["times"].values() for t in ts]  # type: ignore[attr-defined]
    picks = [t for ts in scan["picks"].values() for t in ts]  # type: ignore[attr-defined]
    waiting = sum(1 for c in run.acd._calls.values() if c.state is CallState.WAITING)
    shown = run.routable[:10]
    snap_full = []
    snap_shown = []
    for _ in range(5):
        t0 = time.perf_counter()
        snap = run.acd.snapshot(run.now)
        snap_full.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        run.acd.snapshot(run.now, queues=shown)
        snap_shown.append(time.perf_counter() - t0)
    assert len(snap.agents) == size.agents and len(snap.queues) == size.queues
    p50 = statistics.median(ours)
    naive_p50 = statistics.median(naive)
    pick_p50 = statistics.median(picks)
    kinds = mine["times"]
    return {
        "agents": size.agents,
        "queues": size.queues,
        "waiting": waiting,
        "decisions": len(ours),
        "p50_us": round(p50, 1),
        "p99_us": round(_pct(ours, 99), 1),
        "cpu_p50_us": round(statistics.median(mine["cpu"]), 1),  # type: ignore[arg-type]
        "cpu_p99_us": round(_pct(mine["cpu"], 99), 1),  # type: ignore[arg-type]
        "max_us": round(max(ours), 1),
        "decisions_per_s": round(len(ours) / (sum(ours) / 1e6)),
        "naive_p50_us": round(naive_p50, 1),
        "naive_p99_us": round(_pct(naive, 99), 1),
        "pick_p50_us": round(pick_p50, 2),
        "pick_p99_us": round(_pct(picks, 99), 2),
        "naive_over_pick_p50": round(naive_p50 / pick_p50, 1),
        "naive_over_handle_p50": round(naive_p50 / p50, 1),
        "by_kind": {
            k: {
                "p50_us": round(statistics.median(kinds[k]), 1),  # type: ignore[index]
                "p99_us": round(_pct(kinds[k], 99), 1),  # type: ignore[index]
                "pick_p50_us": round(statistics.median(scan["picks"][k]), 2),  # type: ignore[index]
                "naive_p50_us": round(statistics.median(scan["times"][k]), 1),  # type: ignore[index]
            }
            for k in ("agent_ready", "call_arrives")
        },
        "snapshot_ms": round(statistics.median(snap_full) * 1000, 2),
        "snapshot_10_queues_ms": round(statistics.median(snap_shown) * 1000, 3),
        "fill_s": round(float(mine["fill_s"]), 1),  # type: ignore[arg-type]
        "disagreements": scan["bad"],
    }


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, action="append", help="repeatable")
    parser.add_argument("--queues", type=int, default=5000)
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--decisions", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [Size(a, args.queues, args.waiting) for a in (args.agents or [1000, 5000, 15000])]
    results = []
    for size in sizes:
        r = measure(size, args.decisions, args.seed)
        results.append(r)
        print(
            f"{r['agents']:>6} agents {r['queues']:>5} queues {r['waiting']:>5} waiting: "
            f"p50 {r['p50_us']:>7} us  p99 {r['p99_us']:>7} us (cpu p99 {r['cpu_p99_us']} us)  "
            f"{r['decisions_per_s']:>7} decisions/s | pick alone p50 {r['pick_p50_us']} us | "
            f"naive scan p50 {r['naive_p50_us']:>8} us = {r['naive_over_pick_p50']}x our pick, "
            f"{r['naive_over_handle_p50']}x our whole handle | snapshot {r['snapshot_ms']} ms "
            f"(10 queues: {r['snapshot_10_queues_ms']} ms)",
            flush=True,
        )
        for kind, k in r["by_kind"].items():  # type: ignore[attr-defined]
            print(
                f"        {kind:<13} p50 {k['p50_us']:>7} us  p99 {k['p99_us']:>7} us  "
                f"pick p50 {k['pick_p50_us']:>6} us  naive p50 {k['naive_p50_us']:>8} us"
            )
    bad = sum(int(r["disagreements"]) for r in results)  # type: ignore[call-overload]
    if bad:
        print(f"FAIL: {bad} decisions differ from the naive scan", file=sys.stderr)
    if args.json:
        print(json.dumps({"sizes": results}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
