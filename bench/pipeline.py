"""Pipeline benchmark: calls per second through pbxsim and the controller, AMI bytes in to SQL rows out.

Three processes: pbxsim (``python -m pbxsim``, the outside world over real
TCP), the controller (this file with ``--controller CONFIG``: the same
``callcenter.app.Hotline`` that ``callcenter run`` starts, its agents logged in
as ``callcenter demo`` does) and this driver, which only watches.

pbxsim gets a trace of arrivals: for each step of the plan, Poisson arrivals
at the step's rate for ``--step-s`` seconds, then ``--gap-s`` seconds with no
arrival so the step's calls finish. Every caller takes the short way through
the IVR (language 1, menu 1: the support queue), waits for an agent (there
are enough of them: ``--agents``, by default 2.5 agent-seconds per call/s of
the top step), talks ``--talk`` seconds, and the agent has ``--wrap-up-s``
of wrap-up. The caller numbers name the step (``09<step><n>``).

Per step:

- ``offered``: the calls pbxsim was told to place in the step;
- ``one_outcome``: those with exactly one ``calls`` row with an outcome and at
  most one ``queue_outcomes`` row, read from SQL after the run;
  ``lost = offered - one_outcome``;
- ``backlog_end``: the writer's pending writes (``StoreWriter.pending``) at the
  end of the step's arrivals; ``backlog_slope``: least-squares slope of the
  pending writes sampled every 0.25 s during the arrivals (writes/s);
- ``lag_p99_ms``/``lag_max_ms``: the controller's event-loop lag (its
  ``LoopLagMonitor``, the samples behind ``hotline_event_loop_lag_seconds``
  on ``/metrics``) from the step's first arrival to the next step;
- ``controller_cpu_ms_per_call``/``pbxsim_cpu_ms_per_call``: user+system CPU
  of each process (``/proc/PID/stat``, all its threads: the writer's too)
  from the step's first arrival to the next step, divided by ``offered``;
  ``controller_loop_cpu_ms_per_call``: the same for the controller's main
  thread alone, the one running the event loop;
- ``controller_loop_runq_wait_s``: how long that thread waited, runnable, for a
  core over the same span (``/proc/PID/task/TID/schedstat``), beside
  ``controller_loop_cpu_s``, the CPU it got: a loop that waits for a core
  more than it runs is held up by the machine's other work, not by its own.

A step *holds* when ``lost == 0``, the backlog does not grow (slope <= 0, or
it never held more than one second of the writer's own throughput, at least
100 writes: a batch writer's backlog is a sawtooth whose fitted slope is as
often a little above 0 as below) and ``lag_p99_ms < 100``. The headline
``sustained_cps`` is the highest rate of a step that held (0 if none did);
``lower_steps_hold`` says whether every lower step held too.

What it does not measure: the database server's own CPU (PostgreSQL runs
outside the controller), real SIP/RTP media (pbxsim simulates channels),
the web pages and WebSockets of agents (they are logged in by the controller
itself, no desktop is open), recordings' audio (pbxsim writes small WAVs),
a real Asterisk's own cost, and anything over a real network (loopback only).
pbxsim shares the machine's cores with the controller, so its CPU is a limit
too: its figure is printed beside the controller's.

Usage::

    python bench/pipeline.py [--steps 25,50,100,200,300] [--database URL] [--json]

``--database``: SQLite in a temporary directory by default; a PostgreSQL URL
(``postgresql+asyncpg://postgres@127.0.0.1:5432/test``) names the server: a
fresh database is made there for the run and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_STEPS = (25, 50, 100, 200, 300)
STATUS_INTERVAL_S = 0.25
LAG_LIMIT_MS = 100.0
FLAT_BACKLOG = 100
PROMPT_S = 0.3
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- the controller process ------------------------------------------------------------
async def controller_main(cfg_path: str, gil_switch_ms: float | None = None) -> None:
    """Run the controller of ``cfg_path`` and report on stdout, one JSON line per 0.25 s.

    ``cfg_path`` ``-``: import first, say so (``{"imported": true}``), then read the
    config's path from stdin's first line: the driver starts pbxsim, whose clock
    schedules the arrivals, only once the imports (most of a start on a loaded machine)
    are done.

    Each line: wall time, the writer's pending writes, calls in progress, whether
    every node is synced, and the loop-lag samples taken since the last line.
    Stdin at end of file stops it: the writer is flushed, a last line says so.
    """
    from callcenter.app import Hotline
    from callcenter.config import load_config

    if cfg_path == "-":
        sys.stdout.write(json.dumps({"t": time.time(), "imported": True}) + "\n")
        sys.stdout.flush()
        cfg_path = sys.stdin.readline().strip()
    hotline = Hotline(load_config(cfg_path), auto_login_agents=True)
    await hotline.start()
    if gil_switch_ms is not None:  # an A/B of the writer's switch interval (--gil-switch-ms)
        sys.setswitchinterval(gil_switch_ms / 1000)
    ctl, writer = hotline.controller, hotline.writer
    assert ctl is not None and writer is not None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def wait_stdin() -> None:
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=wait_stdin, daemon=True).start()

    def emit(**fields: Any) -> None:
        sys.stdout.write(json.dumps({"t": time.time(), **fields}) + "\n")
        sys.stdout.flush()

    thread = getattr(writer, "_thread", None)
    emit(ready=True, pid=os.getpid(), writer_tid=getattr(thread, "native_id", None),
         gil_switch_ms=round(sys.getswitchinterval() * 1000, 3))  # fmt: skip
    sent = 0
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), STATUS_INTERVAL_S)
        samples = hotline.lag.samples
        new, sent = samples[sent:], len(samples)
        emit(
            pending=writer.pending,
            applied=getattr(writer, "applied", None),
            calls=len(ctl.calls),
            synced=all(n.synced.is_set() for n in ctl.nodes.values()),
            lag=[round(s, 5) for s in new],
        )
    try:
        await asyncio.wait_for(writer.flush(), 300)
    finally:
        emit(final=True, pending=writer.pending)
        await hotline.stop()


# -- the plan ----------------------------------------------------------------------------
@dataclass
class Step:
    rate: float
    start: float  # seconds after pbxsim started
    end: float  # last arrival window end
    next_start: float  # the step's calls are measured until here
    #: (seconds after pbxsim started, caller number)
    calls: list[tuple[float, str]] = field(default_factory=list)


def plan(rates: list[float], step_s: float, gap_s: float, lead_s: float, seed: int) -> list[Step]:
    """Poisson arrival times per step, numbers ``09<k><n:07>`` (k: the step's index)."""
    rng = random.Random(seed)
    steps: list[Step] = []
    t = lead_s
    for k, rate in enumerate(rates):
        step = Step(rate, t, t + step_s, t + step_s + gap_s)
        at = t + rng.expovariate(rate)
        n = 0
        while at < step.end:
            step.calls.append((round(at, 4), f"09{k}{n:07d}"))
            n += 1
            at += rng.expovariate(rate)
        steps.append(step)
        t = step.next_start
    return steps


def scenario_toml(steps: list[Step], prompts: list[str], talk: tuple[float, float]) -> str:
    calls = ",\n".join(
        f'  {{at = {at}, number = "{num}"}}' for step in steps for at, num in step.calls
    )
    prompt_lines = "\n".join(f'"{p}" = {PROMPT_S}' for p in prompts)
    return f"""# generated by bench/pipeline.py
context = "hotline-safe"
[arrivals]
kind = "trace"
calls = [
{calls}
]
[callers]
patience = 600
press_delay = [0.1, 0.3]
[[callers.menus]]
choices = [{{digits = "1", weight = 1}}]
[[callers.menus]]
choices = [{{digits = "1", weight = 1}}]
[agents.default]
answer_delay = [0.1, 0.4]
no_answer_probability = 0
busy_probability = 0
talk_time = [{talk[0]}, {talk[1]}]
agent_hangs_up_probability = 0.5
[prompts]
{prompt_lines}
"""


# -- processes and their CPU -------------------------------------------------------------
def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU so far of a process (all its threads), or of one of its threads."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def runq_wait_seconds(pid: int, thread: int) -> float | None:
    """How long a thread has waited, runnable, for a core so far (``/proc/.../schedstat``,
    its second field; None where the kernel does not keep it)."""
    try:
        with open(f"/proc/{pid}/task/{thread}/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


class ControllerProcess:
    """The controller subprocess and the status lines it prints (read by a thread).

    Started with no config, it imports and waits (``imported``) for :meth:`begin`.
    """

    def __init__(
        self,
        cfg: Path | None,
        log: Path,
        profile: Path | None = None,
        gil_switch_ms: float | None = None,
    ) -> None:
        self._log = open(log, "wb")  # noqa: SIM115  (closed in stop())
        extra = ["--profile", str(profile)] if profile is not None else []
        if gil_switch_ms is not None:
            extra += ["--gil-switch-ms", str(gil_switch_ms)]
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--controller",
             "-" if cfg is None else str(cfg), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            cwd=log.parent,  # what it writes relative to its cwd (var/: the writer's journal)
        )  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        #: the native id of the writer's thread (its CPU and run-queue wait are read apart)
        self.writer_tid: int | None = None
        #: the controller's GIL switch interval once started (the writer sets it)
        self.gil_switch_ms: float | None = None
        self.imported = threading.Event()
        self.ready = threading.Event()
        self.final: dict[str, Any] | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("imported"):
                self.imported.set()
            elif line.get("ready"):
                self.writer_tid = line.get("writer_tid")
                self.gil_switch_ms = line.get("gil_switch_ms")
                self.ready.set()
            elif line.get("final"):
                self.final = line
            else:
                self.lines.append(line)
        self.imported.set()  # ended: whoever waits must look at the exit code
        self.ready.set()

    def begin(self, cfg: Path) -> None:
        """Give a controller started with no config its config: it starts."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{cfg}\n".encode())
        self.proc.stdin.flush()

    @property
    def last(self) -> dict[str, Any]:
        return self.lines[-1] if self.lines else {}

    def window(self, t0: float, t1: float) -> list[dict[str, Any]]:
        return [ln for ln in list(self.lines) if t0 <= ln["t"] < t1]

    def stop(self, timeout: float = 330) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        self._log.close()


def start_pbxsim(scenario: Path, spool: Path, log: Path, secret: str) -> tuple[Any, int, float]:
    """Start pbxsim; returns the process, its AMI port and when it started (wall clock)."""
    err = open(log, "wb")  # noqa: SIM115  (the child keeps it)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pbxsim", "--port", "0", "--scenario", str(scenario),
         "--spool", str(spool), "--user", "hotline", "--secret", secret, "--time-scale", "1"],
        stdout=subprocess.PIPE, stderr=err, cwd=ROOT,
    )  # fmt: skip
    err.close()
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    started = time.time()
    m = re.search(r"listening on [\d.]+:(\d+)", line)
    if m is None:
        proc.kill()
        raise SystemExit(f"pbxsim did not start: {line!r} (see {log})")
    return proc, int(m.group(1)), started


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- figures -----------------------------------------------------------------------------
def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (t, y) points (0 with fewer than two)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    return 0.0 if var == 0 else sum((t - mt) * (y - my) for t, y in points) / var


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def outcomes_by_number(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """From SQL, per caller number (last 8 digits): calls with an outcome, and all calls.

    A call counted as having an outcome also has at most one queue outcome.
    """
    from sqlalchemy import func, select

    from callcenter.storage import make_engine
    from callcenter.storage.models import Call, QueueOutcome

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            dup = set(
                await conn.scalars(
                    select(QueueOutcome.call_id)
                    .group_by(QueueOutcome.call_id)
                    .having(func.count() > 1)
                )
            )
            rows = (await conn.execute(select(Call.id, Call.caller_number, Call.outcome))).all()
    finally:
        await engine.dispose()
    good: dict[str, int] = {}
    seen: dict[str, int] = {}
    for call_id, number, outcome in rows:
        key = (number or "")[-8:]
        seen[key] = seen.get(key, 0) + 1
        if outcome is not None and call_id not in dup:
            good[key] = good.get(key, 0) + 1
    return good, seen


async def seed(url: str, agents: int, seed: int) -> None:
    """Migrate, then the demo's customers and ``agents`` agents (cheap password hashes:
    the agents never log in by password, the controller logs them in itself)."""
    from argon2 import PasswordHasher

    from callcenter.demo.data import demo_agents, demo_customers, seed_demo
    from callcenter.storage import Store, make_engine, make_session_factory, migrate

    await migrate(url)
    engine = make_engine(url)
    try:
        hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        store = Store(make_session_factory(engine), hasher=hasher)
        await seed_demo(
            store,
            demo_customers(200, seed=seed),
            demo_agents(agents, queues=("support",), seed=seed),
        )
    finally:
        await engine.dispose()


# -- PostgreSQL: a fresh database per run ----------------------------------------------
async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
        password=u.password, database=u.database or "postgres", timeout=5,
    )  # fmt: skip
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def fresh_database(url: str) -> tuple[str, str | None]:
    """The URL to run on and the PostgreSQL database to drop after (None for SQLite)."""
    if not url.startswith("postgresql"):
        return url, None
    from sqlalchemy.engine import make_url

    name = f"hotline_pipeline_{os.getpid()}_{secrets.token_hex(3)}"
    await _pg_admin(url, f'CREATE DATABASE "{name}"')
    u = make_url(url).set(drivername="postgresql+asyncpg", database=name)
    if not u.username:
        u = u.set(username="postgres")
    return u.render_as_string(hide_password=False), name


# -- the driver ------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict[str, Any]:
    from callcenter.demo import SECRET, config_text, ivr_prompt_files

    rates = args.steps
    agents = args.agents or max(10, math.ceil(max(rates) * 2.5))
    steps = plan(rates, args.step_s, args.gap_s, args.lead_s, args.seed)
    work = Path(tempfile.mkdtemp(prefix="hotline-pipeline-"))
    say = (lambda s: print(s, file=sys.stderr, flush=True)) if args.json else print
    base_url = args.database or f"sqlite+aiosqlite:///{work / 'pipeline.db'}"
    url, pg_name = asyncio.run(fresh_database(base_url))
    pbx = ctl = None
    try:
        # The controller imports while the database is seeded; pbxsim, whose clock the
        # arrivals keep, starts once it has: a loaded machine's slow start is not in the lead.
        ctl = ControllerProcess(None, work / "controller.log", args.profile, args.gil_switch_ms)
        t = time.monotonic()
        asyncio.run(seed(url, agents, args.seed))
        say(f"seeded {agents} agents in {time.monotonic() - t:.1f} s; work dir {work}")
        (work / "scenario.toml").write_text(
            scenario_toml(steps, ivr_prompt_files(), (args.talk[0], args.talk[1]))
        )
        (work / "monitor").mkdir()
        ctl.imported.wait()
        if ctl.proc.poll() is not None:
            raise SystemExit(f"the controller did not start (see {work / 'controller.log'})")
        pbx, port, pbx_t0 = start_pbxsim(
            work / "scenario.toml", work / "spool", work / "pbxsim.log", SECRET
        )
        cfg = work / "hotline.yaml"
        cfg.write_text(
            config_text(ami_port=port, database_url=url, monitor=work / "monitor",
                        web_port=free_port(), offer_timeout_s=5, wrap_up_s=args.wrap_up_s,
                        hold_slice_s=3)
        )  # fmt: skip
        ctl.begin(cfg)
        ctl.ready.wait(args.lead_s)
        if ctl.proc.poll() is not None or not ctl.ready.is_set():
            raise SystemExit(f"the controller did not start (see {work / 'controller.log'})")
        while not ctl.last.get("synced"):
            if time.time() - pbx_t0 > args.lead_s - 1 or ctl.proc.poll() is not None:
                raise SystemExit(
                    f"the controller was not synced {args.lead_s - 1:g} s after pbxsim "
                    f"started (raise --lead-s; see {work / 'controller.log'})"
                )
            time.sleep(0.05)
        say(f"controller synced {time.time() - pbx_t0:.1f} s after pbxsim started; "
            f"steps {', '.join(f'{r:g}' for r in rates)} calls/s, {args.step_s:g} s each")  # fmt: skip
        results = []
        for step in steps:
            t0, t1, t2 = pbx_t0 + step.start, pbx_t0 + step.end, pbx_t0 + step.next_start
            _sleep_until(t0)
            # the controller's main thread runs its event loop (the writer has its own)
            pid = ctl.proc.pid
            cpu0 = (cpu_seconds(pid), cpu_seconds(pbx.pid), cpu_seconds(pid, pid))
            wait0 = runq_wait_seconds(pid, pid)
            wtid = ctl.writer_tid
            w0 = (cpu_seconds(pid, wtid), runq_wait_seconds(pid, wtid)) if wtid else None
            _sleep_until(t2)
            for proc, what in ((ctl.proc, "controller"), (pbx, "pbxsim")):
                if proc.poll() is not None:
                    raise SystemExit(f"the {what} exited ({proc.returncode}); logs in {work}")
            cpu1 = (cpu_seconds(pid), cpu_seconds(pbx.pid), cpu_seconds(pid, pid))
            wait1 = runq_wait_seconds(pid, pid)
            w1 = (cpu_seconds(pid, wtid), runq_wait_seconds(pid, wtid)) if wtid else None
            waited = None if wait0 is None or wait1 is None else wait1 - wait0
            during = ctl.window(t0, t1)
            lag = [s for ln in ctl.window(t0, t2) for s in ln["lag"]]
            offered = len(step.calls)
            applied = [ln["applied"] for ln in during if ln.get("applied") is not None]
            span = during[-1]["t"] - during[0]["t"] if len(during) > 1 else 0.0
            writes_per_s = (applied[-1] - applied[0]) / span if len(applied) > 1 and span else None
            r = {
                "rate": step.rate,
                "offered": offered,
                "backlog_end": during[-1]["pending"] if during else None,
                "backlog_max": max((ln["pending"] for ln in during), default=None),
                "backlog_slope": round(slope([(ln["t"], ln["pending"]) for ln in during]), 2),
                "backlog_samples": [ln["pending"] for ln in during],
                "writes_per_s": None if writes_per_s is None else round(writes_per_s, 1),
                "lag_p99_ms": round(percentile(lag, 0.99) * 1000, 1),
                "lag_max_ms": round(max(lag, default=0.0) * 1000, 1),
                "calls_in_progress_at_next_step": ctl.last.get("calls"),
                # False: some of the step's calls were still running when the next began,
                # so part of their CPU falls in the next step (per-call figures too low)
                "settled": ctl.last.get("calls") == 0,
                "controller_cpu_s": round(cpu1[0] - cpu0[0], 2),
                "pbxsim_cpu_s": round(cpu1[1] - cpu0[1], 2),
                "controller_cpu_ms_per_call": round(
                    (cpu1[0] - cpu0[0]) * 1000 / max(1, offered), 2
                ),
                "controller_loop_cpu_ms_per_call": round(
                    (cpu1[2] - cpu0[2]) * 1000 / max(1, offered), 2
                ),
                "pbxsim_cpu_ms_per_call": round((cpu1[1] - cpu0[1]) * 1000 / max(1, offered), 2),
                # the loop thread runnable but not running: the machine's other work (and
                # the controller's other threads) held the cores meanwhile
                "controller_loop_runq_wait_s": None if waited is None else round(waited, 2),
                "controller_loop_cpu_s": round(cpu1[2] - cpu0[2], 2),
                # the writer's own thread (its asyncio loop: rounds, journal, the driver's
                # encoding); aiosqlite's thread and the hashing threads are the rest
                "writer_cpu_s": None if w0 is None or w1 is None else round(w1[0] - w0[0], 2),
                "writer_runq_wait_s": None
                if w0 is None or w1 is None or w0[1] is None or w1[1] is None
                else round(w1[1] - w0[1], 2),
            }
            results.append(r)
            say(f"  {step.rate:5g}/s offered {offered:5}  backlog end {r['backlog_end']} "
                f"slope {r['backlog_slope']:+.1f}/s  lag p99 {r['lag_p99_ms']} ms "
                f"max {r['lag_max_ms']} ms  cpu/call controller {r['controller_cpu_ms_per_call']} "
                f"ms, pbxsim {r['pbxsim_cpu_ms_per_call']} ms")  # fmt: skip
        # every call ends, every write lands, then SQL is read
        deadline = time.time() + args.drain_s
        while time.time() < deadline and (ctl.last.get("calls") or ctl.last.get("pending")):
            time.sleep(0.25)
        drained = {"calls": ctl.last.get("calls"), "pending": ctl.last.get("pending")}
        with contextlib.suppress(ProcessLookupError):
            pbx.send_signal(signal.SIGTERM)
        ctl.stop()
        final = ctl.final
        good, seen = asyncio.run(outcomes_by_number(url))
        for step, r in zip(steps, results, strict=True):
            keys = [number[-8:] for _, number in step.calls]
            ok = sum(1 for key in keys if good.get(key) == 1 and seen.get(key) == 1)
            r["one_outcome"] = ok
            r["lost"] = r["offered"] - ok
            r["rows"] = sum(seen.get(key, 0) for key in keys)
            # not growing: a falling trend, or never more than a second of the writer's
            # own throughput pending (a batch writer's backlog is a sawtooth whose
            # regression slope is as often a little above 0 as below)
            bound = max(FLAT_BACKLOG, r["writes_per_s"] or 0.0)
            flat = r["backlog_max"] is not None and r["backlog_max"] <= bound
            r["holds"] = (
                r["lost"] == 0
                and (r["backlog_slope"] <= 0 or flat)
                and r["lag_p99_ms"] < LAG_LIMIT_MS
            )
        held = [r for r in results if r["holds"]]
        best = max(held, key=lambda r: r["rate"]) if held else (results[0] if results else {})
        sustained = best["rate"] if held else 0.0
        return {
            "sustained_cps": sustained,
            "lower_steps_hold": all(r["holds"] for r in results if r["rate"] < sustained),
            "controller_cpu_ms_per_call": best.get("controller_cpu_ms_per_call"),
            "pbxsim_cpu_ms_per_call": best.get("pbxsim_cpu_ms_per_call"),
            "cpu_at_step": best.get("rate"),
            "steps": results,
            "database": re.sub(r"//[^@/]*@", "//", base_url).split("?")[0]
            if pg_name
            else "sqlite (temporary file)",
            "agents": agents,
            "step_s": args.step_s,
            "gap_s": args.gap_s,
            "talk_s": list(args.talk),
            "wrap_up_s": args.wrap_up_s,
            "drained": drained,
            "writer_final_pending": None if final is None else final.get("pending"),
            "cpus": os.cpu_count(),
            "gil_switch_ms": ctl.gil_switch_ms,
        }
    finally:
        if pbx is not None and pbx.poll() is None:
            pbx.kill()
        if ctl is not None:
            ctl.stop(timeout=30)
        if pg_name is not None:
            with contextlib.suppress(Exception):
                asyncio.run(
                    _pg_admin(base_url, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
                )
        if args.keep or sys.exc_info()[0] is not None:
            say(f"kept {work} (logs, database, scenario)")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _sleep_until(wall: float) -> None:
    delay = wall - time.time()
    if delay > 0:
        time.sleep(delay)


def print_table(out: dict[str, Any]) -> None:
    print(f"\npipeline: {out['database']}, {out['agents']} agents, {out['cpus']} CPUs, "
          f"{out['step_s']:g} s per step + {out['gap_s']:g} s gap, "
          f"GIL switch interval {out.get('gil_switch_ms')} ms")  # fmt: skip
    head = (f"{'calls/s':>7} {'offered':>7} {'1 outcome':>9} {'lost':>5} {'backlog':>8} "
            f"{'slope/s':>8} {'writes/s':>8} {'lag p99':>8} {'lag max':>8} {'ctl ms/call':>11} "
            f"{'loop':>6} {'waited':>6} {'writer':>6} "
            f"{'pbx ms/call':>11} {'ctl/pbx':>7} holds")  # fmt: skip
    print(head)
    print("-" * len(head))
    for r in out["steps"]:
        ratio = (
            f"{r['controller_cpu_ms_per_call'] / r['pbxsim_cpu_ms_per_call']:.2f}x"
            if r["pbxsim_cpu_ms_per_call"]
            else ""
        )
        mark = "" if r["settled"] else "*"
        wait, ran = r.get("controller_loop_runq_wait_s"), r.get("controller_loop_cpu_s")
        waited = f"{wait / ran:.2f}x" if wait is not None and ran else "-"
        wcpu = r.get("writer_cpu_s")
        writer = "-" if wcpu is None else f"{wcpu * 1000 / max(1, r['offered']):.2f}"
        print(f"{r['rate']:>7g} {r['offered']:>7} {r['one_outcome']:>9} {r['lost']:>5} "
              f"{str(r['backlog_end']):>8} {r['backlog_slope']:>+8.1f} "
              f"{'' if r['writes_per_s'] is None else round(r['writes_per_s']):>8} "
              f"{r['lag_p99_ms']:>6.1f}ms "
              f"{r['lag_max_ms']:>6.1f}ms {r['controller_cpu_ms_per_call']:>10.2f}{mark:1} "
              f"{r['controller_loop_cpu_ms_per_call']:>6.2f} {waited:>6} {writer:>6} "
              f"{r['pbxsim_cpu_ms_per_call']:>11.2f} {ratio:>7} {'yes' if r['holds'] else 'no'}")  # fmt: skip
    print("(ctl ms/call: the controller's CPU per call, all its threads; loop: its event-loop "
          "thread alone; waited: how long that thread waited, runnable, for a core per second "
          "it ran; writer: the writer's thread alone, ms per call)")  # fmt: skip
    if not all(r["settled"] for r in out["steps"]):
        print("* calls of the step still in progress when the next step began: part of their CPU "
              "is counted in the next step")  # fmt: skip
    print(f"sustained: {out['sustained_cps']:g} calls/s (0 lost, backlog not growing, lag p99 < "
          f"{LAG_LIMIT_MS:g} ms); at {out['cpu_at_step']:g}/s the controller used "
          f"{out['controller_cpu_ms_per_call']} ms of CPU per call, pbxsim "
          f"{out['pbxsim_cpu_ms_per_call']} ms")  # fmt: skip


def _rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of rates: {text!r}") from None
    if not rates or min(rates) <= 0:
        raise argparse.ArgumentTypeError("rates must be > 0")
    if len(rates) > 10:
        raise argparse.ArgumentTypeError("at most 10 steps")
    return rates


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--steps",
        type=_rates,
        default=list(DEFAULT_STEPS),
        help="arrival rates in calls/s, comma-separated (default 25,50,100,200,300)",
    )
    p.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary dir)")
    p.add_argument("--step-s", type=float, default=10.0, help="seconds of arrivals per step")
    p.add_argument("--gap-s", type=float, default=5.0, help="seconds with no arrival after a step")
    p.add_argument("--lead-s", type=float, default=20.0, help="seconds before the first arrival")
    p.add_argument("--drain-s", type=float, default=60.0, help="longest wait for the last calls")
    p.add_argument("--agents", type=int, default=0, help="default: 2.5 x the top rate")
    p.add_argument("--talk", type=float, nargs=2, default=(0.5, 1.0), metavar=("MIN", "MAX"))
    p.add_argument("--wrap-up-s", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs, database)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    p.add_argument(
        "--profile",
        type=Path,
        help="run the controller's event loop under cProfile and write its stats here "
        "(the figures then include the profiler's own cost)",
    )
    p.add_argument(
        "--gil-switch-ms",
        type=float,
        help="after start, set the controller's GIL switch interval to this (an A/B of the "
        "writer's gil_switch_s: 5 is CPython's default)",
    )
    p.add_argument("--controller", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.controller:
        if args.profile is None:
            asyncio.run(controller_main(args.controller, args.gil_switch_ms))
            return 0
        import cProfile

        with cProfile.Profile() as prof:
            asyncio.run(controller_main(args.controller, args.gil_switch_ms))
        prof.dump_stats(args.profile)
        return 0
    out = run(args)
    if args.json:
        with contextlib.redirect_stdout(sys.stderr):
            print_table(out)
        print(json.dumps(out))
    else:
        print_table(out)
    if args.profile is not None and args.profile.exists():
        import pstats

        with contextlib.redirect_stdout(sys.stderr if args.json else sys.stdout):
            print(f"\ncontroller event loop profile ({args.profile}), by cumulative time:")
            pstats.Stats(str(args.profile), stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
