"""Wallboard traffic: bytes per second per supervisor and lag, deltas vs whole snapshots.

A floor of Q queues and A agents (default 50 / 500) changes at a call rate: each
call moves a queue's waiting count, then one agent through ringing, talking,
wrap-up and ready, and ends with an outcome that moves the queue's day figures.
The controller publishes at most every 0.2 s and at least every second (as
``ControllerDesk.start`` does). The boards are the wallboard JSON the desk
builds (same keys, same sizes); the hub is the real ``LiveHub`` and the
supervisors real aiohttp WebSocket clients of a real aiohttp server that
forwards each mailbox as ``callcenter.web.sockets`` does.

Two ways, interleaved in one run (A B A B ...), each ``--seconds`` long:
``delta`` (``LiveHub()``: a snapshot, then deltas) and ``snapshot`` (the earlier
way, ``LiveHub(deltas=False)``: every publish the whole board, coalesced).
Printed: bytes received per second per supervisor, messages per second, lag
(publish to receipt at the client, p50 / p99) and the snapshot / delta ratio
of bytes. Each client also rebuilds the board from what it received and the
run checks it equals the last published board (queue clocks aside).

Not measured: the browser's rendering, TLS, proxies, the desk's own cost of
building a board (the same in both ways).

    .venv/bin/python bench/wallboard.py
    .venv/bin/python bench/wallboard.py --queues 50 --agents 500 --supervisors 4 --seconds 10
    .venv/bin/python bench/wallboard.py --json   # the last line: one JSON object
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, WSMsgType, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from callcenter.board import VOLATILE, apply  # noqa: E402
from callcenter.live import LiveHub  # noqa: E402

STATES = ("ready", "ringing", "talking", "wrapup", "ready")
NAMES = ("Nguyễn Văn", "Trần Thị", "Lê Hoàng", "Phạm Minh", "Đặng Quốc", "Vũ Thu")


class Floor:
    """The wallboard JSON of a busy floor, changed call by call."""

    def __init__(self, queues: int, agents: int, seed: int) -> None:
        self.rng = random.Random(seed)
        now = time.time()
        self.queues = [
            {"name": f"queue-{i:02d}", "index": i, "waiting": 0, "oldest_at": None,
             "longest_wait_s": 0.0, "offered": 0, "answered": 0, "abandoned": 0,
             "service_level_pct": None, "service_level_30m_pct": None, "asa_s": None,
             "abandon_rate_pct": None, "sl_threshold_s": 20.0, "sl_target_pct": 80.0,
             "longest_wait_limit_s": 60.0,
             "agents": {"ready": agents // queues, "ringing": 0, "talking": 0, "wrapup": 0,
                        "paused": 0, "offline": 0}}
            for i in range(queues)
        ]  # fmt: skip
        self.agents = [
            {"id": str(1000 + i), "name": f"{self.rng.choice(NAMES)} {i}", "state": "ready",
             "since": round(now - self.rng.uniform(0, 3600), 1), "call_id": None,
             "pause_reason": None, "simulated": False, "calls": 0}
            for i in range(agents)
        ]  # fmt: skip
        #: agents in the middle of a call: index -> step in STATES
        self.busy: dict[int, int] = {}
        self.calls = 0

    def call_arrives(self) -> None:
        now = time.time()
        q = self.rng.choice(self.queues)
        q["waiting"] += 1
        q["oldest_at"] = q["oldest_at"] or round(now, 1)
        q["offered"] += 1
        free = [i for i in range(len(self.agents)) if i not in self.busy]
        if free:
            self.busy[self.rng.choice(free)] = 0
        self.calls += 1

    def step_agents(self, share: float) -> None:
        """Move about ``share`` of the busy agents one state on."""
        now = round(time.time(), 1)
        for i in list(self.busy):
            if self.rng.random() > share:
                continue
            step = self.busy[i] + 1
            a = self.agents[i]
            a["state"], a["since"] = STATES[step], now
            a["call_id"] = (
                f"pbx1:{1700000000 + i}.{self.calls}"
                if a["state"] in ("ringing", "talking")
                else None
            )
            if a["state"] == "talking":
                q = self.rng.choice(self.queues)
                q["waiting"] = max(0, q["waiting"] - 1)
                q["oldest_at"] = q["oldest_at"] if q["waiting"] else None
                q["answered"] += 1
                a["calls"] += 1
                q["service_level_pct"] = round(self.rng.uniform(60, 100), 1)
                q["asa_s"] = round(self.rng.uniform(3, 30), 1)
                q["abandon_rate_pct"] = round(100 * q["abandoned"] / max(q["offered"], 1), 1)
            if step == len(STATES) - 1:
                del self.busy[i]
            else:
                self.busy[i] = step

    def board(self) -> dict[str, Any]:
        now = time.time()
        for q in self.queues:
            q["longest_wait_s"] = round(now - q["oldest_at"], 1) if q["oldest_at"] else 0.0
        waiting = sum(q["waiting"] for q in self.queues)
        return {
            "at": now, "waiting": waiting,
            "oldest_at": min((q["oldest_at"] for q in self.queues if q["oldest_at"]), default=None),
            "longest_wait_s": max(q["longest_wait_s"] for q in self.queues),
            "offered": sum(q["offered"] for q in self.queues),
            "answered": sum(q["answered"] for q in self.queues),
            "abandoned": 0, "service_level_pct": 91.2, "service_level_30m_pct": 88.0,
            "asa_s": 7.5, "abandon_rate_pct": 1.2, "sl_target_pct": 80.0, "sl_threshold_s": 20.0,
            "day_start": now - 3600,
            "thresholds": {"sl_amber_band_pct": 10.0, "longest_wait_amber_pct": 50.0,
                           "abandon_amber_pct": 5.0, "abandon_red_pct": 10.0},
            "queues": [dict(q, agents=dict(q["agents"])) for q in self.queues],
            "waiting_calls": [],
            "agents": [dict(a) for a in self.agents],
            "ami": [{"node": "pbx1", "connected": True, "error": None}],
            "pbx_down": [],
        }  # fmt: skip


def _stable(board: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in board.items() if k not in ("at", "longest_wait_s")}
    out["queues"] = sorted(({k: v for k, v in q.items() if k not in VOLATILE} for q in board["queues"]),
                           key=lambda q: q["name"])  # fmt: skip
    out["agents"] = sorted(board["agents"], key=lambda a: a["id"])
    return out


async def one_run(args: argparse.Namespace, deltas: bool, seed: int) -> dict[str, Any]:
    hub = LiveHub(deltas=deltas)
    floor = Floor(args.queues, args.agents, seed)

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        box = hub.subscribe_wallboard(floor.board)
        try:
            while (item := await box.get()) is not None:
                await ws.send_str(item.text)
        except ConnectionError:
            pass
        finally:
            hub.unsubscribe(box)
        return ws

    app = web.Application()
    app.router.add_get("/ws", socket)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stats = [{"bytes": 0, "messages": 0, "lags": [], "board": {}} for _ in range(args.supervisors)]
    measuring = asyncio.Event()

    async def supervisor(st: dict[str, Any], session: ClientSession, ready: asyncio.Event) -> None:
        async with session.ws_connect(f"http://127.0.0.1:{port}/ws", max_msg_size=0) as ws:
            ready.set()
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    break
                got = time.time()
                data = json.loads(msg.data)
                kind = data.pop("type")
                st["board"] = data if kind == "wallboard" else apply(st["board"], data)
                if measuring.is_set():
                    st["bytes"] += len(msg.data.encode())
                    st["messages"] += 1
                    st["lags"].append(got - st["board"]["at"])

    async with ClientSession() as session:
        readies = [asyncio.Event() for _ in stats]
        clients = [
            asyncio.create_task(supervisor(st, session, r))
            for st, r in zip(stats, readies, strict=True)
        ]
        for r in readies:
            await r.wait()
        loop = asyncio.get_running_loop()
        measuring.set()
        start = loop.time()
        next_call, last_publish, dirty = start, start, False
        published = 0
        while loop.time() - start < args.seconds:
            await asyncio.sleep(0.2)  # the desk's burst
            now = loop.time()
            while next_call <= now:
                floor.call_arrives()
                next_call += 1 / args.calls_per_s
                dirty = True
            floor.step_agents(0.3)
            if dirty or now - last_publish >= 1.0:
                hub.publish_wallboard(floor.board())
                published += 1
                last_publish, dirty = now, False
        elapsed = loop.time() - start
        last = hub.latest_wallboard
        await asyncio.sleep(0.5)  # the last messages reach the clients (not measured)
        measuring.clear()
        hub.close()
        for c in clients:
            c.cancel()
        await asyncio.gather(*clients, return_exceptions=True)
    await runner.cleanup()
    assert last is not None
    for st in stats:
        if _stable(st["board"]) != _stable(dict(last)):
            raise SystemExit(
                f"{'delta' if deltas else 'snapshot'}: a client's board differs from the last published"
            )
    lags = sorted(lag for st in stats for lag in st["lags"])
    return {
        "bytes_per_s": statistics.mean(st["bytes"] for st in stats) / elapsed,
        "messages_per_s": statistics.mean(st["messages"] for st in stats) / elapsed,
        "lag_p50_ms": 1000 * lags[len(lags) // 2] if lags else 0.0,
        "lag_p99_ms": 1000 * lags[min(len(lags) - 1, int(0.99 * len(lags)))] if lags else 0.0,
        "publishes_per_s": published / elapsed,
        "snapshot_bytes": len(json.dumps(last, ensure_ascii=False, separators=(",", ":")).encode()),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"delta": [], "snapshot": []}
    for r in range(args.repeat):
        order = ("delta", "snapshot") if r % 2 == 0 else ("snapshot", "delta")
        for way in order:
            runs[way].append(await one_run(args, way == "delta", seed=r))
    out: dict[str, Any] = {"queues": args.queues, "agents": args.agents,
                           "supervisors": args.supervisors, "calls_per_s": args.calls_per_s}  # fmt: skip
    for way, results in runs.items():
        for key in results[0]:
            out[f"{way}_{key}"] = statistics.median(r[key] for r in results)
    out["snapshot_vs_delta_bytes"] = out["snapshot_bytes_per_s"] / max(
        out["delta_bytes_per_s"], 1e-9
    )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--queues", type=int, default=50)
    p.add_argument("--agents", type=int, default=500)
    p.add_argument("--supervisors", type=int, default=4)
    p.add_argument("--calls-per-s", type=float, default=5.0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--repeat", type=int, default=2, help="A/B pairs, the order alternating")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    out = asyncio.run(run(args))
    print(f"{args.queues} queues, {args.agents} agents, {args.supervisors} supervisors, "
          f"{args.calls_per_s:g} calls/s, {args.repeat} A/B pair(s) of {args.seconds:g} s (medians)")  # fmt: skip
    for way in ("delta", "snapshot"):
        print(f"  {way:8} {out[f'{way}_bytes_per_s'] / 1000:9.1f} kB/s per supervisor  "
              f"{out[f'{way}_messages_per_s']:5.2f} msg/s  lag p50 {out[f'{way}_lag_p50_ms']:6.1f} ms  "
              f"p99 {out[f'{way}_lag_p99_ms']:6.1f} ms")  # fmt: skip
    print(
        f"  whole board {out['delta_snapshot_bytes'] / 1000:.1f} kB; "
        f"snapshot / delta bytes: {out['snapshot_vs_delta_bytes']:.1f}x"
    )
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
