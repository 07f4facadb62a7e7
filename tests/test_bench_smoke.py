"""Smoke test for bench/ami_ingest.py: it runs, and every client parsed every event.

A correctness check only: no timing threshold (loaded CI machines vary).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from callcenter.tracker import TRACKED_EVENTS

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "ami_ingest.py"
TRANSCRIPT = ROOT / "tests" / "ami-transcripts" / "09-load.ami"
CLIENTS = [
    "raw",
    "ours",
    "panoramisk",
    "asterisk_ami",
    "ours_names",
    "panoramisk_names",
    "asterisk_ami_names",
]
TRACKER_CLIENTS = {"ours", "panoramisk", "asterisk_ami"}


def _transcript_events(path: Path, names: frozenset[str] | None = None) -> int:
    """Frames that start with ``Event:`` (of ``names``), counted independently of every client."""
    frames = path.read_bytes().split(b"\r\n\r\n")
    heads = [f.split(b"\r\n", 1)[0] for f in frames if f.startswith(b"Event: ")]
    return sum(1 for h in heads if names is None or h[7:].decode() in names)


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
        *(f"{c}_eps" for c in CLIENTS),
        "ours_vs_panoramisk",
        "ours_vs_asterisk_ami",
        "ours_vs_raw",
        "ours_names_vs_panoramisk_names",
    ):
        assert isinstance(out[key], float) and out[key] > 0, key

    expected = _transcript_events(TRANSCRIPT)
    assert expected == 10_002
    tracked = _transcript_events(TRANSCRIPT, TRACKED_EVENTS)
    assert tracked == 2_000
    [detail] = out["transcripts"]
    assert detail["events"] == expected
    assert list(detail["clients"]) == CLIENTS
    for name, c in detail["clients"].items():
        assert c["events_counted"] == expected, name
        assert len(c["times_s"]) == 1, name
        assert c["eps"] > 0, name
        assert c["peak_rss_delta_kib"] >= 0 and c["tracemalloc_peak_kib"] >= 0, name
        # the tracker clients fed the tracker every tracked event; the bench itself
        # failed the run unless their domain events were the same
        assert c["delivered"] == (tracked if name in TRACKER_CLIENTS else expected), name
