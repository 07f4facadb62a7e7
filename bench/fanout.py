"""Live fan-out between processes: PostgreSQL LISTEN/NOTIFY vs Redis pub/sub.

One process publishes, another receives, as a leader's web node and a standby's
would (issue 18): ``--count`` messages of each size through each backend, in the
same run. Two sizes:

- ``pop``: a screen-pop as the call flow pushes it (``CallFlow._screen_pop``: the
  customer card with numbers, contact history and tickets, the IVR's facts and
  readable steps), about 2 kB of UTF-8 JSON;
- ``board``: a whole wallboard snapshot of ``--queues`` queues and ``--agents``
  agents (``bench/wallboard.py``'s board: the desk's keys and sizes), about 19 kB
  at the default 10 / 100.

PostgreSQL refuses a NOTIFY payload of 8000 bytes or more, so a larger message goes
as numbered chunks in one transaction (notifications of one transaction are
delivered together and in order, at its commit) and the receiver joins them; Redis
takes the message whole. Each message carries its send time
(``time.monotonic()``: one clock for every process of a Linux machine).

Two phases per backend and size, ``--repeat`` times (medians), the backends' order
alternating:

- latency: messages one at a time, ``--gap-ms`` apart; p50 / p99 of publish to the
  receiver's parsed message;
- throughput: ``--count`` messages back to back, each publish awaited before the next
  (one publisher task, as a controller would run it); messages per second from the
  first publish to the last message received, and the publisher's own rate.

Printed side by side with the PostgreSQL / Redis ratio (above 1: Redis is faster).

Not measured: a network between two machines (loopback only), TLS, many subscribers
(one here; both servers copy a message per subscriber), a server under other load
than this machine's, what the browsers do after (``bench/wallboard.py``), and what
either server does when it restarts (the tests kill the fan-out link instead).

    .venv/bin/python bench/fanout.py
    .venv/bin/python bench/fanout.py --count 500 --repeat 1 --json   # the last line: one JSON object
    .venv/bin/python bench/fanout.py --postgres postgresql://postgres@127.0.0.1:5432/test \\
        --redis redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from wallboard import Floor  # noqa: E402

#: PostgreSQL's NOTIFY payload must be shorter than this (bytes, server encoding)
NOTIFY_LIMIT = 8000
#: chunk payload size: the limit less room for the "<id> <index> <total> " header
CHUNK = NOTIFY_LIMIT - 100
BACKENDS = ("postgres", "redis")
SIZES = ("pop", "board")


def screen_pop() -> dict[str, Any]:
    """A screen-pop as ``CallFlow._screen_pop`` builds it, for a customer with a history."""
    card = {
        "customer_id": 4211, "full_name": "Nguyễn Thị Minh Khai", "account_no": "4000123412341234",
        "tier": "vip", "numbers": ["+84901234567", "+84283823456"],
        "last_interactions": [
            {"at": f"2026-11-{d:02d}T09:{d:02d}:00+00:00", "disposition": "resolved",
             "notes": "Khách hỏi về hoá đơn tháng trước; đã giải thích phí dịch vụ và gửi email."}
            for d in range(1, 6)
        ],
        "language": "vi", "notes": "Khách hàng thân thiết từ 2019; ưu tiên gọi lại buổi sáng.",
        "tickets": [{"id": f"T-{n}", "subject": "Sai số tiền trên hoá đơn điện tử",
                     "status": "open", "escalation": n % 2 == 0} for n in (101, 102)],
    }  # fmt: skip
    ivr = {
        "language": "vi", "selections": ["1", "2"], "queue": "billing",
        "path": "welcome > language:vi > main:1 > billing:2 > account",
        "entries": {"account": "40001234****1234"},
        "steps": [{"node": n, "label": f"Bước {i}: {n}", "input": str(i)}
                  for i, n in enumerate(("welcome", "language", "main", "billing", "account"))],
    }  # fmt: skip
    return {"type": "screen_pop", "call_id": "pbx1:1733390000.1234",
            "caller_number": "+84901234567", "card": card, "crm": "found", "ivr": ivr}  # fmt: skip


def message(size: str, queues: int, agents: int) -> dict[str, Any]:
    if size == "pop":
        return {"agent": "1001", "message": screen_pop()}
    floor = Floor(queues, agents, seed=1)
    for _ in range(agents // 3):
        floor.call_arrives()
    floor.step_agents(0.7)
    return floor.board()


def encode(body: dict[str, Any], seq: int) -> str:
    return json.dumps({"seq": seq, "sent": time.monotonic(), "body": body},
                      ensure_ascii=False, separators=(",", ":"))  # fmt: skip


# -- the two backends -------------------------------------------------------------------


class Publisher(Protocol):
    async def publish(self, text: str) -> None: ...

    async def close(self) -> None: ...


class PgPublisher:
    """NOTIFY through one kept asyncpg connection; larger payloads in chunks, one
    transaction."""

    def __init__(self, conn: Any, channel: str) -> None:
        self.conn, self.channel = conn, channel
        self.serial = 0

    @classmethod
    async def open(cls, url: str, channel: str) -> PgPublisher:
        import asyncpg

        return cls(await asyncpg.connect(url), channel)

    async def publish(self, text: str) -> None:
        data = text.encode()
        if len(data) < NOTIFY_LIMIT:
            await self.conn.execute("SELECT pg_notify($1, $2)", self.channel, text)
            return
        self.serial += 1
        # cut at character boundaries (a chunk is text), each under the limit with its header
        chunks, start = [], 0
        while start < len(text):
            end = _fit(text, start, CHUNK)
            chunks.append(text[start:end])
            start = end
        async with self.conn.transaction():
            for i, chunk in enumerate(chunks):
                await self.conn.execute("SELECT pg_notify($1, $2)", self.channel,
                                        f"~{self.serial} {i} {len(chunks)} {chunk}")  # fmt: skip

    async def close(self) -> None:
        await self.conn.close()


def _fit(text: str, start: int, limit: int) -> int:
    """The end of the longest slice of ``text`` from ``start`` that is < ``limit`` bytes."""
    lo, hi = start, len(text)
    if len(text[start:].encode()) < limit:
        return hi
    while lo < hi:  # largest end with bytes < limit
        mid = (lo + hi + 1) // 2
        if len(text[start:mid].encode()) < limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


class RedisPublisher:
    def __init__(self, client: Any, channel: str) -> None:
        self.client, self.channel = client, channel

    @classmethod
    async def open(cls, url: str, channel: str) -> RedisPublisher:
        import redis.asyncio as redis

        client = redis.from_url(url)
        await client.ping()
        return cls(client, channel)

    async def publish(self, text: str) -> None:
        await self.client.publish(self.channel, text)

    async def close(self) -> None:
        await self.client.aclose()


async def pg_messages(url: str, channel: str, ready: asyncio.Event) -> AsyncIterator[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    inbox: asyncio.Queue[str] = asyncio.Queue()
    await conn.add_listener(channel, lambda _c, _pid, _ch, payload: inbox.put_nowait(payload))
    ready.set()
    pending: dict[str, list[str]] = {}
    try:
        while True:
            payload = await inbox.get()
            if not payload.startswith("~"):
                yield payload
                continue
            serial, index, total, chunk = payload[1:].split(" ", 3)
            parts = pending.setdefault(serial, [])
            parts.append(chunk)
            assert int(index) == len(parts) - 1, "chunks out of order"
            if len(parts) == int(total):
                del pending[serial]
                yield "".join(parts)
    finally:
        await conn.close()


async def redis_messages(url: str, channel: str, ready: asyncio.Event) -> AsyncIterator[str]:
    import redis.asyncio as redis

    client = redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    ready.set()
    try:
        async for item in pubsub.listen():
            if item["type"] == "message":
                yield item["data"].decode()
    finally:
        await pubsub.aclose()
        await client.aclose()


# -- the receiving process ----------------------------------------------------------------


async def receive(args: argparse.Namespace) -> None:
    """``--receive BACKEND``: print ``ready``, then one JSON line once ``--expect``
    messages came: each message's latency and the first and last receipt times."""
    ready = asyncio.Event()
    source = (pg_messages(args.postgres, args.channel, ready) if args.receive == "postgres"
              else redis_messages(args.redis, args.channel, ready))  # fmt: skip
    latencies: list[float] = []
    first = last = 0.0
    seen: set[int] = set()

    async def collect() -> None:
        nonlocal first, last
        async for text in source:
            now = time.monotonic()
            item = json.loads(text)
            if not latencies:
                first = now
            last = now
            latencies.append(now - item["sent"])
            seen.add(item["seq"])
            if len(latencies) == args.expect:
                return

    task = asyncio.create_task(collect())
    await ready.wait()
    print("ready", flush=True)
    await asyncio.wait_for(task, timeout=args.timeout)
    print(json.dumps({"latencies": latencies, "first": first, "last": last,
                      "distinct": len(seen)}), flush=True)  # fmt: skip


