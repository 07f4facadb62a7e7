"""Where the real Asterisk 22 recordings live, for every test that replays them.

The project vendors a copy in ``tests/ami-transcripts`` so a fresh clone is
self-contained; ``test_transcripts_vendored`` checks it still equals the team's
``../shared/ami-transcripts`` when that folder is beside the clone.
"""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "tests" / "ami-transcripts"
SHARED = ROOT.parent / "shared" / "ami-transcripts"


def ami_files() -> list[Path]:
    return sorted(TRANSCRIPTS.glob("*.ami"))


def summary() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads((TRANSCRIPTS / "summary.json").read_text())
    return data
