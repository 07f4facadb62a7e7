"""Smoke test for bench/routing.py at a tiny size: it runs, its JSON has every field,
and every decision agreed with the naive full scan. No timing threshold."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "routing.py"


def test_routing_bench_runs_and_agrees_with_the_naive_scan() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--agents", "60", "--agents", "120", "--queues", "40",
         "--waiting", "25", "--decisions", "150", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [s["agents"] for s in out["sizes"]] == [60, 120]
    for size in out["sizes"]:
        assert size["queues"] == 40
        assert size["decisions"] == 150
        assert size["disagreements"] == 0
        assert size["waiting"] > 0
        for key in ("p50_us", "p99_us", "naive_p50_us", "snapshot_ms", "pick_p50_us"):
            assert isinstance(size[key], (int, float)) and size[key] > 0, key
        assert size["p99_us"] >= size["p50_us"]
