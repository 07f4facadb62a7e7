"""Overflow over the whole hotline: pbxsim over real AMI, real SQL. Nobody is logged in;
callers in support reach its max_wait_s and go to its overflow target: a voicemail node
(pbxsim records the message; SQL holds the row and the WAV is there), or another queue
where a logged-in agent answers them, their wait counted from their first entry."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.storage.models import CallEvent, QueueOutcome, Voicemail

from .e2e_support import hotline_rig, scenario, wait_until

FLOW = textwrap.dedent(
    """\
    name: care
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/main-menu
      leave: hotline/vi/leave-message
      thanks: hotline/vi/thanks
    nodes:
      main:
        prompt: menu
        timeout_s: 8
        options:
          1: {queue: support}
          2: {queue: billing}
          9: {goto: message}
      message: {type: voicemail, prompt: leave, max_s: 4, silence_s: null, queue: support,
                next: {goto: bye}}
      bye: {type: hangup, prompt: thanks, reason: done}
    """
)
PROMPTS = ["hotline/vi/main-menu", "hotline/vi/leave-message", "hotline/vi/thanks", "beep"]


def world(numbers: list[str]) -> dict[str, Any]:
    w = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0})
    w["prompts"] = {p: 1.0 for p in PROMPTS}
    return w


def configured(spool: Path, target: str):  # type: ignore[no-untyped-def]
    def edit(text: str) -> str:
        text = text.replace("hotline:\n", f"hotline:\n  voicemail_dir: {spool}\n", 1)
        return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n    max_wait_s: 2\n"
                            f"    overflow: {target}\n  - name: billing\n", 1)  # fmt: skip

    return edit


async def test_past_max_wait_a_caller_leaves_a_voicemail(tmp_path: Path, db_url: str) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    spool = tmp_path / "voicemail"
    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr, auto_login=False,
                           edit_config=configured(spool, "{voicemail: message}")) as rig:  # fmt: skip
        caller = rig.sim.world.population.arrive(rig.numbers[0], ("1",), patience=120)
        await wait_until(lambda: caller.outcome, 90, "the caller to be done")
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 1, 30, "its outcome")
        await rig.hotline.writer.flush()
        async with rig.hotline.store.sessions() as s:
            mails = list(await s.scalars(select(Voicemail)))
            outcomes = list(await s.scalars(select(QueueOutcome)))
            events = [e for e in await s.scalars(select(CallEvent)) if e.kind == "overflow"]
    [mail] = mails
    assert (mail.caller_number, mail.node, mail.queue) == (rig.numbers[0], "message", "support")
    assert (spool / Path(mail.path).name).stat().st_size == mail.size_bytes > 44
    assert [(o.queue, o.outcome) for o in outcomes] == [("support", "timeout")]
    assert [e.data["to"] for e in events] == ["voicemail"]


async def _billing_agent(db_url: str) -> None:
    """The one agent serves billing (the demo's agents serve support only)."""
    from callcenter.storage import Store, make_engine, make_session_factory

    engine = make_engine(db_url)
    try:
        store = Store(make_session_factory(engine))
        for a in await store.list_agents():
            if a.role == "agent":
                await store.set_agent_routing(a.id, queues=["billing"])
    finally:
        await engine.dispose()


async def test_past_max_wait_a_caller_is_answered_in_the_other_queue(
    tmp_path: Path, db_url: str
) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)

    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr, auto_login=False, agents=1,
                           prepare=_billing_agent,
                           edit_config=configured(tmp_path / "vm", "{queue: billing}")) as rig:  # fmt: skip
        ctl = rig.ctl
        [agent] = [a for a in await rig.hotline.store.list_agents() if a.role == "agent"]
        caller = rig.sim.world.population.arrive(rig.numbers[0], ("1",), patience=120)

        def in_billing() -> bool:
            return any(c.queue == "billing" for c in ctl.core.snapshot(ctl.now()).calls)

        await wait_until(in_billing, 60, "the caller to overflow into billing")
        await ctl.agent_ready(str(agent.id))
        await wait_until(lambda: caller.outcome, 90, "the caller to be done")
        await wait_until(lambda: ctl.counters["outcomes"] >= 1, 30, "the call's outcome")
        await rig.hotline.writer.flush()
        async with rig.hotline.store.sessions() as s:
            outcomes = list(await s.scalars(select(QueueOutcome).order_by(QueueOutcome.id)))
    # one outcome per call: the billing visit's; its wait counts from the first entry
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome) == ("billing", "answered")
    assert outcome.wait_s >= 2.0  # past support's max_wait_s
