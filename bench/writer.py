"""StoreWriter throughput: N calls' worth of writes, submitted at once, then flushed.

Each call is the 14 writes the call-flow core and the recorder make for an
answered, recorded call (start, IVR update, queued event, card update, agent
ringing/talking/wrap-up/ready, answer update, recording start and finish, end
update, hangup event, outcome). Prints, per database: writes/s from the first
submit to the end of flush, and the event loop's CPU per write (the main
thread's CPU time over the run divided by the writes: what the writer takes
from the loop that also runs the calls), the CPU of the process's other threads
per write (the writer's thread, aiosqlite's), and the worst loop lag seen by a
10 ms ticker during the run.

    .venv/bin/python bench/writer.py --calls 2000
    .venv/bin/python bench/writer.py --calls 2000 --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/writer.py --calls 2000 --rate 200   # paced as 200 calls/s
    .venv/bin/python bench/writer.py --json

On PostgreSQL the tables of the named database are used after a migration; the
rows the run adds are deleted afterwards (calls ``bench:*``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from callcenter.storage import (
    RecordAgentState,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    RecordRecording,
    Store,
    StoreWriter,
    make_engine,
    make_session_factory,
    migrate,
)
from callcenter.storage.models import Agent, Call, Recording

T0 = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def call_writes(n: int, agent_id: int) -> list[Any]:
    cid = f"bench:{n}"
    t = T0 + dt.timedelta(seconds=n)
    s = dt.timedelta(seconds=1)
    path = f"/var/spool/asterisk/monitor/bench-{n}.wav"
    return [
        RecordCallStarted(cid, str(n), "bench", t, caller_number="0901234567"),
        RecordCallUpdate(
            cid,
            language="vi",
            queue="support",
            queued_at=t + s,
            ivr_selections=("main=1", "lang=1"),
        ),  # fmt: skip
        RecordCallEvent(cid, t + s, "queued", {"queue": "support", "priority": 0}),
        RecordAgentState(agent_id, t + 2 * s, "ringing", "ready"),
        RecordCallUpdate(cid, answered_at=t + 3 * s, agent_id=agent_id, wait_s=2.0),
        RecordAgentState(agent_id, t + 3 * s, "talking", "ringing"),
        RecordRecording(cid, path, t + 3 * s, mixmonitor_id="0x1"),
        RecordCallUpdate(cid, ended_at=t + 9 * s),
        RecordCallEvent(cid, t + 9 * s, "hangup", {"why": "caller"}),
        RecordOutcome(cid, "support", "answered", 2.0, t + 9 * s, agent_id),
        RecordAgentState(agent_id, t + 9 * s, "wrapup", "talking"),
        RecordRecording(
            cid,
            path,
            t + 3 * s,
            ended_at=t + 9 * s,
            duration_s=6.0,
            size_bytes=96044,
            sha256="0" * 64,
        ),  # fmt: skip
        RecordAgentState(agent_id, t + 10 * s, "ready", "wrapup"),
        RecordCallUpdate(cid, talk_s=6.0),
    ]


async def run(
    url: str, calls: int, workdir: Path, rate: float = 0.0, busy_share: float = 0.0,
    busy_slice_s: float = 0.002, **writer_kw: Any,
) -> dict[str, Any]:
    await migrate(url)
    engine = make_engine(url)
    store = Store(make_session_factory(engine))
    async with store.write_session() as s:
        await s.execute(sa.delete(Recording).where(Recording.call_id.like("bench:%")))
        await s.execute(sa.delete(Call).where(Call.id.like("bench:%")))
        agent_id = await s.scalar(sa.select(Agent.id).where(Agent.username == "bench-agent"))
        if agent_id is None:
            agent = Agent(username="bench-agent", display_name="b", role="agent", password_hash="x")
            s.add(agent)
            await s.flush()
            agent_id = agent.id
    writes = [w for n in range(calls) for w in call_writes(n, agent_id)]
    loop = asyncio.get_running_loop()
    worst = 0.0
    backlog = 0
    running = True
    writer = StoreWriter(store, **writer_kw)

    async def ticker() -> None:
        nonlocal worst, backlog
        while running:
            t = loop.time()
            await asyncio.sleep(0.01)
            worst = max(worst, loop.time() - t - 0.01)
            backlog = max(backlog, writer.pending)

    async def busy() -> None:
        # A model of the controller's loop at 200 calls/s: ~0.75 of a core of Python, in
        # slices of busy_slice_s between which it polls its sockets (epoll: the GIL is
        # released and taken back). The writer's thread needs the GIL in between: how
        # long it waits for it is what this puts in the figures.
        window = 0.01
        while running:
            began = time.perf_counter()
            while time.perf_counter() - began < busy_share * window:
                until = time.perf_counter() + busy_slice_s
                while time.perf_counter() < until:
                    pass
                await asyncio.sleep(0)
            await asyncio.sleep(max(0.0, window - (time.perf_counter() - began)))

    tick = asyncio.create_task(ticker())
    burner = asyncio.create_task(busy()) if busy_share > 0 else None
    writer.start()
    lags: list[float] = []
    switch = sys.getswitchinterval()  # as the writer set it
    cpu0, wall0, proc0 = time.thread_time(), time.perf_counter(), time.process_time()
    if rate <= 0:
        for w in writes:
            writer.submit(w)
    else:  # a call's writes every 1/rate s, as a controller at that rate submits them
        per_call = len(writes) // calls
        start = loop.time()
        for n in range(calls):
            due = start + n / rate
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            lags.append(max(0.0, loop.time() - due))
            for w in writes[n * per_call : (n + 1) * per_call]:
                writer.submit(w)
    await writer.flush()
    wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
    others = time.process_time() - proc0 - cpu  # the writer's thread(s) and the drivers'
    running = False
    await tick
    if burner is not None:
        await burner
    await writer.close()
    waits = sorted(writer.journal_waits)
    async with store.write_session() as s:
        await s.execute(sa.delete(Recording).where(Recording.call_id.like("bench:%")))
        await s.execute(sa.delete(Call).where(Call.id.like("bench:%")))
    await engine.dispose()
    return {
        "database": url.split("+")[0],
        "calls": calls,
        "writes": len(writes),
        "writes_per_s": round(len(writes) / wall),
        "calls_per_s": round(calls / wall, 1),
        "loop_cpu_us_per_write": round(cpu / len(writes) * 1e6, 1),
        "other_threads_cpu_us_per_write": round(others / len(writes) * 1e6, 1),
        "loop_lag_max_ms": round(worst * 1000, 1),
        # the most writes pending at once (sampled every 10 ms): at --rate, a writer that
        # keeps pace holds about a round's worth (linger_s, 50 ms: ~140 at 200 calls/s)
        "backlog_max": backlog,
        "rate": rate or None,
        "gil_switch_ms": round(switch * 1000, 3),
        "busy": busy_share or None,
        "busy_slice_ms": busy_slice_s * 1000 if busy_share else None,
        "late_p99_ms": round(sorted(lags)[int(len(lags) * 0.99)] * 1000, 1) if lags else None,
        # submit() to the journal's fsync: the window a crash (SIGKILL) loses writes in
        "journal_appends": len(waits),
        "journal_wait_p50_ms": _ms(waits, 0.5),
        "journal_wait_p99_ms": _ms(waits, 0.99),
        "journal_wait_max_ms": _ms(waits, 1.0),
    }


def _ms(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=2000)
    p.add_argument("--database", action="append", help="async SQLAlchemy URL (repeatable)")
    p.add_argument("--rate", type=float, default=0.0,
                   help="calls/s to submit at (default: all at once)")  # fmt: skip
    p.add_argument("--journal-linger-ms", type=float, default=None,
                   help="StoreWriter(journal_linger_s=...) in ms (default: the writer's)")  # fmt: skip
    p.add_argument("--busy", type=float, default=0.0,
                   help="share of a core the event loop is kept busy with Python work "
                   "(0-0.95; the controller's loop at 200 calls/s: ~0.75)")  # fmt: skip
    p.add_argument("--busy-slice-ms", type=float, default=2.0,
                   help="--busy: how long each slice of that work holds the GIL (ms)")  # fmt: skip
    p.add_argument("--linger-ms", type=float, default=None,
                   help="StoreWriter(linger_s=...) in ms: rounds at least this far apart")  # fmt: skip
    p.add_argument("--gil-switch-ms", type=float, default=None,
                   help="StoreWriter(gil_switch_s=...) in ms; 0: leave CPython's 5 ms")  # fmt: skip
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        urls = args.database or [f"sqlite+aiosqlite:///{tmp}/bench.db"]
        kw: dict[str, Any] = (
            {}
            if args.journal_linger_ms is None
            else {"journal_linger_s": args.journal_linger_ms / 1000}
        )
        if args.linger_ms is not None:
            kw["linger_s"] = args.linger_ms / 1000
        if args.gil_switch_ms is not None:
            kw["gil_switch_s"] = args.gil_switch_ms / 1000 or None
        results = [
            asyncio.run(run(url, args.calls, Path(tmp), args.rate, args.busy,
                            args.busy_slice_ms / 1000, **kw))  # fmt: skip
            for url in urls
        ]
    if args.json:
        print(json.dumps(results))
        return
    for r in results:
        print(
            f"{r['database']:<12} {r['calls']} calls, {r['writes']} writes: "
            f"{r['writes_per_s']} writes/s ({r['calls_per_s']} calls/s), "
            f"loop CPU {r['loop_cpu_us_per_write']} us/write "
            f"(other threads {r['other_threads_cpu_us_per_write']}), "
            f"loop lag max {r['loop_lag_max_ms']} ms, backlog max {r['backlog_max']}; "
            f"{r['journal_appends']} journal appends, submit to fsync p50 "
            f"{r['journal_wait_p50_ms']} / p99 {r['journal_wait_p99_ms']} / max "
            f"{r['journal_wait_max_ms']} ms"
            + (f", at {r['rate']:g} calls/s: submits late by p99 {r['late_p99_ms']} ms"
               if r["rate"] else "")
            + (f"; loop kept {r['busy']:g} busy in {r['busy_slice_ms']:g} ms slices"
               if r["busy"] else "")
            + f"; GIL switch interval {r['gil_switch_ms']:g} ms"
        )  # fmt: skip


if __name__ == "__main__":
    main()
