"""One controller, two PBX nodes (two pbxsim instances over real TCP AMI).

Broke: nothing showed that a controller with two ``nodes:`` serves the callers of
both, keeps one outcome per caller, and goes on with node A when node B dies
(docs/architecture.md, "Several PBXs").
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import SECRET, config_text
from callcenter.flow.call import Stage
from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import Agent, AgentStateChange, QueueOutcome
from pbxsim.scenario import Scenario
from pbxsim.server import PBXSim

from .e2e_support import check_recordings, scenario, seeded, wait_until
from .test_e2e_restart_storm import sql_calls

NODES = ("pbx1", "pbx2")


@dataclass
class TwoNodes:
    hotline: Hotline
    sims: dict[str, PBXSim]
    numbers: list[str]

    @property
    def ctl(self) -> Any:
        return self.hotline.controller

    def open_on(self, node: str) -> list[str]:
        return [k for k in self.ctl.calls if k.startswith(f"{node}:")]


def two_node_config(text: str, ports: dict[str, int], extra: dict[str, str]) -> str:
    """The demo config with its one node replaced by ``NODES`` (``extra``: more keys of
    each node, YAML lines indented as a node's keys)."""
    head, _, rest = text.partition("nodes:\n")
    _, _, tail = rest.partition("hotline:\n")
    nodes = "".join(
        f"  - name: {n}\n    host: 127.0.0.1\n    port: {ports[n]}\n    username: hotline\n"
        f"    secret: {SECRET}\n    auth: md5\n    ping_interval_s: 2\n{extra.get(n, '')}"
        for n in NODES
    )  # fmt: skip
    return f"{head}nodes:\n{nodes}hotline:\n{tail}"


@contextlib.asynccontextmanager
async def two_nodes(
    tmp_path: Path,
    db_url: str,
    worlds: dict[str, Callable[[list[str]], dict[str, Any]]],
    *,
    agents: int = 4,
    sim_args: Callable[[str], dict[str, Any]] = lambda node: {},
    node_extra: dict[str, str] | None = None,
) -> AsyncIterator[TwoNodes]:
    numbers = await seeded(db_url, agents)
    sims: dict[str, PBXSim] = {}
    for i, node in enumerate(NODES):
        sims[node] = PBXSim(port=0, users={"hotline": SECRET},
                            scenario=Scenario.from_dict(worlds[node](numbers)), seed=11 + i,
                            spool_dir=tmp_path / f"spool-{node}", time_scale=4.0,
                            **sim_args(node))  # fmt: skip
        await sims[node].start()
    monitor = tmp_path / "monitor"
    monitor.mkdir(exist_ok=True)
    cfg = tmp_path / "hotline.yaml"
    text = config_text(ami_port=0, database_url=db_url, monitor=monitor, offer_timeout_s=6,
                       wrap_up_s=1, hold_slice_s=3)  # fmt: skip
    cfg.write_text(two_node_config(text, {n: s.port for n, s in sims.items()}, node_extra or {}))
    hotline = Hotline(load_config(cfg), web_port=0, auto_login_agents=True)
    try:
        await hotline.start()
        yield TwoNodes(hotline, sims, numbers)
    finally:
        await hotline.stop()
        for sim in sims.values():
            await sim.close()


async def settled(rig: TwoNodes, db_url: str) -> tuple[dict[str, Any], dict[str, int], list[Any]]:
    """The SQL rows once every recording row is complete (hashed in a worker thread after
    its caller hung up)."""
    end = time.monotonic() + 120
    while True:
        await rig.hotline.writer.flush()
        calls, counts, recs = await sql_calls(db_url)
        if all(r.sha256 is not None for r in recs) or time.monotonic() > end:
            return calls, counts, recs
        await asyncio.sleep(0.5)


def calls_world(numbers: list[str]) -> dict[str, Any]:
    return scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 20})


