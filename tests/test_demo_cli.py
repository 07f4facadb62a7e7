"""The README's demo command as a newcomer runs it (shortened): a real subprocess
with pbxsim as its own process, and the demo's end-of-run checks in its JSON line."""

from __future__ import annotations

import json
import subprocess
import sys


def test_demo_runs_and_every_call_has_one_outcome(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "demo", "--duration", "15", "--json",
         "--port", "0", "--time-scale", "3", "--calls-per-minute", "40", "--agents", "3",
         "--workdir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("calls_offered", "calls_answered", "calls_abandoned", "recordings",
                "screen_pops", "service_level", "asa_seconds", "loop_lag_p99_ms",
                "loop_lag_max_ms"):  # fmt: skip
        assert key in out, key
    assert out["calls_offered"] >= 3
    assert out["calls_without_outcome"] == 0 and out["duplicate_outcomes"] == 0
    # offered as the wallboard and the reports count it (docs/kpis.md): the calls that
    # reached a queue and left it; the IVR's hang-ups are calls, not offered ones
    assert (
        out["calls_answered"] + out["calls_abandoned"] + out["calls_timeout"]
        == out["calls_offered"]
        == out["calls"] - out["calls_ivr_hangup"]
    )  # fmt: skip
    assert out["recordings"] == out["recordings_verified"] == out["calls_answered"]
    assert out["screen_pops"] >= out["calls_answered"] > 0
    assert out["metrics_agree_with_sql"] is True
    assert "wallboard" in proc.stderr and "/supervisor" in proc.stderr
    # the seat for the person at the browser, printed with its login; nobody plays it
    assert "1 seat for you and 3 simulated agents" in proc.stderr
    assert "your seat" in proc.stderr and "login agent1 / agent1-pass" in proc.stderr
    assert "simulated  agent2 ... agent4" in proc.stderr
    assert "offline:1" in proc.stderr  # the seat: nobody logged it in
