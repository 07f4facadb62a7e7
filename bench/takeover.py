"""Leader takeover: the time from SIGKILL of the leading controller to the new leader's
first AMI action, under a steady call load, and the calls lost over all the kills.

Two ``callcenter run`` processes with ``leader.enabled`` (issue 18) on one fresh
PostgreSQL database and one pbxsim over TCP (in this process), four agents' desks
Ready, Poisson arrivals (``--rate`` calls a minute, pbxsim's clock 3x). ``--kills``
times: wait a random 1-4 s, SIGKILL the process holding the term, take the time until
pbxsim receives the first action (the Login) of the other one, restart the killed one
as the next standby. Both times are ``time.monotonic()`` in this process (pbxsim's
``Session.first_action_at``). At the end the arrivals stop, every caller pbxsim saw hangs
up, and SQL says per caller whether its call has exactly one outcome (lost: no row,
no outcome or more than one).

The limit beside it, measured in the same run: the first controller's plain start
(process spawn to its first AMI action, on the same seeded database), and the lease
(``lease_s``: what a frozen, not killed, leader would cost; a killed one frees the
PostgreSQL advisory lock at once).

What it does not measure: a frozen leader (SIGSTOP; the lease bounds it, see
tests/test_e2e_takeover.py), a network cut, PostgreSQL or pbxsim dying, calls
answered right before a kill whose answer no controller could see (they are counted
as calls, with the outcome the new leader gave them), the desks' reconnection, and
the time until the new leader has rebuilt its state (only its first action).

    python bench/takeover.py [--kills 10] [--rate 20] [--database URL] [--json]

``--database``: a PostgreSQL URL (default the shared ``test`` database's server); a
fresh database is made there for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(ROOT))

from pipeline import _pg_admin, fresh_database  # noqa: E402

from callcenter.demo import AgentDesktop  # noqa: E402
from pbxsim.scenario import Scenario  # noqa: E402
from pbxsim.server import PBXSim  # noqa: E402
from tests.e2e_observer import Observer  # noqa: E402
from tests.e2e_support import seeded, stop_all, wait_until  # noqa: E402
from tests.test_e2e_restart_storm import sql_calls, world  # noqa: E402
from tests.test_e2e_takeover import (  # noqa: E402
    LEASE_S,
    SIDES,
    USERS,
    TwoControllers,
    wait_first_action,
)

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test"


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: with 10 kills p99 is the worst one."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def lost_calls(db_url: str, observer: Observer, timeout: float = 60) -> int:
    """Callers pbxsim saw whose call is not one row with exactly one outcome (waits for the
    last writes up to ``timeout``)."""
    end = time.monotonic() + timeout
    while True:
        calls, counts, _ = await sql_calls(db_url)
        lost = sum(1 for uid in observer.callers
                   if f"pbxsim:{uid}" not in calls or counts.get(f"pbxsim:{uid}") != 1)  # fmt: skip
        if lost == 0 or time.monotonic() > end:
            return lost
        await asyncio.sleep(1.0)


async def measure(args: argparse.Namespace, work: Path, db_url: str, say: Any) -> dict[str, Any]:
    numbers = await seeded(db_url, agents=args.agents)
    steady = {**world(numbers), "arrivals": {"kind": "poisson", "calls_per_minute": args.rate}}
    sim = PBXSim(port=0, users=USERS, scenario=Scenario.from_dict(steady), seed=args.seed,
                 spool_dir=work / "spool", time_scale=3.0)  # fmt: skip
    await sim.start()
    rig = TwoControllers(work, db_url, sim)
    observer = Observer(sim.port)
    await observer.start()
    rng = random.Random(args.seed)
    desks: list[AgentDesktop] = []
    takeovers: list[float] = []
    try:
        procs, bases = {}, {}
        spawned = time.monotonic()
        procs["a"], bases["a"] = await rig.start("a")
        start_s = await wait_first_action(sim, "a", spawned) - spawned
        procs["b"], bases["b"] = await rig.start("b")
        desks = [AgentDesktop(bases["a"], f"agent{i}", f"agent{i}-pass", ready=True)
                 for i in range(1, args.agents + 1)]  # fmt: skip
        for d in desks:
            d.start()
        await wait_until(lambda: len(observer.callers) >= 2, 120, "calls arriving")
        leader = "a"
        for kill in range(args.kills):
            await asyncio.sleep(rng.uniform(1.0, 4.0))
            killed = time.monotonic()
            procs[leader].send_signal(signal.SIGKILL)
            await procs[leader].wait()
            standby = SIDES[1 - SIDES.index(leader)]
            takeovers.append(await wait_first_action(sim, standby, killed) - killed)
            procs[leader], bases[leader] = await rig.start(leader)  # the next standby
            say(f"kill {kill + 1}: {standby} acted {takeovers[-1]:.3f} s after the kill, "
                f"{len(observer.callers)} callers so far")  # fmt: skip
            leader = standby
        sim.world.population.stop_arrivals()
        await wait_until(lambda: all(c.hung_up for c in observer.callers.values()), 360,
                         "every caller to end")  # fmt: skip
        lost = await lost_calls(db_url, observer)
    finally:
        await stop_all(rig.procs, desks)
        await observer.close()
        await sim.close()
    p50 = percentile(takeovers, 0.50)
    return {
        "kills": len(takeovers),
        "takeover_p50_s": round(p50, 4),
        "takeover_p99_s": round(percentile(takeovers, 0.99), 4),
        "calls": len(observer.callers),
        "lost_calls": lost,
        "takeover_s": [round(t, 4) for t in takeovers],
        "start_s": round(start_s, 4),
        "lease_s": LEASE_S,
        "p50_over_start": round(p50 / start_s, 3),
        "p50_over_lease": round(p50 / LEASE_S, 3),
        "rate_per_min": args.rate,
        "agents": args.agents,
    }


async def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    db_url, name = await fresh_database(args.database)
    if name is None:
        raise SystemExit("--database: leader election needs a PostgreSQL URL")
    try:
        with tempfile.TemporaryDirectory(prefix="takeover-") as tmp:
            return await measure(args, Path(tmp), db_url, say)
    finally:
        with contextlib.suppress(Exception):
            await _pg_admin(args.database, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kills", type=int, default=10, help="leader kills (default 10)")
    p.add_argument("--rate", type=float, default=20, help="calls a minute (default 20)")
    p.add_argument("--agents", type=int, default=4, help="agents Ready (default 4)")
    p.add_argument("--seed", type=int, default=18)
    p.add_argument("--database", default=DEFAULT_DB, help=f"PostgreSQL URL (default {DEFAULT_DB})")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args(argv)
    if args.kills < 1:
        p.error("--kills must be at least 1")
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else print
    out = asyncio.run(run(args, say))
    say(f"\ntakeover after SIGKILL of the leader ({out['kills']} kills, {out['rate_per_min']:g} "
        f"calls/min, {out['agents']} agents): p50 {out['takeover_p50_s']:.3f} s, "
        f"p99 {out['takeover_p99_s']:.3f} s")  # fmt: skip
    say(f"  a plain controller start to its first action: {out['start_s']:.3f} s "
        f"(takeover p50 = {out['p50_over_start']:.2f}x); lease {out['lease_s']:g} s "
        f"(p50 = {out['p50_over_lease']:.3f}x)")  # fmt: skip
    say(f"  calls: {out['calls']}, lost (no outcome or more than one): {out['lost_calls']}")
    if args.json:
        print(json.dumps(out))
    return 0 if out["lost_calls"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
