"""No dead code in the packages: vulture (config in pyproject.toml, ``[tool.vulture]``)
with the tests and benches counted as users; every name it cannot see used is listed
there with the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VULTURE = Path(sys.executable).with_name("vulture")


def test_vulture_finds_nothing_unused_in_the_packages() -> None:
    done = subprocess.run([str(VULTURE)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    hits = [line for line in done.stdout.splitlines()
            if line and not line.startswith(("tests/", "bench/"))]  # fmt: skip
    assert hits == [], "\n".join(hits)
    assert done.returncode in (0, 3), done.stderr  # 3: hits (in tests or benches only)
