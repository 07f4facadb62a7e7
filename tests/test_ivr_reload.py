"""Hot reload of the IVR file over the real app (pbxsim over TCP, the controller, SQL):
new calls take the new flow, a caller in the IVR finishes on its own, a broken file
changes nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.storage.models import Call, CallEvent

from .e2e_support import Rig, drain, hotline_rig, scenario, wait_until

FLOW = textwrap.dedent(
    """\
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/main-menu
    nodes:
      main:
        prompt: menu
        timeout_s: 60
        retries: 1
        options:
          1: {goto: VERSION}
      VERSION:
        prompt: menu
        options:
          2: {queue: support}
    """
)


def flow(version: str) -> str:
    return FLOW.replace("VERSION", version)


def world(numbers: list[str]) -> dict[str, Any]:
    w = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0})
    w["prompts"] = {"hotline/vi/main-menu": 1.0}
    return w


def at_node(rig: Rig, number: str, node: str) -> bool:
    return any(
        c.caller_number == number and c.ivr is not None and c.ivr.node == node
        for c in rig.ctl.calls.values()
    )


async def test_new_calls_take_the_new_flow_and_calls_in_progress_keep_theirs(
    tmp_path: Path, db_url: str
) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(flow("first"))
    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr) as rig:
        a, b, c = rig.numbers[:3]
        population = rig.sim.world.population
        # A lets the main menu time out once (60 s of the simulation), then presses 1, 2
        population.arrive(a, ("", "1", "2"), patience=300)
        await wait_until(lambda: at_node(rig, a, "main"), 30, "A at the main menu")
        first = rig.ctl.flow.ivr

        ivr.write_text(flow("second"))
        done = await rig.hotline.reload()
        assert done.applied and "ivr_file" not in done.restart_needed
        second = rig.ctl.flow.ivr
        assert second is not first and "second" in second.nodes
        (call_a,) = [x for x in rig.ctl.calls.values() if x.caller_number == a]
        assert call_a.ivr is not None and call_a.ivr.definition is first

        population.arrive(b, ("1", "2"), patience=300)
        await wait_until(lambda: at_node(rig, b, "second"), 60, "B in the new flow")

        # a broken file: refused with its line, the running flow kept
        ivr.write_text(flow("third").replace("goto: third", "goto: thrid"))
        done = await rig.hotline.reload()
        assert not done.applied
        assert done.problems == (f"{ivr}:13: nodes.main.options.1.goto: unknown node 'thrid'",)
        assert rig.ctl.flow.ivr is second
        population.arrive(c, ("1", "2"), patience=300)

        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 3, 120, "three outcomes")
        await drain(rig)
        async with rig.hotline.store.sessions() as s:
            calls = {x.caller_number: x for x in await s.scalars(select(Call))}
            trails = {
                e.call_id: e.data["path"]
                for e in await s.scalars(select(CallEvent).where(CallEvent.kind == "ivr_trail"))
            }
    assert trails[calls[a].id] == "main(-)(1) > first(2)"  # started on the first version
    assert trails[calls[b].id] == "main(1) > second(2)"
    assert trails[calls[c].id] == "main(1) > second(2)"  # the broken third changed nothing
    assert {calls[n].outcome for n in (a, b, c)} == {"answered"}
