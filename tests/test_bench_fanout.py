"""Smoke test for bench/fanout.py: both backends carry every message of both sizes
(the bench exits non-zero when one is missing), a board larger than NOTIFY's limit
goes through PostgreSQL in chunks, and the last line is one JSON object. No timing is
asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_ADMIN_DSN

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "fanout.py"


def test_bench_carries_every_message_through_both_backends() -> None:
    url = PG_ADMIN_DSN  # the server's own database: NOTIFY needs no table
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--count", "40", "--repeat", "1", "--queues", "5",
         "--agents", "60", "--postgres", url, "--timeout", "120", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for backend in ("postgres", "redis"):
        for size in ("pop", "board"):
            key = f"{backend}_{size}"
            assert out[f"{key}_msgs_per_s"] > 0, key
            assert out[f"{key}_p99_ms"] >= out[f"{key}_p50_ms"] > 0, key
    assert out["postgres_board_bytes"] > out["notify_limit_bytes"] > out["postgres_pop_bytes"]
    assert out["postgres_board_notifies"] > 1 and out["postgres_pop_notifies"] == 1
    assert "not measured" in proc.stdout
