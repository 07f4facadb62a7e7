"""Real SIP parties for the demo, the SIP tests and the SIP benchmark.

pjsua2 allows one endpoint per process, so every SIP party runs as a process of
its own: pbxsim with ``--sip``, agent phones (``python -m pbxsim.phone``) and
``callcenter probe``. This module starts them, reads the address each prints,
and points agents at their phones (the PJSIP dial-string form
``PJSIP/1001/sip:1001@127.0.0.1:PORT``). The pjsua2-python wheel is built with
at most 4 calls per process (``PJSUA_MAX_CALLS``): pbxsim can hold two callers
with their agent legs at once; more needs a pjproject built by the operator.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from pathlib import Path

from sqlalchemy import update

from callcenter.storage import make_engine
from callcenter.storage.models import Agent

ROOT = Path(__file__).resolve().parents[2]
LISTENING = r"listening on [\d.]+:(\d+)"
SIP_ON = r"sip on [\d.]+:(\d+)"


async def spawn(
    *args: str, ready: str, timeout: float = 30
) -> tuple[asyncio.subprocess.Process, list[str]]:
    """Start ``python ARGS`` and read its stdout until a line matches ``ready``."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None
    lines: list[str] = []
    while not any(re.search(ready, x) for x in lines):
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout)).decode()
        if not line:
            raise RuntimeError(f"{' '.join(args[:3])} exited before {ready!r}: {lines}")
        lines.append(line.strip())
    return proc, lines


def port_of(lines: list[str], pattern: str) -> int:
    for line in lines:
        if m := re.search(pattern, line):
            return int(m.group(1))
    raise RuntimeError(f"no {pattern!r} in {lines}")


async def stop(proc: asyncio.subprocess.Process, grace: float = 15) -> None:
    if proc.returncode is None:
        proc.terminate()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), grace)
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def start_phones(
    database_url: str,
    count: int,
    *,
    answer_after: float = 2.0,
    tone_hz: float = 620.0,
    first: int = 1,
) -> list[asyncio.subprocess.Process]:
    """A real SIP phone for each of ``count`` agents from agent<first> on, their
    devices pointed at it."""
    phones: list[asyncio.subprocess.Process] = []
    engine = make_engine(database_url)
    try:
        for i in range(first, first + count):
            user = f"10{i:02d}"
            proc, lines = await spawn(
                "-m", "pbxsim.phone", "--bind", "127.0.0.1:0", "--user", user,
                "--answer-after", str(answer_after), "--tone-hz", str(tone_hz),
                ready=LISTENING,
            )  # fmt: skip
            phones.append(proc)
            uri = f"sip:{user}@127.0.0.1:{port_of(lines, LISTENING)}"
            async with engine.begin() as conn:
                await conn.execute(
                    update(Agent).where(Agent.username == f"agent{i}")
                    .values(device=f"PJSIP/{user}/{uri}")
                )  # fmt: skip
    except BaseException:
        for p in phones:
            await stop(p)
        raise
    finally:
        await engine.dispose()
    return phones
