"""Skills, tiers and two queues end to end: pbxsim over real TCP AMI, the controller, SQL.

Two queues (support needs nothing, billing needs ``billing`` at level 2), two agents
serving both, and a VIP caller whose tier (``acd.tiers``) brings priority 10 and the
``vip`` skill. Four callers wait before any agent is ready; what pbxsim saw (the
``DialBegin`` of each agent leg, which carries the caller's number as the leg's
caller id) says which agent's phone rang for which caller:

- agent1 (billing 1, vip 1) fits support callers, the VIP among them, not billing;
  it is made ready first and must ring for the VIP, who came after a standard
  support caller (priority beats one more minute of wait).
- agent2 (billing 3, no vip) fits the others; made ready second, it must ring for
  the support caller who waited longest (most due across its two queues), never
  for the VIP.
- The rest follows: agent2 takes the billing caller, agent1 the last support one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.storage import Store, make_engine, make_session_factory
from callcenter.storage.models import Call

from .e2e_support import hotline_rig, scenario, wait_until

ROOT = Path(__file__).resolve().parent.parent

#: callers, in arrival order: (number, the menu digit: 1 support, 2 billing)
FIRST, BILLING, VIP, LAST = "0912345001", "0912345002", "0912345003", "0912345004"
CALLERS = [(FIRST, "1"), (BILLING, "2"), (VIP, "1"), (LAST, "1")]


def _ivr(tmp_path: Path) -> Path:
    """The shipped IVR with menu option 2 going to its own billing queue."""
    text = (ROOT / "config" / "ivr.yaml").read_text()
    old = "      2: {queue: support}"
    assert text.count(old) == 1
    path = tmp_path / "ivr.yaml"
    path.write_text(text.replace(old, "      2: {queue: billing}"))
    return path


def _config(text: str) -> str:
    old = "queues:\n  - name: support\n"
    assert text.count(old) == 1
    return text.replace(old, (
        "acd:\n  tiers:\n    vip: {priority: 10, skills: {vip: 1}}\n"
        "queues:\n  - name: billing\n    skills: {billing: 2}\n    wrap_up_s: 1\n"
        "  - name: support\n"
    ))  # fmt: skip


async def _prepare(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        for number, *_ in CALLERS:
            tier = "vip" if number == VIP else "standard"
            await store.add_customer(f"Caller {number[-1]}", [number], tier=tier)
        agents = {a.username: a.id for a in await store.list_agents()}
        both = ["support", "billing"]
        await store.set_agent_routing(agents["agent1"], queues=both,
                                      skills={"billing": 1, "vip": 1})  # fmt: skip
        await store.set_agent_routing(agents["agent2"], queues=both, skills={"billing": 3})
    finally:
        await engine.dispose()


def _world(numbers: list[str]) -> dict[str, Any]:
    calls = [{"at": 1 + i, "number": n, "digits": ["1", d], "patience": 900}
             for i, (n, d) in enumerate(CALLERS)]  # fmt: skip
    return scenario(numbers, arrivals={"kind": "trace", "calls": calls},
                    agents={"default": {"answer_delay": [1, 1.5], "talk_time": [4, 6]}})  # fmt: skip


def _headers(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in data.decode().split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep:
            out.setdefault(key, value)
    return out


async def test_two_queues_skills_and_a_vip_each_call_rings_the_right_agent(tmp_path, db_url):
    rings: list[tuple[str, str]] = []  # (agent phone, caller number), as pbxsim saw them

    def on_event(name: str, data: bytes) -> None:
        if name == "DialBegin":
            h = _headers(data)
            endpoint = h["DestChannel"].split("/")[1].rsplit("-", 1)[0]
            rings.append((endpoint, h["DestCallerIDNum"]))

    async with hotline_rig(tmp_path, db_url, _world, agents=2, auto_login=False,
                           ivr_file=_ivr(tmp_path), prepare=_prepare,
                           edit_config=_config, offer_timeout_s=20) as rig:  # fmt: skip
        rig.sim.world.listeners.append(on_event)
        ctl = rig.ctl
        ids = {a.username: str(a.id) for a in await rig.hotline.store.list_agents()}

        def waiting() -> dict[str, str]:
            snap = ctl.core.snapshot(ctl.now())
            return {c.caller_number: c.queue for c in snap.calls}

        await wait_until(lambda: len(waiting()) == 4, 90, "the four callers to queue")
        assert waiting() == {FIRST: "support", BILLING: "billing", VIP: "support",
                             LAST: "support"}  # fmt: skip
        assert ctl.core.call(next(c for c in ctl.calls if ctl.calls[c].caller_number == VIP),
                             ctl.now()).priority == 10  # fmt: skip

        await ctl.agent_ready(ids["agent1"])
        await wait_until(lambda: len(rings) >= 1, 30, "agent1's phone to ring")
        await ctl.agent_ready(ids["agent2"])
        await wait_until(lambda: len(rings) >= 2, 30, "agent2's phone to ring")
        assert rings[:2] == [("1001", VIP), ("1002", FIRST)]

        await wait_until(lambda: ctl.counters["outcomes"] >= 4, 120, "the four calls to end")
        assert sorted(rings) == sorted([("1001", VIP), ("1002", FIRST), ("1002", BILLING),
                                        ("1001", LAST)]), rings  # fmt: skip
        # each was answered by that agent: one offer per call, nobody else rang
        async with rig.hotline.store.sessions() as s:
            answered = dict((await s.execute(select(Call.caller_number, Call.agent_id))).all())
        by_id = {v: k for k, v in ids.items()}
        assert {n: by_id[str(a)] for n, a in answered.items()} == {
            VIP: "agent1", FIRST: "agent2", BILLING: "agent2", LAST: "agent1"}  # fmt: skip
