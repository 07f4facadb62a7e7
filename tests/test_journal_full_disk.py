"""The write journal on a full disk: writes wait and are retried; at close they are
given up, each one logged as LOST.

The disk is filled for real: a subprocess limits the size its files may grow to
(``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored, so a write past it fails with
``EFBIG`` as one on a full disk fails with ``ENOSPC``: SQLite answers "disk I/O
error"). The soft limit is raised again to free the disk. The database is an
address where nothing listens, so every write stays in the journal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .e2e_support import ROOT
from .test_writer_outage import free_port

SCRIPT = r"""
import asyncio, datetime as dt, json, logging, os, resource, signal, sys, time
from callcenter.storage import Journal, RecordCallEvent, StoreWriter

folder, url = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
lines = []


class Keep(logging.Handler):
    def emit(self, record):
        lines.append(record.getMessage())


writer_log = logging.getLogger("callcenter.storage.writer")
writer_log.addHandler(Keep())
writer_log.setLevel(logging.INFO)
AT = dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC)


def fill_disk(path):
    # the journal's files may grow 8 KiB more; the writes below need about 200 KiB
    files = [p for p in (path, path + "-wal") if os.path.exists(p)]
    limit = max(os.path.getsize(p) for p in files) + 8192
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


def free_disk():
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


async def until(cond, timeout, what):
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}: {lines}")
        await asyncio.sleep(0.05)


def refusals():
    return sum("cannot append to the write journal" in line for line in lines)


def journaled(path, tag):
    journal = Journal(path)
    try:
        return sorted(json.loads(e.payload)["kind"] for e in journal.read(0, 10_000)
                      if tag in e.payload)
    finally:
        journal.close()


async def main():
    out = {}
    writes = lambda tag, n: [RecordCallEvent("pbxsim:1.1", AT, f"{tag}-{i:03}", {"pad": "x" * 2000})
                             for i in range(n)]
    # 1. the disk fills up, then space is freed: every write reaches the journal
    first = os.path.join(folder, "first.db")
    w = StoreWriter(url, journal=first, retry_delay_s=60, max_retry_delay_s=60,
                    close_timeout_s=1.0)
    w.start()
    fill_disk(first)
    for r in writes("first", 100):
        w.submit(r)
    await until(lambda: refusals() >= 2, 60, "the journal to refuse the writes twice")
    out["retries"], out["error"] = refusals(), w.last_error
    out["waiting"] = w.unjournaled
    free_disk()
    await until(lambda: w.unjournaled == 0, 60, "the writes to reach the journal")
    await w.close()
    out["first_lost"], out["first_journaled"] = w.lost, journaled(first, "first-")
    # 2. the disk stays full through close(): given up, every write logged as LOST
    lines.clear()
    second = os.path.join(folder, "second.db")
    w = StoreWriter(url, journal=second, retry_delay_s=60, max_retry_delay_s=60,
                    close_timeout_s=1.0)
    w.start()
    fill_disk(second)
    for r in writes("second", 50):
        w.submit(r)
    await until(lambda: refusals() >= 1, 60, "the journal to refuse the writes")
    await w.close()
    free_disk()
    out["second_lost"], out["second_journaled"] = w.lost, journaled(second, "second-")
    out["lost_lines"] = [line for line in lines if "LOST" in line]
    print(json.dumps(out))


asyncio.run(main())
"""


def run_full_disk(tmp_path: Path) -> dict[str, object]:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nobody_listens"
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), url],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_a_full_disk_keeps_writes_waiting_and_close_logs_each_one_lost(tmp_path: Path):
    out = run_full_disk(tmp_path)
    print({k: v for k, v in out.items() if k not in ("first_journaled", "lost_lines")})
    # while the disk was full the writes waited (retried each second), none lost
    assert isinstance(out["retries"], int) and out["retries"] >= 2
    assert "disk I/O error" in str(out["error"]) and isinstance(out["waiting"], int)
    assert out["waiting"] > 0, "no write waited for the disk"
    assert out["first_lost"] == 0
    assert out["first_journaled"] == [f"first-{i:03}" for i in range(100)]
    # at close, the full disk is given up: each write not journaled is logged as LOST
    journaled = out["second_journaled"]
    assert isinstance(journaled, list) and isinstance(out["second_lost"], int)
    assert out["second_lost"] >= 1 and out["second_lost"] + len(journaled) == 50
    lost_text = " ".join(str(line) for line in out["lost_lines"])  # type: ignore[attr-defined]
    for i in range(50):
        tag = f"second-{i:03}"
        assert (tag in lost_text) != (tag in journaled), f"{tag}: lost and journaled, or neither"
