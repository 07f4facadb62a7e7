"""A whole hotline in the test's event loop: pbxsim (real TCP AMI), the controller,
a real database and the web app on a free port. No part of ours is replaced."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, select

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import SECRET, AgentDesktop, config_text, ivr_prompt_files, seed_database
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import Call, CallEvent, QueueOutcome, Recording
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


# -- the controller as a process of its own, killed (SIGKILL) and started again ---------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_controller(cfg: Path) -> tuple[asyncio.subprocess.Process, str]:
    """``callcenter run`` as a process of its own; it and its web base URL once it runs."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "callcenter.cli", "run", "--config", str(cfg),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    assert "hotline running" in line, line
    base = line.split("wallboard ")[1].split("/supervisor")[0]
    return proc, base


async def sim_and_config(
    tmp_path: Path, db_url: str, world: dict[str, Any], *, seed: int
) -> tuple[PBXSim, Path]:
    """A running pbxsim of ``world`` (3x time) and the controller config pointing at it."""
    sim = PBXSim(port=0, users={"hotline": SECRET}, scenario=Scenario.from_dict(world),
                 seed=seed, spool_dir=tmp_path / "spool", time_scale=3.0)  # fmt: skip
    await sim.start()
    (tmp_path / "monitor").mkdir()
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(config_text(ami_port=sim.port, database_url=db_url, monitor=tmp_path / "monitor",
                               web_port=free_port(), offer_timeout_s=6, wrap_up_s=1, hold_slice_s=3))  # fmt: skip
    return sim, cfg


async def stop_controller(proc: Any, wait_s: float = 20) -> None:
    """End a controller process if it still runs: TERM, then KILL after ``wait_s``."""
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), wait_s)
        if proc.returncode is None:
            proc.kill()


async def stop_all(procs: list[Any], desks: list[AgentDesktop]) -> None:
    """Close the agent desks, then end every controller still running (TERM, then KILL)."""
    for d in desks:
        await d.stop()
    for p in procs:
        await stop_controller(p)


def with_billing(text: str) -> str:
    """The demo config with a second queue, billing, after support."""
    return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n  - name: billing\n", 1)


async def one_agent_per_queue(db_url: str) -> None:
    """agent1 serves support, agent2 billing."""
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        for a in await store.list_agents():
            if a.username in ("agent1", "agent2"):
                queue = "support" if a.username == "agent1" else "billing"
                await store.set_agent_routing(a.id, queues=[queue])
    finally:
        await engine.dispose()


async def agent_ids(db_url: str) -> dict[str, str]:
    """Each agent's id by its username."""
    engine = make_engine(db_url)
    try:
        return {a.username: str(a.id) for a in await Store(make_session_factory(engine)).list_agents()}
    finally:
        await engine.dispose()


async def supervise(base: str, agent_id: str, state: str) -> None:
    """The supervisor sets an agent's state over the controller's HTTP API."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        login = {"username": "supervisor", "password": "supervisor-pass"}
        async with http.post(f"{base}/login", data=login) as resp:
            resp.raise_for_status()
        body = {"state": state, "reason": "lunch"} if state == "paused" else {"state": state}
        async with http.post(f"{base}/api/agents/{agent_id}/state", json=body,
                             headers={"Origin": base}) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()


async def wait_sql(cond: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Until ``cond()`` (a read of SQL, or of the controller's API) holds."""
    end = time.monotonic() + timeout
    while not await cond():
        assert time.monotonic() < end, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.3)


async def call_sql(db_url: str, number: str) -> tuple[Call | None, list[QueueOutcome], list[CallEvent]]:
    """The call row of ``number``'s caller, its outcomes and its events (in order)."""
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            call = (await s.scalars(select(Call).where(Call.caller_number == number))).first()
            if call is None:
                return None, [], []
            outcomes = list(await s.scalars(select(QueueOutcome)
                                            .where(QueueOutcome.call_id == call.id)))  # fmt: skip
            events = list(await s.scalars(select(CallEvent).where(CallEvent.call_id == call.id)
                                          .order_by(CallEvent.id)))  # fmt: skip
            return call, outcomes, events
    finally:
        await engine.dispose()


