"""The call-flow core's own tests reach at least 95 % of its branches (measured, not claimed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIN_BRANCH_COVER = 95.0


def test_the_core_tests_cover_at_least_95_percent_of_its_branches(tmp_path: Path) -> None:
    data = tmp_path / ".coverage"
    run = [sys.executable, "-m", "coverage", "run", f"--data-file={data}", "--branch",
           "--source=callcenter/flow", "-m", "pytest", "-q", "-p", "no:cacheprovider",
           "tests/test_flow_core.py", "tests/test_flow_restart.py",
           "tests/test_flow_ivr.py", "tests/test_recordings_flow.py", "tests/test_flow_visit.py",
           "tests/test_flow_announce.py", "tests/test_flow_overflow.py",
           "tests/test_flow_callback.py",
           "tests/test_flow_transfer.py", "tests/test_flow_move.py",
           "tests/test_flow_sticky.py", "tests/test_flow_place.py",
           "tests/test_flow_scheduled_callback.py", "tests/test_flow_consult.py"]  # fmt: skip
    done = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = tmp_path / "cov.json"
    subprocess.run([sys.executable, "-m", "coverage", "json", f"--data-file={data}",
                    "-o", str(report)], cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    totals = json.loads(report.read_text())["totals"]
    assert totals["percent_covered"] >= MIN_BRANCH_COVER, totals
