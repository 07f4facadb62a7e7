"""A config reload without a restart: over the real app (pbxsim, controller, SQL) and by
SIGHUP to a real ``callcenter run`` process.

Callers already waiting keep their place under the new rules; a broken file is
refused with its problems logged (file:line) and the running config kept; what cannot
change live is named in a warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import acd
from callcenter.demo import SECRET, config_text
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.web.keys import DISPOSITION_CODES
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_support import hotline_rig, scenario, seeded, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _three_callers(numbers: list[str]) -> dict[str, Any]:
    calls = [{"at": 1 + i, "number": numbers[i], "digits": ["1", "1"], "patience": 900}
             for i in range(3)]  # fmt: skip
    return scenario(numbers, arrivals={"kind": "trace", "calls": calls})


async def test_a_reload_takes_new_rules_live_and_waiting_callers_keep_their_place(
    tmp_path, db_url, caplog
):
    caplog.set_level(logging.INFO, logger="callcenter.reload")
    async with hotline_rig(tmp_path, db_url, _three_callers, agents=2, auto_login=False) as rig:
        ctl = rig.ctl

        def line() -> list[tuple[str, float, int | None]]:
            """(call, when it entered, place in line) of every waiting caller."""
            now = ctl.now()
            return sorted((c.call_id, round(now - c.wait_s, 6), c.position)
                          for c in ctl.core.snapshot(now).calls)  # fmt: skip

        await wait_until(lambda: len(line()) == 3, 90, "three callers waiting")
        before = line()
        ids = {a.username: a.id for a in await rig.hotline.store.list_agents()}
        await rig.hotline.store.set_agent_routing(
            ids["agent1"], skills={"english": 4}, penalties={"support": 1}, weights={"support": 4}
        )

        # a broken file: refused, each problem logged with its line, the old config kept
        good = rig.config_path.read_text()
        rig.config_path.write_text(good.replace("    wrap_up_s: 1\n", "    wrap_up_s: -1\n"
                                                "    strategy: fastest\n"))  # fmt: skip
        running = ctl.core.config
        done = await rig.hotline.reload()
        assert not done.applied and done.config is rig.hotline.config
        assert [p.split(": ", 2)[1:] for p in done.problems] == [
            ["queues.0.wrap_up_s", "must be at least 0"],
            ["queues.0.strategy", "expected 'longest-idle', 'round-robin', 'round-robin-ordered',"
             " 'fewest-calls', 'least-talk-time', 'linear', 'random', 'weighted-random',"
             " 'best-skill-match' or 'ring-all'"],
        ]  # fmt: skip
        assert all(p.startswith(f"{rig.config_path}:") for p in done.problems)
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert errors == [f"config reload refused, the running config kept: {p}"
                          for p in done.problems]  # fmt: skip
        assert ctl.core.config is running and line() == before

        # a good one: a new strategy, a skill required, tiers, a new queue, an agent's
        # new skills from SQL; nobody offered yet (the agents are logged out)
        rig.config_path.write_text(
            good.replace("    wrap_up_s: 1\n", "    wrap_up_s: 1\n    strategy: best-skill-match\n"
                         "    skills: {english: 2}\n    relax: [{after_s: 600, lower_by: 5}]\n")
            .replace("web:\n", "  - name: billing\nacd:\n  tiers: {gold: {priority: 3}}\nweb:\n")
            .replace("ping_interval_s: 10", "ping_interval_s: 11")
            + "dispositions:\n  solved: Solved\n"
        )  # fmt: skip
        done = await rig.hotline.reload()
        assert done.applied and done.restart_needed == ("nodes",)
        assert rig.hotline.config is done.config and rig.hotline.parts.config is done.config
        queues = {q.name: q for q in ctl.core.config.queues}
        assert sorted(queues) == ["billing", "support"]
        assert queues["support"].strategy is acd.Strategy.BEST_SKILL_MATCH
        assert dict(queues["support"].skills) == {"english": 2}
        assert ctl.flow.tiers == {"gold": (3, {})}
        # /metrics: the new queue's series are there at once, at 0, with its targets
        scraped = rig.hotline.metrics.render().decode()
        assert 'hotline_calls_total{outcome="abandoned",queue="billing"} 0.0' in scraped
        assert 'hotline_calls_waiting{queue="billing"} 0.0' in scraped
        assert 'hotline_service_level_target_ratio{queue="billing"} 0.8' in scraped
        agent1 = next(a for a in ctl.core.config.agents if a.agent_id == str(ids["agent1"]))
        assert dict(agent1.skills) == {"english": 4}
        assert (dict(agent1.penalties), dict(agent1.weights)) == ({"support": 1}, {"support": 4})
        assert line() == before  # same callers, same entry times, same order
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert "config reload: nodes changed; it takes effect at the next restart" in warnings
        # the dispositions in the file filled the database's list at the first start;
        # the list lives there (the admin page), the file's change is only named
        assert "config reload: dispositions changed; the list lives in the database (filled" \
            " from the file at the first start): edit it at /admin" in warnings
        assert "solved" not in rig.hotline.app[DISPOSITION_CODES]
        assert "resolved" in rig.hotline.app[DISPOSITION_CODES]

        # the new rule routes: agent2 has no english, agent1 has; the first caller goes
        # to agent1 (the line kept its order)
        await ctl.agent_ready(str(ids["agent2"]))
        await ctl.agent_ready(str(ids["agent1"]))
        first = next(call for call, _, place in before if place == 1)

        def first_offered_to() -> str | None:
            view = ctl.core.call(first, ctl.now())
            return view.agent_id if view is not None else None

        await wait_until(lambda: first_offered_to() == str(ids["agent1"]), 30,
                         "the first caller offered to agent1")  # fmt: skip

        # the ACD refuses what it cannot take (agent2, logged in, is no agent any more
        # in SQL): nothing changed, the reason logged
        async with rig.hotline.store.write_session() as s:
            await s.execute(
                sa.text(f"UPDATE agents SET role = 'supervisor' WHERE id = {ids['agent2']}")
            )
        kept, config = ctl.core.config, rig.hotline.config
        done = await rig.hotline.reload()
        assert not done.applied and ctl.core.config is kept and rig.hotline.config is config
        assert done.problems == (f"{rig.config_path}: AcdConfig.agents drops '{ids['agent2']}', "
                                 "which is READY: log it out first",)  # fmt: skip

        # a row edited by hand in SQL that the ACD cannot take: refused, the row named
        async with rig.hotline.store.write_session() as s:
            await s.execute(sa.text("UPDATE agents SET role = 'agent', skills = :bad WHERE id = :id"),
                            {"bad": '{"english": 9}', "id": ids["agent2"]})  # fmt: skip
        done = await rig.hotline.reload()
        assert not done.applied and ctl.core.config is kept
        [problem] = done.problems
        assert f"agents row {ids['agent2']} ('agent2')" in problem and "<= 5" in problem, problem


async def _start_pbxsim(tmp_path: Path, numbers: list[str]) -> PBXSim:
    sim = PBXSim(port=0, users={"hotline": SECRET}, scenario=Scenario.from_dict(
        scenario(numbers, arrivals={"kind": "trace", "calls": []})), seed=1,
        spool_dir=tmp_path / "spool", time_scale=4.0)  # fmt: skip
    await sim.start()
    return sim


async def _read_until(stream: asyncio.StreamReader, text: str, timeout: float) -> str:
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            line = await asyncio.wait_for(stream.readline(), max(0.1, end - time.monotonic()))
        except TimeoutError:
            break
        if not line:
            break
        seen.append(line.decode())
        if text in seen[-1]:
            return "".join(seen)
    raise AssertionError(f"no {text!r} within {timeout} s; read:\n{''.join(seen)}")


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="no SIGHUP on this platform")
async def test_sighup_reloads_a_running_controller(tmp_path):
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    numbers = await seeded(db_url, agents=1)
    sim = await _start_pbxsim(tmp_path, numbers)
    monitor = tmp_path / "monitor"
    monitor.mkdir()
    cfg = tmp_path / "hotline.yaml"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    good = config_text(ami_port=sim.port, database_url=db_url, monitor=monitor, web_port=port)
    cfg.write_text(good)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.cli", "run", "--config", str(cfg), "-v",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stderr is not None
        await _read_until(proc.stdout, "hotline running", 60)
        cfg.write_text(good.replace("web:\n", "  - name: billing\n    strategy: random\nweb:\n"))
        proc.send_signal(signal.SIGHUP)
        await _read_until(proc.stderr, "config reloaded from", 30)
        cfg.write_text(good.replace("    sl_threshold_s: 20\n", "    sl_threshold_s: zero\n"))
        proc.send_signal(signal.SIGHUP)
        refused = await _read_until(proc.stderr, "config reload refused", 30)
        assert f"{cfg}:" in refused and "queues.0.sl_threshold_s" in refused
        assert proc.returncode is None  # still running, on the config it had
        engine = make_engine(db_url)
        try:
            assert await Store(make_session_factory(engine)).list_agents()
        finally:
            await engine.dispose()
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)
        await sim.close()