@dataclass
class Crashable:
    """pbxsim, SQL and the controller as a process of its own, which a test kills with
    SIGKILL (a crash: no Logoff, no cleanup) and starts again (``restart``)."""

    sim: PBXSim
    config_path: Path
    db_url: str
    numbers: list[str]
    #: each agent's id by its username
    agents: dict[str, str]
    #: the running controller's web base URL
    base: str = ""
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    #: the agent phones rung since the last restart (their endpoints: "PJSIP/1002")
    rung: list[str] = field(default_factory=list)

    async def start(self) -> None:
        proc, self.base = await start_controller(self.config_path)
        self.procs.append(proc)

    async def kill(self) -> None:
        """SIGKILL the running controller and wait until it is gone."""
        proc = self.procs[-1]
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    async def restart(self) -> None:
        """Kill the controller, then start another; ``rung`` counts from then on."""
        await self.kill()
        if self._on_event not in self.sim.world.listeners:
            self.sim.world.listeners.append(self._on_event)
        self.rung.clear()
        await self.start()

    def _on_event(self, name: str, data: bytes) -> None:
        if name == "Newchannel" and not headers(data)["Channel"].startswith("PJSIP/trunk"):
            self.rung.append(headers(data)["Channel"].rsplit("-", 1)[0])

    async def supervise(self, username: str, state: str) -> None:
        """The supervisor sets ``username``'s state (ready, paused, logged_out)."""
        await supervise(self.base, self.agents[username], state)

    async def sql(self, number: str) -> tuple[Call | None, list[QueueOutcome], list[CallEvent]]:
        return await call_sql(self.db_url, number)

    async def wait_events(self, number: str, what: str, timeout: float = 60,
                          cond: Callable[[list[CallEvent]], bool] | None = None) -> None:
        """Until SQL holds a ``what`` event of ``number``'s call (and ``cond`` of them all)."""

        async def there() -> bool:
            _call, _outcomes, events = await self.sql(number)
            return any(e.kind == what for e in events) and (cond is None or cond(events))

        await wait_sql(there, timeout, f"a {what} event in SQL")

    async def wait_ended(self, number: str, timeout: float = 120) -> None:
        """Until SQL holds the call's end and its outcome."""

        async def closed() -> bool:
            call, outcomes, _events = await self.sql(number)
            return call is not None and call.ended_at is not None and bool(outcomes)

        await wait_sql(closed, timeout, "the call's outcome and end in SQL")


@contextlib.asynccontextmanager
async def crashable_hotline(
    tmp_path: Path,
    db_url: str,
    world: Callable[[list[str]], dict[str, Any]],
    ivr: str,
    *,
    agents: int = 2,
    edit_config: Callable[[str], str] = with_billing,
    prepare: Callable[[str], Awaitable[Any]] | None = one_agent_per_queue,
    seed: int = 3,
) -> AsyncIterator[Crashable]:
    """A :class:`Crashable` hotline of ``world``, the IVR ``ivr`` (its YAML text), the demo
    config as ``edit_config`` changes it (default: billing beside support), the database
    as ``prepare`` leaves it (default: agent1 in support, agent2 in billing); its first
    controller started. Every controller left running is stopped at the end."""
    numbers = await seeded(db_url, agents=agents)
    if prepare is not None:
        await prepare(db_url)
    sim, cfg = await sim_and_config(tmp_path, db_url, world(numbers), seed=seed)
    flow = tmp_path / "flow.yaml"
    flow.write_text(ivr)
    cfg.write_text(edit_config(cfg.read_text().replace(str(ROOT / "config" / "ivr.yaml"),
                                                       str(flow))))  # fmt: skip
    rig = Crashable(sim, cfg, db_url, numbers, await agent_ids(db_url))
    try:
        await rig.start()
        yield rig
    finally:
        await stop_all(rig.procs, [])
        await sim.close()
