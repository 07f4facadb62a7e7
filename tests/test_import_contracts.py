"""The architecture's arrows (``.importlinter``) hold, and breaking one is caught.

``lint-imports`` runs over the real tree; then over a copy of it with one forbidden
import written into a new module, where it must name the contract that broke.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("callcenter", "acd", "ivr", "recordings", "crm_bridge", "dashboards", "pbxsim",
            "yamlconf", "sqlbase")
LINT = Path(sys.executable).with_name("lint-imports")


def lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([str(LINT), str(where / ".importlinter")], cwd=where,
                          env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


def copy_tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "templates"))  # fmt: skip
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("acd/_probe.py", "import sqlalchemy", "Pure cores do no I/O"),
        ("ivr/_probe.py", "from callcenter import controller", "Pure cores do no I/O"),
        ("pbxsim/_probe.py", "import acd", "pbxsim imports nothing of Hotline's"),
        ("yamlconf/_probe.py", "import ivr", "yamlconf imports nothing else of Hotline's"),
        ("callcenter/web/_probe.py", "from callcenter.demo import sip",
         "The product never imports the demo or the probe"),
        ("recordings/policy.py", "import asyncio", "Pure cores do no I/O"),
        ("callcenter/flow/_probe.py", "from callcenter.storage import models",
         "The call-flow core and the tracker do no I/O"),
        ("callcenter/tracker.py", "import asyncio",
         "The call-flow core and the tracker do no I/O"),
        ("callcenter/ami/_probe.py", "from callcenter.storage import models",
         "The AMI library imports nothing else"),
        ("crm_bridge/_probe.py", "from callcenter.storage import Store",
         "The CRM bridge imports nothing of the controller's"),
        ("recordings/_probe.py", "import callcenter.controller",
         "Recordings: never the controller"),
        ("sqlbase/_probe.py", "import crm_bridge.models",
         "sqlbase imports nothing else of Hotline's"),
    ],
)  # fmt: skip
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = copy_tree(tmp_path)
    (tree / module).write_text(f"{line}\n")
    done = lint(tree)
    assert done.returncode != 0, done.stdout
    broken = [ln for ln in done.stdout.splitlines() if ln.endswith("BROKEN")]
    assert len(broken) == 1 and broken[0].startswith(contract), done.stdout
    assert module.removesuffix(".py").replace("/", ".") in done.stdout


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_has_a_runtime_import_cycle(package: str) -> None:
    """Modules that import each other (also from inside a function) are a cycle; imports
    under ``TYPE_CHECKING`` do not count. grimp is import-linter's own import graph."""
    import grimp

    graph = grimp.build_graph(package, exclude_type_checking_imports=True)
    cycles = sorted(
        (a, b)
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if b.startswith(package) and a < b and graph.chain_exists(importer=b, imported=a)
    )
    assert cycles == [], f"{package}: modules importing each other: {cycles}"
