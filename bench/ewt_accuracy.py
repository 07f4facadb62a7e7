"""Estimated wait: what a waiting caller is told beside what they then waited.

    .venv/bin/python bench/ewt_accuracy.py              # 6 runs, 4,000 calls each
    .venv/bin/python bench/ewt_accuracy.py --json       # last line: one JSON object
    .venv/bin/python bench/ewt_accuracy.py --calls 300 --seeds 1

What it does, per run (a talk-time law x an occupancy, each with its seed):

- drives the pure ACD (``acd.Acd``) with a seeded event list: one queue, 10
  agents, wrap-up 5 s, calls arriving as a Poisson process at 80 %, 90 % and
  95 % occupancy, talk times either uniform 20-60 s (pbxsim's default
  ``talk_time``) or exponential of mean 40 s; every offer answered at once,
  nobody abandons;
- "announces" to every caller still WAITING 10 s after entering, then every
  20 s (the defaults the announcements will use): our figure is the one the
  controller reads for the caller at that instant, ``Acd.call(id,
  now).ewt_s`` (``acd.ewt``), so driving the core directly gives the very
  figure the caller would hear, without pbxsim's and the loop's noise in the
  timing of the answer (the wait is decided by the core; the shell only adds
  AMI round trips of milliseconds);
- beside it, on the same announcements, app_queue's formula as the issue
  names it: its running average of hold time (``recalc_holdtime``:
  ``holdtime = (3 * holdtime + wait) / 4`` at each answer) times the caller's
  position; and, for the record, what app_queue's ``say_position`` really
  says: ``|holdtime + 30 - waited|`` in whole minutes (plus the seconds with
  ``announce-round-seconds``; taken here unrounded, which flatters it);
- compares each figure with the wait that followed (answer time minus the
  announcement's): mean absolute error (s) and the share within +-20 % of it.
  The first 300 calls of each run are a warm-up (no talk time observed yet,
  no estimate) and are not scored.

Not measured: abandons (a caller who leaves shortens the wait of those behind:
ours errs long), priorities and skills (one class of caller), agents of several
queues, ring time and failed offers. The figure is one per announcement; a
long wait is announced several times and weighs accordingly.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd import (  # noqa: E402
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    CallConnected,
    CallEnded,
    CallQueued,
    Command,
    OfferAnswered,
    OfferCall,
    QueueConfig,
)

AGENTS = 10
WRAP_UP_S = 5.0
FIRST_S, EVERY_S = 10.0, 20.0
WARM_UP = 300
LOADS = (0.80, 0.90, 0.95)
LAWS = ("uniform", "exponential")

ARRIVE, ANNOUNCE, END = 0, 1, 2


@dataclass
class Scores:
    """Absolute errors and hits (within +-20 %) of one estimator."""

    errors: list[float] = field(default_factory=list)
    hits: int = 0

    def add(self, estimate: float, actual: float) -> None:
        self.errors.append(abs(estimate - actual))
        self.hits += abs(estimate - actual) <= 0.2 * actual

    def mae(self) -> float:
        return statistics.fmean(self.errors) if self.errors else 0.0

    def within(self) -> float:
        return self.hits / len(self.errors) if self.errors else 0.0


@dataclass
class Run:
    ours: Scores = field(default_factory=Scores)
    app_queue: Scores = field(default_factory=Scores)
    say_position: Scores = field(default_factory=Scores)
    calls: set[int] = field(default_factory=set)


def talk_time(law: str, rng: random.Random) -> float:
    if law == "uniform":
        return rng.uniform(20.0, 60.0)
    return rng.expovariate(1 / 40.0)


def simulate(law: str, load: float, calls: int, seed: int, run: Run) -> None:
    """One seeded run; its announcements scored into ``run``."""
    rng = random.Random(seed)
    handle_s = 40.0 + WRAP_UP_S
    arrival_per_s = load * AGENTS / handle_s
    core = Acd(
        AcdConfig(
            (QueueConfig("q", wrap_up_s=WRAP_UP_S, hold_slice_s=3600.0),),
            tuple(AgentConfig(f"a{i}", "A", f"PJSIP/{i}", ("q",)) for i in range(AGENTS)),
        )
    )
    for i in range(AGENTS):
        core.handle(AgentLogin(f"a{i}"), 0.0)
    talks = [talk_time(law, rng) for _ in range(calls)]
    events: list[tuple[float, int, int]] = []
    t = 0.0
    for index in range(calls):
        t += rng.expovariate(arrival_per_s)
        events.append((t, ARRIVE, index))
    heapq.heapify(events)
    holdtime = 0.0  # app_queue's running average of hold time
    #: per call, the announcements made: (when, ours, app_queue's, say_position's)
    told: dict[int, list[tuple[float, float, float, float]]] = {}

    def absorb(cmds: list[Command], now: float) -> None:
        nonlocal holdtime
        for cmd in cmds:
            if isinstance(cmd, OfferCall):
                index = int(cmd.call_id[1:])
                for done in core.handle(OfferAnswered(cmd.call_id, cmd.agent_id), now):
                    if isinstance(done, CallConnected):
                        holdtime = (3 * holdtime + done.wait_s) / 4
                        for at, ours, app, said in told.pop(index, []):
                            actual = now - at
                            run.ours.add(ours, actual)
                            run.app_queue.add(app, actual)
                            run.say_position.add(said, actual)
                            run.calls.add(index)
                heapq.heappush(events, (now + talks[index], END, index))

    last = 0.0
    while events:
        deadline = core.next_timer()
        if deadline is not None and deadline <= events[0][0]:
            last = max(last, deadline)  # a cancelled deadline may linger, past
            absorb(core.on_timer(last), last)
            continue
        now, kind, index = heapq.heappop(events)
        last = now
        call_id = f"c{index}"
        if kind == ARRIVE:
            absorb(core.handle(CallQueued(call_id, "q", "1"), now), now)
            heapq.heappush(events, (now + FIRST_S, ANNOUNCE, index))
        elif kind == END:
            absorb(core.handle(CallEnded(call_id), now), now)
        else:
            view = core.call(call_id, now)
            if view is None or view.position is None or view.agent_id is not None:
                continue  # answered meanwhile: nothing more to announce
            if index >= WARM_UP and view.ewt_s is not None:
                app = holdtime * view.position
                said = abs(holdtime - view.wait_s)
                told.setdefault(index, []).append((now, view.ewt_s, app, said))
            heapq.heappush(events, (now + EVERY_S, ANNOUNCE, index))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000, help="calls per run")
    parser.add_argument("--seeds", type=int, default=1, help="seeded runs per law and load")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args()
    total = Run()
    rows = []
    for law in LAWS:
        for load in LOADS:
            run = Run()
            for seed in range(1, args.seeds + 1):
                simulate(law, load, args.calls, seed, run)
            rows.append((law, load, run))
            for name in ("ours", "app_queue", "say_position"):
                scores: Scores = getattr(total, name)
                scores.errors += getattr(run, name).errors
                scores.hits += getattr(run, name).hits
            total.calls |= {(law, load, c) for c in run.calls}  # type: ignore[arg-type]
    print(f"{'talk':12} {'load':>5} {'calls':>6} {'said':>6}  "
          f"{'ours MAE':>9} {'+-20%':>6}  {'app_queue':>9} {'+-20%':>6}  {'say_pos':>9} {'+-20%':>6}")  # fmt: skip
    for law, load, run in rows:
        print(f"{law:12} {load:5.2f} {len(run.calls):6} {len(run.ours.errors):6}  "
              f"{run.ours.mae():8.1f}s {run.ours.within():6.1%}  "
              f"{run.app_queue.mae():8.1f}s {run.app_queue.within():6.1%}  "
              f"{run.say_position.mae():8.1f}s {run.say_position.within():6.1%}")  # fmt: skip
    result = {
        "calls": len(total.calls),
        "announcements": len(total.ours.errors),
        "ours_mae_s": round(total.ours.mae(), 2),
        "ours_within_20pct": round(total.ours.within(), 4),
        "app_queue_mae_s": round(total.app_queue.mae(), 2),
        "app_queue_within_20pct": round(total.app_queue.within(), 4),
        "say_position_mae_s": round(total.say_position.mae(), 2),
        "say_position_within_20pct": round(total.say_position.within(), 4),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
