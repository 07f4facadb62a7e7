"""Smoke test for bench/ewt_accuracy.py: it runs small and its last line is one JSON
object with the keys the issue names. No figure is asserted (that is the bench's job)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ewt_bench_prints_its_json_object() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ewt_accuracy.py"), "--calls", "400", "--json"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("ours_mae_s", "ours_within_20pct", "app_queue_mae_s", "app_queue_within_20pct"):
        assert isinstance(out[key], float), key
    assert isinstance(out["calls"], int) and out["calls"] > 0
