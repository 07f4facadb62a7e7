"""One controller, two PBX nodes (two pbxsim instances over real TCP AMI).

Broke: nothing showed that a controller with two ``nodes:`` serves the callers of
both, keeps one outcome per caller, and goes on with node A when node B dies
(docs/architecture.md, "Several PBXs").
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.demo import SECRET, config_text
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

