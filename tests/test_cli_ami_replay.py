"""`callcenter ami-replay` as a user runs it: a real subprocess on real recordings."""

from __future__ import annotations

import json
import subprocess
import sys

from .transcripts import TRANSCRIPTS, summary


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", "ami-replay", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_burst_json_reports_10002_events_like_summary_json():
    proc = run(str(TRANSCRIPTS / "10-burst.ami"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    want = summary()["10-burst.ami"]
    assert out["events"] == 10_002 == want["events"]
    assert out["messages"] == want["messages"] and out["responses"] == want["responses"]
    assert out["event_types"] == want["event_types"]
    assert out["banner"] == "Asterisk Call Manager/11.0.0"
    assert out["error"] is None


def test_text_output_lists_counts(tmp_path):
    proc = run(str(TRANSCRIPTS / "01-login-banner-and-ping.ami"))
    assert proc.returncode == 0
    assert "8 messages: 6 responses, 2 events" in proc.stdout
    assert "Event: FullyBooted" in proc.stdout


def test_broken_stream_reports_first_error_and_exits_1(tmp_path):
    data = (TRANSCRIPTS / "01-login-banner-and-ping.ami").read_bytes()
    cut = data.index(b"Response: Success\r\nActionID: s01-2")
    bad = tmp_path / "bad.ami"
    bad.write_bytes(data[:cut] + b"oops no colon\r\n\r\n" + data[cut:])
    proc = run(str(bad), "--json")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["error"] == {
        "offset": cut,
        "reason": "frame starts with 'oops no colon', expected 'Event:' or 'Response:'",
    }
    assert out["responses"] == 1  # only the Login response before the bad frame
    text = run(str(bad))
    assert f"protocol error at byte {cut}:" in text.stdout


def test_missing_file_is_a_clear_error(tmp_path):
    proc = run(str(tmp_path / "nope.ami"))
    assert proc.returncode == 2
    assert "cannot read" in proc.stderr and "nope.ami" in proc.stderr