async def test_two_nodes_serve_their_callers_and_node_b_dying_leaves_node_a_going(
    tmp_path: Path, db_url: str
) -> None:
    async with two_nodes(tmp_path, db_url, {n: calls_world for n in NODES}) as rig:
        ctl = rig.ctl
        await wait_until(lambda: ctl.counters["outcomes"] >= 4 and rig.open_on("pbx2"), 180,
                         "a few outcomes, and callers open on pbx2")  # fmt: skip
        dying = set(rig.open_on("pbx2"))
        await rig.sims["pbx2"].crash()
        before = ctl.counters["outcomes"]
        # node A goes on while B is dead: new pbx1 calls end with an outcome
        await wait_until(lambda: ctl.counters["outcomes"] >= before + 2, 180,
                         "pbx1 calls to end while pbx2 is down")  # fmt: skip
        await rig.sims["pbx2"].restart()
        await wait_until(lambda: not dying & set(ctl.calls), 120,
                         "pbx2's dead calls to be closed")  # fmt: skip
        for sim in rig.sims.values():
            sim.world.population.stop_arrivals()
        await wait_until(lambda: not ctl.calls, 180, "every call to end")
        calls, counts, recs = await settled(rig, db_url)
        assert {c.node for c in calls.values()} == set(NODES)
        for call_id, call in calls.items():
            assert call_id.startswith(f"{call.node}:"), call_id
            assert counts.get(call_id) == 1, (call_id, counts.get(call_id))
        for call_id in dying:
            assert calls[call_id].outcome in ("lost", "answered"), calls[call_id].outcome
        served = {c.node for c in calls.values() if c.outcome == "answered"}
        assert served == set(NODES), served
        assert check_recordings(rig, recs) >= 2  # type: ignore[arg-type]
        assert {r.call_id.split(":")[0] for r in recs} == set(NODES)


# -- agents homed on one node, callers on either: the trunk between them ------------------

