"""Smoke test for bench/takeover.py: two leader kills at a low load on PostgreSQL.

Checks the JSON's shape and that no call was lost (every caller pbxsim saw is one
calls row with exactly one outcome); no timing threshold: a takeover's speed
depends on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "takeover.py"


def test_two_kills_lose_no_call() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--kills", "2", "--rate", "10", "--json"],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(out)[:5] == ["kills", "takeover_p50_s", "takeover_p99_s", "calls", "lost_calls"]
    assert out["kills"] == 2 and len(out["takeover_s"]) == 2
    assert out["calls"] > 0
    assert out["lost_calls"] == 0
    assert out["takeover_p50_s"] <= out["takeover_p99_s"]
