"""``python -m pbxsim`` runs standalone: prints its port, serves AMI, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

from pbxsim.testing import connect

ROOT = Path(__file__).resolve().parents[1]


async def test_module_prints_listening_line_and_accepts_login(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text('[arrivals]\nkind = "poisson"\ncalls_per_minute = 0\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--port", "0", "--user", "ctl", "--secret", "s3cret",
        "--scenario", str(scenario), "--spool", str(tmp_path / "spool"), "--time-scale", "5",
        "--eventfilter", "VarSet,Newexten",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(15):
            assert proc.stdout is not None
            line = (await proc.stdout.readline()).decode()
            m = re.fullmatch(r"pbxsim listening on 127\.0\.0\.1:(\d+)\n", line)
            assert m, line
            client = await connect(int(m.group(1)), login=False)
            assert client.banner == "Asterisk Call Manager/11.0.0"
            assert (await client.login("ctl", "s3cret"))["Message"] == "Authentication accepted"
            await client.close()
            proc.send_signal(signal.SIGTERM)
            assert await proc.wait() == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_bad_scenario_is_reported_with_file_and_key(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text('[arrivals]\nkind = "poisson"\ncalls_per_minute = -3\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--port", "0", "--scenario", str(scenario),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(15):
        _, err = await proc.communicate()
    assert proc.returncode == 2
    assert f"{scenario}: arrivals.calls_per_minute: must be >= 0" in err.decode()
