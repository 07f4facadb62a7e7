"""``python -m pbxsim.phone``: an agent softphone on real SIP over loopback.

Each party runs in its own process (one pjsua2 endpoint per process): the
phone, and ``callcenter probe`` as the caller. The helpers here are shared
with ``test_probe_sip.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAVE_PJSUA2 = importlib.util.find_spec("pjsua2") is not None
needs_pjsua2 = pytest.mark.skipif(
    not HAVE_PJSUA2, reason="pjsua2 not importable (pip install pjsua2-python): no real SIP"
)


class PhoneProcess:
    """A running softphone: its port and the event lines it printed."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.port = port
        self.lines: list[str] = []

    @property
    def uri(self) -> str:
        return f"sip:1001@127.0.0.1:{self.port}"

    async def wait_for(self, line: str, timeout: float = 10.0) -> None:
        """Read event lines until ``line`` has been printed."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(timeout):
            while line not in self.lines:
                raw = await self.proc.stdout.readline()
                if not raw:
                    raise AssertionError(f"phone exited before {line!r}: {self.lines}")
                self.lines.append(raw.decode().rstrip("\n"))

    async def stop(self) -> int:
        """SIGTERM; collect the rest of stdout; the exit status."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert self.proc.stdout is not None
            rest = await self.proc.stdout.read()
            self.lines += rest.decode().splitlines()
            return await self.proc.wait()


@contextlib.asynccontextmanager
async def phone(*args: str) -> AsyncIterator[PhoneProcess]:
    """A softphone on 127.0.0.1, any free port, with ``args``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim.phone", "--bind", "127.0.0.1:0", *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(10):
            first = (await proc.stdout.readline()).decode()
        m = re.fullmatch(r"phone listening on 127\.0\.0\.1:(\d+)\n", first)
        assert m, f"{first!r} {await _stderr(proc)}"
        yield PhoneProcess(proc, int(m.group(1)))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _stderr(proc: asyncio.subprocess.Process) -> str:
    if proc.returncode is None:
        proc.kill()
    assert proc.stderr is not None
    return (await proc.stderr.read()).decode()


async def probe(uri: str, *args: str, timeout: float = 60.0) -> tuple[int, list[Any], str]:
    """``callcenter probe URI --json ARGS``: exit status, JSON lines, stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.cli", "probe", uri, "--json", *args,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert proc.returncode is not None
    return proc.returncode, lines, err.decode()


def script(tmp_path: Path, text: str) -> str:
    path = tmp_path / "script.yaml"
    path.write_text(text)
    return str(path)


@needs_pjsua2
async def test_phone_answers_after_delay_and_reports_call_events(tmp_path: Path) -> None:
    async with phone("--answer-after", "0.5", "--tone-hz", "620") as agent:
        rc, lines, err = await probe(
            agent.uri, "--script", script(tmp_path, '- wait: 1\n- dtmf: "7#"\n- wait: 0.5\n')
        )
        assert rc == 0, err
        await agent.wait_for("ended 200")
        assert await agent.stop() == 0
    assert agent.lines[0].startswith("incoming <sip:probe@127.0.0.1")
    assert agent.lines[1:] == ["answered", "dtmf 7", "dtmf #", "ended 200"]
    assert lines[0]["digits_accepted"] == "7#"


@needs_pjsua2
async def test_phone_hangup_after_drops_the_caller(tmp_path: Path) -> None:
    async with phone("--answer-after", "0", "--hangup-after", "1") as agent:
        rc, lines, err = await probe(agent.uri, "--script", script(tmp_path, "- wait: 10\n"))
        await agent.stop()
    assert rc == 1, err
    call = lines[0]
    assert (call["result"], call["code"]) == ("dropped", 200)
    assert call["failure"] == "the far end hung up during step 1 (wait 10)"
    assert 0.5 < call["duration"] < 5
    assert agent.lines[1:] == ["answered", "ended 200"]


@needs_pjsua2
async def test_phone_stops_on_sigterm_with_a_call_up(tmp_path: Path) -> None:
    async with phone("--answer-after", "0") as agent:
        caller = asyncio.ensure_future(
            probe(agent.uri, "--script", script(tmp_path, "- wait: 20\n"))
        )
        await agent.wait_for("answered")
        assert await agent.stop() == 0  # hangs up its call on the way out
        rc, lines, _ = await caller
    assert agent.lines[-1] == "ended 200"
    assert (rc, lines[0]["result"]) == (1, "dropped")


def test_phone_without_pjsua2_exits_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pbxsim.phone as module

    monkeypatch.setattr(module, "PJSUA2_MISSING", "pjsua2 is not importable (test)")
    assert module.main(["--bind", "127.0.0.1:0"]) == 2
    assert "pbxsim.phone: pjsua2 is not importable (test)" in capsys.readouterr().err


def test_phone_imports_nothing_of_hotline() -> None:
    source = (ROOT / "pbxsim" / "phone.py").read_text()
    imports = re.findall(r"^\s*(?:from|import)\s+([\w.]+)", source, re.M)
    assert not [m for m in imports if m.split(".")[0] in {"callcenter", "acd", "ivr"}]
    assert not [m for m in imports if m.startswith(("pbxsim.sip", ".sip"))]


@needs_pjsua2
async def test_phone_exits_when_its_parent_dies(tmp_path: Path) -> None:
    out = tmp_path / "phone.out"
    shell = await asyncio.create_subprocess_exec(
        "sh", "-c", f'"{sys.executable}" -m pbxsim.phone --bind 127.0.0.1:0 > "{out}" 2>&1 &'
        " echo $!; sleep 1",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, _ = await shell.communicate()  # the shell (the phone's parent) is gone now
    pid = int(stdout)
    status = Path(f"/proc/{pid}/status")
    try:
        async with asyncio.timeout(10):
            while status.exists() and "\nState:\tZ" not in status.read_text():
                await asyncio.sleep(0.2)
    finally:
        if status.exists() and "\nState:\tZ" not in status.read_text():
            os.kill(pid, signal.SIGKILL)
    assert out.read_text().startswith("phone listening on 127.0.0.1:")
