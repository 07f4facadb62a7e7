"""scripts/bootstrap, the install in layers behind the README's two commands: the
demo's runtime layer, the tests' test layer, each installed once (a stamp), again
when pyproject.toml changes. The real script runs in a copy of the project whose
``.venv/bin/python`` records what it is asked to do instead of running pip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../calls"
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "bootstrap", tmp_path / "scripts" / "bootstrap")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    return tmp_path


def bootstrap(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(root / "scripts" / "bootstrap"), *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def pip_calls(root: Path) -> list[str]:
    calls = root / ".venv" / "calls"
    lines = calls.read_text().splitlines() if calls.exists() else []
    calls.unlink(missing_ok=True)
    return [line.split(" -e ")[-1] for line in lines]


def test_the_demo_installs_the_runtime_layer_once_and_the_tests_add_theirs(tmp_path):
    root = project(tmp_path)
    first = bootstrap(root)
    assert first.returncode == 0, first.stderr
    assert pip_calls(root) == ["."]  # [project] dependencies only
    assert "installing the runtime layer" in first.stdout  # said, not silent
    assert bootstrap(root).returncode == 0 and pip_calls(root) == []  # stamped

    assert bootstrap(root, "test").returncode == 0
    assert pip_calls(root) == [".[test]"]
    assert bootstrap(root, "test").returncode == 0 and pip_calls(root) == []
    # the test layer holds the runtime layer
    assert bootstrap(root).returncode == 0 and pip_calls(root) == []


def test_a_changed_pyproject_installs_again(tmp_path):
    root = project(tmp_path)
    bootstrap(root, "test")
    pip_calls(root)
    later = (root / ".venv" / ".hotline-test").stat().st_mtime + 10
    os.utime(root / "pyproject.toml", (later, later))
    assert bootstrap(root).returncode == 0 and pip_calls(root) == ["."]
    assert bootstrap(root, "test").returncode == 0 and pip_calls(root) == [".[test]"]


def test_the_stamp_of_the_single_layer_before_counts_as_the_test_layer(tmp_path):
    root = project(tmp_path)
    (root / ".venv" / ".hotline-installed").touch()
    assert bootstrap(root, "test").returncode == 0 and pip_calls(root) == []
    assert (root / ".venv" / ".hotline-test").exists()


def test_an_unknown_layer_is_refused(tmp_path):
    root = project(tmp_path)
    done = bootstrap(root, "everything")
    assert done.returncode == 2
    assert "usage: scripts/bootstrap [runtime|test]" in done.stderr
    assert pip_calls(root) == []
