"""Smoke test for bench/pipeline.py: one tiny step through real pbxsim and a real controller.

Checks what the bench reports can be trusted to count (every call it offered
found in SQL with one outcome, CPU read for both processes, the JSON shape);
no timing threshold: whether a step "holds" depends on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "pipeline.py"


def test_one_tiny_step_counts_every_call_once() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--steps", "3", "--step-s", "3", "--gap-s", "4",
         "--lead-s", "15", "--agents", "6", "--json"],
        capture_output=True, text=True, timeout=240, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("sustained_cps", "controller_cpu_ms_per_call", "pbxsim_cpu_ms_per_call", "steps"):
        assert key in out, key
    [step] = out["steps"]
    assert step["rate"] == 3
    assert step["offered"] > 0
    # every call pbxsim placed is one calls row with an outcome, none twice
    assert step["rows"] == step["offered"]
    assert step["one_outcome"] == step["offered"] and step["lost"] == 0
    assert step["controller_cpu_s"] > 0 and step["pbxsim_cpu_s"] > 0
    assert step["controller_loop_cpu_s"] > 0
    if Path("/proc/self/schedstat").exists():  # the loop thread's wait for a core
        assert step["controller_loop_runq_wait_s"] >= 0
    assert out["drained"] == {"calls": 0, "pending": 0}
    assert out["writer_final_pending"] == 0
    assert out["sustained_cps"] in (0, 3)
