"""Smoke test for bench/ami_ingest.py: it runs, and every client parsed every event.

A correctness check only: no timing threshold (loaded CI machines vary).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "ami_ingest.py"
TRANSCRIPT = ROOT / "tests" / "ami-transcripts" / "09-load.ami"
CLIENTS = ["raw", "ours", "ours_subscribed", "ours_full_decode", "panoramisk", "asterisk_ami"]


def _transcript_events(path: Path) -> int:
    """Frames that start with ``Event:``, counted independently of every client."""
    frames = path.read_bytes().split(b"\r\n\r\n")
    return sum(1 for f in frames if f.startswith(b"Event:"))


def test_bench_json_counts_every_event() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--repeat", "1", "--json", "--transcript", str(TRANSCRIPT)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])

    for key in (
        "ours_eps",
        "ours_subscribed_eps",
        "ours_full_decode_eps",
        "panoramisk_eps",
        "asterisk_ami_eps",
        "raw_eps",
        "ours_vs_panoramisk",
        "ours_vs_asterisk_ami",
        "ours_vs_raw",
    ):
        assert isinstance(out[key], float) and out[key] > 0, key

    expected = _transcript_events(TRANSCRIPT)
    assert expected == 10_002
    [detail] = out["transcripts"]
    assert detail["events"] == expected
    assert list(detail["clients"]) == CLIENTS
    for name, c in detail["clients"].items():
        assert c["events_counted"] == expected, name
        assert len(c["times_s"]) == 1, name
        assert c["eps"] > 0, name
        assert c["peak_rss_delta_kib"] >= 0 and c["tracemalloc_peak_kib"] >= 0, name
        if name == "ours_subscribed":
            assert 0 < c["delivered"] < expected
        else:
            assert c["delivered"] == expected, name
