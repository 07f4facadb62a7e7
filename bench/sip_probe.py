"""Real SIP calls per second into the hotline, and the controller's added latency.

Runs the whole hotline twice on this machine with the same agents (answering
after ``--answer-delay`` seconds) and the same call rate:

1. **SIP**: `callcenter probe` places ``--calls`` real SIP calls (pjsua2, RTP,
   RFC 4733 digits) into pbxsim's SIP ingress; the agents are real pjsua2
   phones (`python -m pbxsim.phone`).
2. **simulated**: pbxsim's own simulated callers arrive at the same rate and
   its simulated agent phones answer after the same delay.

For each call, the controller's added latency is the time from the call
entering the queue to the agent being connected (``answered_at - queued_at``
in SQL), minus the agent's configured answer delay: what the controller,
AMI and the PBX add on top of the phone ringing. Printed side by side with
the probe's calls per second, as a ratio SIP / simulated.

    .venv/bin/python bench/sip_probe.py [--calls 12] [--rate 1] [--agents 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from callcenter.app import Hotline  # noqa: E402
from callcenter.config import load_config  # noqa: E402
from callcenter.demo import SECRET, config_text, ivr_prompt_files, seed_database  # noqa: E402
from callcenter.demo.sip import LISTENING, SIP_ON, port_of, spawn, start_phones, stop  # noqa: E402
from callcenter.storage.models import Call  # noqa: E402


def scenario_text(opts: argparse.Namespace, simulated: bool, numbers: list[str]) -> str:
    prompts = "\n".join(f'"{p}" = 1.0' for p in ivr_prompt_files())
    if not simulated:
        return f'context = "hotline-safe"\n[prompts]\n{prompts}\n'
    calls = ", ".join(
        f'{{at = {1 + i / opts.rate:.3f}, number = "{numbers[i % len(numbers)]}"}}'
        for i in range(opts.calls)
    )
    return f"""context = "hotline-safe"
