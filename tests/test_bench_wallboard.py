"""Smoke test for bench/wallboard.py: it runs both ways, every supervisor rebuilt the
last published board from what it received (the bench exits non-zero otherwise), and
the last line is one JSON object. No timing is asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "wallboard.py"


def test_bench_runs_both_ways_and_the_boards_agree() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--queues", "5", "--agents", "40", "--supervisors", "2",
         "--seconds", "1.5", "--repeat", "1", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for way in ("delta", "snapshot"):
        assert out[f"{way}_messages_per_s"] > 0, way
        assert out[f"{way}_bytes_per_s"] > 0, way
        assert out[f"{way}_lag_p99_ms"] >= out[f"{way}_lag_p50_ms"] >= 0, way
    # a delta never carries the whole board again: fewer bytes for the same publishes
    assert out["delta_bytes_per_s"] < out["snapshot_bytes_per_s"]
    assert out["snapshot_vs_delta_bytes"] > 1