# -- the publishing process ---------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _receiver(args: argparse.Namespace, backend: str, channel: str, expect: int) -> Any:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--receive", backend, "--channel", channel,
        "--expect", str(expect), "--postgres", args.postgres, "--redis", args.redis,
        "--timeout", str(args.timeout), stdout=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=args.timeout)
    if line.strip() != b"ready":
        raise RuntimeError(f"the {backend} receiver did not start: {line!r}")
    return proc


async def _finish(proc: Any) -> dict[str, Any]:
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"a receiver failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def one(args: argparse.Namespace, backend: str, size: str) -> dict[str, Any]:
    body = message(size, args.queues, args.agents)
    channel = f"bench_fanout_{uuid.uuid4().hex[:12]}"
    pub: Publisher = await (PgPublisher.open(args.postgres, channel) if backend == "postgres"
                            else RedisPublisher.open(args.redis, channel))  # fmt: skip
    try:
        # latency: one at a time, paced
        proc = await _receiver(args, backend, channel, args.count)
        for seq in range(args.count):
            await pub.publish(encode(body, seq))
            await asyncio.sleep(args.gap_ms / 1000)
        paced = await _finish(proc)
        # throughput: back to back
        proc = await _receiver(args, backend, channel, args.count)
        started = time.monotonic()
        for seq in range(args.count):
            await pub.publish(encode(body, seq))
        published = time.monotonic()
        burst = await _finish(proc)
    finally:
        await pub.close()
    for run in (paced, burst):
        if run["distinct"] != args.count:
            raise RuntimeError(f"{backend} {size}: {run['distinct']} of {args.count} arrived")
    lat = paced["latencies"]
    return {
        "bytes": len(encode(body, 0).encode()),
        # PostgreSQL: NOTIFYs per message (one transaction)
        "notifies": -(-len(encode(body, 0).encode()) // CHUNK) if backend == "postgres" else 1,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": _percentile(lat, 0.99) * 1000,
        "msgs_per_s": args.count / max(burst["last"] - started, 1e-9),
        "publish_per_s": args.count / max(published - started, 1e-9),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"count": args.count, "queues": args.queues, "agents": args.agents,
                           "gap_ms": args.gap_ms, "repeat": args.repeat,
                           "notify_limit_bytes": NOTIFY_LIMIT}  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {}
    for r in range(args.repeat):
        for i, size in enumerate(SIZES):  # the backends' order alternates
            order = BACKENDS if (r + i) % 2 == 0 else BACKENDS[::-1]
            for backend in order:
                runs.setdefault(f"{backend}_{size}", []).append(await one(args, backend, size))
    for name, results in runs.items():
        for key in results[0]:
            out[f"{name}_{key}"] = statistics.median(r[key] for r in results)
    for size in SIZES:
        for key in ("p50_ms", "p99_ms"):  # > 1: Redis is faster
            out[f"{size}_{key}_pg_over_redis"] = out[f"postgres_{size}_{key}"] / max(
                out[f"redis_{size}_{key}"], 1e-9)  # fmt: skip
        out[f"{size}_msgs_per_s_redis_over_pg"] = out[f"redis_{size}_msgs_per_s"] / max(
            out[f"postgres_{size}_msgs_per_s"], 1e-9)  # fmt: skip
    out["load_1m"] = os.getloadavg()[0]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=1000, help="messages per backend, size and phase")
    p.add_argument("--repeat", type=int, default=3, help="runs, the backends' order alternating")
    p.add_argument("--gap-ms", type=float, default=2.0, help="between paced messages")
    p.add_argument("--queues", type=int, default=10)
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--postgres", default=os.environ.get(
        "HOTLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))  # fmt: skip
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--receive", choices=BACKENDS, help=argparse.SUPPRESS)
    p.add_argument("--channel", help=argparse.SUPPRESS)
    p.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.receive:
        asyncio.run(receive(args))
        return
    out = asyncio.run(run(args))
    print(f"{args.count} messages per backend, size and phase, medians of {args.repeat} runs; paced {args.gap_ms:g} ms apart "
          f"for latency, back to back for throughput; load {out['load_1m']:.1f}")  # fmt: skip
    print(f"  {'size':6} {'bytes':>7}  {'':8} {'p50 ms':>8} {'p99 ms':>8} {'msg/s':>9} "
          f"{'publish/s':>10}")  # fmt: skip
    for size in SIZES:
        for backend in BACKENDS:
            k = f"{backend}_{size}"
            print(f"  {size:6} {out[f'{k}_bytes']:7d}  {backend:8} {out[f'{k}_p50_ms']:8.2f} "
                  f"{out[f'{k}_p99_ms']:8.2f} {out[f'{k}_msgs_per_s']:9.0f} "
                  f"{out[f'{k}_publish_per_s']:10.0f}")  # fmt: skip
        print(f"  {size:6} PostgreSQL / Redis: p50 {out[f'{size}_p50_ms_pg_over_redis']:.2f}x, "
              f"p99 {out[f'{size}_p99_ms_pg_over_redis']:.2f}x; Redis / PostgreSQL "
              f"throughput {out[f'{size}_msgs_per_s_redis_over_pg']:.2f}x")  # fmt: skip
    print("  not measured: two machines, TLS, many subscribers, a server restart")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
