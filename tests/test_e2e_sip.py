"""A real SIP call through the whole hotline.

`callcenter probe` (pjsua2, its own process) calls pbxsim's SIP ingress (pjsua2,
its own process) while the controller runs in this process: the caller's
RFC 4733 digits walk the IVR, the call is queued and offered to a pjsua2 agent
phone (`python -m pbxsim.phone`, a third process), the screen-pop reaches the
agent's page (a real login and WebSocket), the recording holds both tones, and
the call ends with exactly one outcome in SQL. One pjsua2 endpoint per process,
so every SIP party is a process of its own.
"""

from __future__ import annotations

import asyncio
import json
import sys
import wave
from array import array
from pathlib import Path

import pytest
from sqlalchemy import select

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import SECRET, AgentDesktop, config_text, ivr_prompt_files
from callcenter.demo.sip import LISTENING, SIP_ON, port_of, spawn, start_phones, stop
from callcenter.storage.models import Call, QueueOutcome, Recording

from .e2e_support import seeded, wait_until
from .sip_support import PJ_MISSING, tone_power

pytestmark = pytest.mark.skipif(
    PJ_MISSING is not None, reason=f"SIP tests need pjsua2: {PJ_MISSING}"
)

ROOT = Path(__file__).resolve().parent.parent


async def test_probe_call_walks_the_ivr_reaches_a_sip_agent_and_is_recorded(tmp_path, db_url):
    await seeded(db_url, agents=1)
    procs: list[asyncio.subprocess.Process] = []
    hotline: Hotline | None = None
    desk: AgentDesktop | None = None
    try:
        procs += await start_phones(db_url, 1, answer_after=2.0, tone_hz=620.0)
        scenario = tmp_path / "scenario.toml"
        prompts = "\n".join(f'"{p}" = 2.0' for p in ivr_prompt_files())
        scenario.write_text(f'context = "hotline-safe"\n[prompts]\n{prompts}\n')
        pbx, lines = await spawn(
            "-m", "pbxsim", "--port", "0", "--sip", "127.0.0.1:0", "--scenario", str(scenario),
            "--user", "hotline", "--secret", SECRET, "--spool", str(tmp_path / "spool"),
            ready=r"pbxsim sip on",
        )  # fmt: skip
        procs.append(pbx)
        ami_port = port_of(lines, LISTENING)
        sip_port = port_of(lines, SIP_ON)

        (tmp_path / "monitor").mkdir()
        cfg = tmp_path / "hotline.yaml"
        cfg.write_text(config_text(ami_port=ami_port, database_url=db_url,
                                   monitor=tmp_path / "monitor", offer_timeout_s=15,
                                   wrap_up_s=1, hold_slice_s=5))  # fmt: skip
        hotline = Hotline(load_config(cfg), web_port=0, auto_login_agents=True)
        await hotline.start()
        assert hotline.urls is not None
        desk = AgentDesktop(hotline.urls.base, "agent1", "agent1-pass")
        desk.start()

        script = tmp_path / "walk.yaml"
        script.write_text(
            '- wait: 1.5\n- dtmf: "2"\n- wait: 1.5\n- dtmf: "1"\n'
            "- wait_agent: {seconds: 40, hz: 620}\n- tone: {hz: 440, seconds: 3}\n- hangup\n"
        )
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter.cli", "probe", f"sip:hotline@127.0.0.1:{sip_port}",
            "--script", str(script), "--json", "--timeout", "60",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        out, err = await asyncio.wait_for(probe.communicate(), 120)
        assert probe.returncode == 0, err.decode()[-2000:]
        records = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
        call = next(r for r in records if r.get("type") == "call")
        assert call["answered"] and call["code"] == 200, call
        assert call["result"] == "success", call
        assert call["digits_accepted"] == "21", call
        assert call["time_to_agent"] is not None and call["time_to_agent"] > 2.0

        ctl = hotline.controller
        assert ctl is not None
        await wait_until(lambda: not ctl.calls, 30, "the call to end in the controller")
        await asyncio.sleep(1.0)
        assert hotline.writer is not None
        await hotline.writer.flush()
        assert desk.screen_pops >= 1, "the screen-pop never reached the agent's page"

        async with hotline.store.sessions() as s:  # type: ignore[union-attr]
            calls = list(await s.scalars(select(Call)))
            outcomes = list(await s.scalars(select(QueueOutcome)))
            recs = list(await s.scalars(select(Recording)))
        assert len(calls) == 1 and len(outcomes) == 1
        (c,) = calls
        assert c.outcome == "answered" and c.language == "en"  # "2" chose English
        assert outcomes[0].call_id == c.id
        (rec,) = recs
        path = Path(hotline.config.recordings_read_dir) / Path(rec.path).name
        with wave.open(str(path), "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            samples = array("h", w.readframes(w.getnframes()))
        assert rec.size_bytes == path.stat().st_size
        silence = tone_power(samples, 1000.0)
        assert tone_power(samples, 440.0) > 20 * max(silence, 1.0), (
            "no caller tone in the recording"
        )
        assert tone_power(samples, 620.0) > 20 * max(silence, 1.0), "no agent tone in the recording"
    finally:
        if desk is not None:
            await desk.stop()
        if hotline is not None:
            await hotline.stop()
        for p in reversed(procs):
            await stop(p)
