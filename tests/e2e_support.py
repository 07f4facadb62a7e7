"""A whole hotline in the test's event loop: pbxsim (real TCP AMI), the controller,
a real database and the web app on a free port. No part of ours is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import SECRET, config_text, ivr_prompt_files, seed_database
from callcenter.storage.models import Call, QueueOutcome, Recording
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim
from recordings import file_facts

ROOT = Path(__file__).resolve().parent.parent


def scenario(numbers: list[str], **over: Any) -> dict[str, Any]:
    """A quick world: known callers, short prompts, agents answering in 1-2 s."""
    base: dict[str, Any] = {
        "context": "hotline-safe",
        "arrivals": {"kind": "poisson", "calls_per_minute": 30},
        "callers": {
            "numbers": numbers[:20],
            "patience": [60, 90],
            "press_delay": [0.3, 0.8],
            "menus": [
                {"choices": [{"digits": "1", "weight": 1}, {"digits": "2", "weight": 1}]},
                {"choices": [{"digits": "1", "weight": 1}]},
            ],
        },
        "agents": {"default": {"answer_delay": [1, 2], "talk_time": [3, 6],
                               "agent_hangs_up_probability": 0.5}},
        "prompts": {p: 1.0 for p in ivr_prompt_files()},
    }  # fmt: skip
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def no_caller_world(numbers: list[str]) -> dict[str, Any]:
    """``scenario`` with no caller arriving: the agents stay idle until a test calls."""
    return scenario(numbers, arrivals={"kind": "trace", "calls": []})


@dataclass
class Rig:
    hotline: Hotline
    sim: PBXSim
    numbers: list[str]
    config_path: Path

    @property
    def ctl(self) -> Any:
        return self.hotline.controller


async def seeded(db_url: str, agents: int = 3) -> list[str]:
    return await seed_database(db_url, customers=40, agents=agents, seed=7)


@contextlib.asynccontextmanager
async def hotline_rig(
    tmp_path: Path,
    db_url: str,
    world: Callable[[list[str]], dict[str, Any]] = scenario,
    *,
    agents: int = 3,
    time_scale: float = 4.0,
    ivr_file: Path = ROOT / "config" / "ivr.yaml",
    auto_login: bool = True,
    offer_timeout_s: float = 6,
    seed: int = 3,
    prepare: Callable[[str], Awaitable[Any]] | None = None,
    edit_config: Callable[[str], str] | None = None,
    ami_write: str | None = None,
    wall_clock: Callable[[], dt.datetime] | None = None,
) -> AsyncIterator[Rig]:
    """``prepare(db_url)`` runs once the database is seeded; ``edit_config`` may change
    the config text before it is written; ``ami_write`` is the AMI user's manager.conf
    ``write =`` (default: every class); ``wall_clock`` is the controller's (default: the
    machine's)."""
    numbers = await seeded(db_url, agents)
    if prepare is not None:
        await prepare(db_url)
    sim = PBXSim(
        port=0,
        users={"hotline": SECRET},
        write={"hotline": ami_write} if ami_write is not None else None,
        scenario=Scenario.from_dict(world(numbers)),
        seed=seed,
        spool_dir=tmp_path / "spool",
        time_scale=time_scale,
    )
    await sim.start()
    monitor = tmp_path / "monitor"
    monitor.mkdir(exist_ok=True)
    cfg = tmp_path / "hotline.yaml"
    text = config_text(
        ami_port=sim.port, database_url=db_url, monitor=monitor, ivr_file=ivr_file,
        offer_timeout_s=offer_timeout_s, wrap_up_s=1, hold_slice_s=3,
    )  # fmt: skip
    cfg.write_text(edit_config(text) if edit_config is not None else text)
    hotline = Hotline(load_config(cfg), web_port=0, auto_login_agents=auto_login)
    if wall_clock is not None:
        hotline.parts.wall_clock = wall_clock
    try:
        await hotline.start()
        yield Rig(hotline, sim, numbers, cfg)
    finally:
        await hotline.stop()
        await sim.close()


def headers(data: bytes) -> dict[str, str]:
    """An AMI event's fields as pbxsim's world listeners get it (the first of a repeated key)."""
    out: dict[str, str] = {}
    for line in data.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            out.setdefault(key, value)
    return out


async def wait_until(cond: Callable[[], Any], timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_arrivals(sim: PBXSim) -> None:
    sim.world.population.stop_arrivals()


async def drain(rig: Rig, timeout: float = 60) -> None:
    """Stop arrivals and wait until every call the controller knows has ended."""
    stop_arrivals(rig.sim)
    await wait_until(lambda: not rig.ctl.calls, timeout, "every call to end")
    await asyncio.sleep(0.5)
    await rig.hotline.writer.flush()


async def sql_facts(rig: Rig) -> dict[str, Any]:
    store = rig.hotline.store
    async with store.sessions() as s:
        calls = list(await s.scalars(select(Call)))
        per_call = dict(
            (await s.execute(select(QueueOutcome.call_id, func.count()).group_by(QueueOutcome.call_id))).all()
        )  # fmt: skip
        recs = list(await s.scalars(select(Recording)))
    return {"calls": calls, "outcome_rows": per_call, "recordings": recs}


def check_recordings(rig: Rig, recs: list[Any]) -> int:
    """Every recording row has its WAV with the same size and SHA-256; returns how many."""
    base = Path(rig.hotline.config.recordings_read_dir)
    for r in recs:
        path = base / Path(r.path).name
        assert path.exists(), f"{path} missing"
        size, sha, duration = file_facts(path)
        assert (size, sha) == (r.size_bytes, r.sha256), f"{path}: row and file differ"
        assert duration is not None and duration > 0
    return len(recs)