HOMES = {"pbx1": ("PJSIP/1001", "PJSIP/1002"), "pbx2": ("PJSIP/1003", "PJSIP/1004")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def trunked(tmp_path: Path, db_url: str,
                  worlds: dict[str, Callable[[list[str]], dict[str, Any]]]) -> AsyncIterator[TwoNodes]:  # fmt: skip
    """Two nodes, each agent's phone registered on one (``HOMES``), a trunk each way:
    ``[pbx2]`` on pbx1 reaches pbx2 and ``[pbx1]`` on pbx2 reaches pbx1 (pbxsim.trunk)."""
    async with two_nodes(tmp_path, db_url, worlds, sim_args=trunk_sim_args(),
                         node_extra=HOMED) as rig:  # fmt: skip
        yield rig


def trunk_sim_args() -> Callable[[str], dict[str, Any]]:
    """Each node's pbxsim arguments for a trunk each way (free ports of its own)."""
    ports = {n: free_port() for n in NODES}

    def sim_args(node: str) -> dict[str, Any]:
        other = next(n for n in NODES if n != node)
        return {"trunk_listen": f"127.0.0.1:{ports[node]}",
                "trunks": {other: f"127.0.0.1:{ports[other]}"}}  # fmt: skip

    return sim_args


#: each node's config lines (two_node_config's ``extra``): its phones (``HOMES``), and
#: its trunk to the other node
HOMED = {n: f"    phones: [{', '.join(HOMES[n])}]\n"
            f"    trunks: {{{next(o for o in NODES if o != n)}: {next(o for o in NODES if o != n)}}}\n"
         for n in NODES}  # fmt: skip


async def agent_homes(db_url: str) -> dict[int, str]:
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            rows = (await s.execute(select(Agent.id, Agent.device))).all()
    finally:
        await engine.dispose()
    return {i: n for i, device in rows for n in NODES if device in HOMES[n]}


async def test_an_agent_on_one_node_serves_a_caller_on_the_other_through_the_trunk(
    tmp_path: Path, db_url: str
) -> None:
    seen: dict[str, list[str]] = {n: [] for n in NODES}
    async with trunked(tmp_path, db_url, {n: calls_world for n in NODES}) as rig:
        for node, sim in rig.sims.items():
            sim.world.listeners.append(
                lambda name, data, node=node: seen[node].append(data.decode())
                if name == "Newchannel" else None)  # fmt: skip
        homes = await agent_homes(db_url)
        ctl = rig.ctl
        await wait_until(lambda: ctl.counters["outcomes"] >= 12, 240, "a dozen outcomes")
        for sim in rig.sims.values():
            sim.world.population.stop_arrivals()
        await wait_until(lambda: not ctl.calls, 180, "every call to end")
        calls, counts, recs = await settled(rig, db_url)
        outcomes = await outcome_rows(db_url)
        for call_id in calls:
            assert counts.get(call_id) == 1, (call_id, counts.get(call_id))
        served_across = {(calls[o.call_id].node, homes[o.agent_id]) for o in outcomes
                         if o.outcome == "answered" and o.agent_id is not None}  # fmt: skip
        # a caller on pbx1 served by an agent on pbx2, and the reverse
        assert ("pbx1", "pbx2") in served_across and ("pbx2", "pbx1") in served_across, served_across
        # the agent leg left the caller's node through its trunk (PJSIP/<other node>-N) and
        # came in on the agent's node on the endpoint for the caller's node, in [hotline-peers]
        for node in NODES:
            other = next(n for n in NODES if n != node)
            assert any(f"Channel: PJSIP/{other}-" in e for e in seen[node]), node
            assert any(f"Channel: PJSIP/{other}-" in e and "Context: hotline-peers" in e
                       for e in seen[node]), node  # fmt: skip
        assert check_recordings(rig, recs) >= 4  # type: ignore[arg-type]
        across = [o.call_id for o in outcomes if o.outcome == "answered" and o.agent_id
                  and homes[o.agent_id] != calls[o.call_id].node]  # fmt: skip
        assert set(across) & {r.call_id for r in recs}, "a call served across has its recording"
        assert ctl.counters["screen_pops_sent"] >= len(across)


async def pause_reasons(db_url: str) -> set[str | None]:
    """Every reason an agent was paused for (SQL's agent state changes)."""
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            rows = await s.scalars(select(AgentStateChange.reason)
                                   .where(AgentStateChange.new == "paused"))  # fmt: skip
            return set(rows)
    finally:
        await engine.dispose()


async def outcome_rows(db_url: str) -> list[Any]:
    engine = make_engine(db_url)
    try:
        async with Store(make_session_factory(engine)).sessions() as s:
            return list(await s.scalars(select(QueueOutcome)))
    finally:
        await engine.dispose()


async def test_node_b_dying_ends_its_calls_and_trunk_legs_and_node_a_goes_on(
    tmp_path: Path, db_url: str
) -> None:
    async with trunked(tmp_path, db_url, {n: calls_world for n in NODES}) as rig:
        homes = await agent_homes(db_url)
        on_b = {str(i) for i, n in homes.items() if n == "pbx2"}
        ctl = rig.ctl

        def across() -> list[str]:
            """pbx1 callers talking to an agent whose phone is on pbx2 (over the trunk)."""
            return [c.call_id for c in ctl.calls.values() if c.node == "pbx1"
                    and c.connected() and c.agent_id in on_b]  # fmt: skip

        def holding_on_b() -> list[str]:
            return [c.call_id for c in ctl.calls.values() if c.node == "pbx2"
                    and c.stage is Stage.HOLDING]  # fmt: skip

        # a pbx2 caller holding as well: its node gone, it must be offered to no one (it
        # cost each agent an offer timeout and a failure: the floor ended up paused)
        await wait_until(lambda: across() and holding_on_b(), 240,
                         "a pbx1 caller talking to a pbx2 agent, and a pbx2 caller holding")  # fmt: skip
        talking, dying = set(across()), set(rig.open_on("pbx2"))
        await rig.sims["pbx2"].crash()
        # the trunk broke: the pbx1 callers served from pbx2 end (after-call), with an outcome
        await wait_until(lambda: not talking & set(ctl.calls), 120,
                         "the pbx1 calls talking over the trunk to end")  # fmt: skip
        before = ctl.counters["outcomes"]
        await wait_until(lambda: ctl.counters["outcomes"] >= before + 3, 240,
                         "pbx1 calls to go on while pbx2 is down")  # fmt: skip

        def paused_on_b() -> set[str]:
            now = ctl.now()
            return {a for a in on_b
                    if ctl.core.agent(a, now).reason == "device-unreachable"}  # fmt: skip

        # offered meanwhile, pbx2's agents were found unreachable (no trunk) and paused
        await wait_until(paused_on_b, 120, "pbx2's agents paused: their node is down")
        await rig.sims["pbx2"].restart()
        await wait_until(lambda: not dying & set(ctl.calls), 120, "pbx2's dead calls to close")
        await wait_until(lambda: not paused_on_b(), 60, "pbx2's agents ready again")
        for sim in rig.sims.values():
            sim.world.population.stop_arrivals()
        await wait_until(lambda: not ctl.calls, 180, "every call to end")
        calls, counts, recs = await settled(rig, db_url)
        for call_id in calls:
            assert counts.get(call_id) == 1, (call_id, counts.get(call_id))
        for call_id in talking:
            assert calls[call_id].outcome == "answered", calls[call_id].outcome
        for call_id in dying:
            assert calls[call_id].outcome in ("lost", "answered"), calls[call_id].outcome
        check_recordings(rig, recs)  # type: ignore[arg-type]
        assert "offer-failed" not in await pause_reasons(db_url)