[arrivals]
kind = "trace"
calls = [{calls}]
[callers]
patience = 300
press_delay = [0.3, 0.3]
[[callers.menus]]
choices = [{{digits = "1", weight = 1}}]
[[callers.menus]]
choices = [{{digits = "1", weight = 1}}]
[agents.default]
answer_delay = {opts.answer_delay}
talk_time = 1.5
agent_hangs_up_probability = 0.0
[prompts]
{prompts}
"""


async def run(opts: argparse.Namespace, simulated: bool, work: Path) -> dict[str, Any]:
    work.mkdir(parents=True)
    url = f"sqlite+aiosqlite:///{work / 'bench.db'}"
    numbers = await seed_database(url, customers=40, agents=opts.agents, seed=11)
    procs: list[asyncio.subprocess.Process] = []
    hotline: Hotline | None = None
    try:
        if not simulated:
            procs += await start_phones(url, opts.agents, answer_after=opts.answer_delay)
        (work / "scenario.toml").write_text(scenario_text(opts, simulated, numbers))
        args = ["-m", "pbxsim", "--port", "0", "--scenario", str(work / "scenario.toml"),
                "--user", "hotline", "--secret", SECRET, "--spool", str(work / "spool")]  # fmt: skip
        if not simulated:
            args += ["--sip", "127.0.0.1:0"]
        pbx, lines = await spawn(*args, ready="sip on" if not simulated else "listening on")
        procs.append(pbx)
        (work / "monitor").mkdir()
        cfg = work / "hotline.yaml"
        cfg.write_text(config_text(ami_port=port_of(lines, LISTENING),
                                   database_url=url, monitor=work / "monitor",
                                   offer_timeout_s=15, wrap_up_s=0.5, hold_slice_s=5))  # fmt: skip
        hotline = Hotline(load_config(cfg), web_port=0, auto_login_agents=True)
        await hotline.start()
        ctl = hotline.controller
        assert ctl is not None
        started = time.monotonic()
        probe_summary: dict[str, Any] = {}
        if not simulated:
            script = work / "walk.yaml"
            script.write_text(
                '- wait: 0.5\n- dtmf: "1"\n- wait: 0.8\n- dtmf: "1"\n'
                "- wait_agent: {seconds: 60, hz: 620}\n- tone: {hz: 440, seconds: 0.5}\n"
            )
            sip = port_of(lines, SIP_ON)
            probe = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "callcenter.cli", "probe", f"sip:hotline@127.0.0.1:{sip}",
                "--script", str(script), "--json", "--calls", str(opts.calls),
                "--rate", str(opts.rate), "--timeout", "90",
                stdout=asyncio.subprocess.PIPE, cwd=ROOT,
            )  # fmt: skip
            out, _ = await probe.communicate()
            records = [json.loads(x) for x in out.decode().splitlines() if x.startswith("{")]
            probe_summary = records[-1]
            calls = [r for r in records if r.get("type") == "call"]
            probe_summary["time_to_agent"] = [r["time_to_agent"] for r in calls]
        else:
            await asyncio_wait(lambda: ctl.counters["outcomes"] >= opts.calls, 120)
        wall = time.monotonic() - started
        await asyncio_wait(lambda: not ctl.calls, 60)
        assert hotline.writer is not None and hotline.store is not None
        await hotline.writer.flush()
        async with hotline.store.sessions() as s:
            rows = list(await s.scalars(select(Call)))
        added = [
            (r.answered_at - r.queued_at).total_seconds() - opts.answer_delay
            for r in rows
            if r.answered_at is not None and r.queued_at is not None
        ]
        return {"calls": len(rows), "answered": len(added), "wall_s": wall,
                "added_latency_s": added, "probe": probe_summary}  # fmt: skip
    finally:
        if hotline is not None:
            await hotline.stop()
        for p in reversed(procs):
            await stop(p)


async def asyncio_wait(cond: Any, timeout: float) -> None:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        await asyncio.sleep(0.1)


def q(values: list[float], p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, round(p * (len(v) - 1)))]


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--calls", type=int, default=12)
    ap.add_argument("--rate", type=float, default=1.0, help="calls started per second")
    ap.add_argument("--agents", type=int, default=4)
    ap.add_argument("--answer-delay", type=float, default=1.0)
    ap.add_argument("--json", action="store_true")
    opts = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sip = await run(opts, False, Path(tmp) / "sip")
        sim = await run(opts, True, Path(tmp) / "sim")
    sip_cps = sip["answered"] / sip["wall_s"] if sip["wall_s"] else 0.0
    sim_cps = sim["answered"] / sim["wall_s"] if sim["wall_s"] else 0.0
    sip_med = statistics.median(sip["added_latency_s"]) if sip["added_latency_s"] else None
    sim_med = statistics.median(sim["added_latency_s"]) if sim["added_latency_s"] else None
    tta = [t for t in sip["probe"].get("time_to_agent", []) if t is not None]
    result = {
        "calls": opts.calls, "rate": opts.rate, "agents": opts.agents,
        "answer_delay_s": opts.answer_delay,
        "sip_answered": sip["answered"], "sim_answered": sim["answered"],
        "sip_calls_per_s": round(sip_cps, 3), "sim_calls_per_s": round(sim_cps, 3),
        "sip_added_latency_p50_s": sip_med and round(sip_med, 3),
        "sip_added_latency_p95_s": q(sip["added_latency_s"], 0.95),
        "sim_added_latency_p50_s": sim_med and round(sim_med, 3),
        "sim_added_latency_p95_s": q(sim["added_latency_s"], 0.95),
        "added_latency_ratio_sip_vs_sim": round(sip_med / sim_med, 2) if sip_med and sim_med else None,
        "calls_per_s_ratio_sip_vs_sim": round(sip_cps / sim_cps, 2) if sim_cps else None,
        "probe_time_to_agent_p50_s": q(tta, 0.5),
    }  # fmt: skip
    print(f"{'':28}{'SIP (probe)':>14}{'simulated':>14}{'SIP/sim':>10}")
    print(f"{'answered calls':28}{sip['answered']:>14}{sim['answered']:>14}")
    print(f"{'calls per second':28}{sip_cps:>14.3f}{sim_cps:>14.3f}"
          f"{result['calls_per_s_ratio_sip_vs_sim'] or 0:>9.2f}x")  # fmt: skip
    print(f"{'added latency p50 (s)':28}{sip_med or 0:>14.3f}{sim_med or 0:>14.3f}"
          f"{result['added_latency_ratio_sip_vs_sim'] or 0:>9.2f}x")  # fmt: skip
    print(f"{'added latency p95 (s)':28}{result['sip_added_latency_p95_s'] or 0:>14.3f}"
          f"{result['sim_added_latency_p95_s'] or 0:>14.3f}")  # fmt: skip
    print(f"probe time to agent p50: {result['probe_time_to_agent_p50_s']} s "
          f"(IVR walk + queue + {opts.answer_delay} s ringing)")  # fmt: skip
    if opts.json:
        print(json.dumps(result))
    return 0 if sip["answered"] and sim["answered"] else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
