"""Overflow over the whole hotline, condition by target: pbxsim over real AMI, real SQL.

Support overflows by one of its four conditions (``max_wait_s``, ``max_length``,
``join_empty: false``, ``leave_when_empty: true``) to one of the five target kinds
(another queue, a voicemail node, a callback node, any IVR node, a message and the
hang-up). The flow core's rule 12 has three paths per target, by where the caller is
when it overflows: refused at arrival (max_length, join_empty: no hold began),
holding (max_wait: a hold slice in flight) and offered (leave_when_empty: the last
agent pauses while its phone rings). The table covers each condition, each target
and each of those nine (path, target) pairs, and checks what the caller got from
pbxsim's side (the AGI commands its channel ran, its bridge, who hung up) and SQL
(the call's one outcome, the overflow event, the voicemail, the callback request,
the IVR trail).
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from callcenter.storage.models import Call, CallbackRequest, CallEvent, QueueOutcome, Voicemail
from pbxsim.server import PBXSim

from .e2e_support import (
    Rig,
    call_sql,
    crashable_hotline,
    headers,
    hotline_rig,
    one_agent_per_queue,
    scenario,
    wait_until,
)

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
      closed: hotline/vi/closed
    nodes:
      main:
        prompt: menu
        timeout_s: 8
        options:
          1: {queue: support}
          2: {queue: billing}
          7: {goto: info}
          8: {goto: call_me}
          9: {goto: message}
      message: {type: voicemail, prompt: leave, max_s: 4, silence_s: null, queue: support,
                next: {goto: bye}}
      call_me: {type: callback, queue: support, next: {goto: bye}}
      info: {type: play, prompt: closed, next: {goto: bye}}
      bye: {type: hangup, prompt: thanks, reason: done}
    """
)
SORRY = "hotline/vi/sorry"
PROMPTS = ["hotline/vi/main-menu", "hotline/vi/leave-message", "hotline/vi/thanks",
           "hotline/vi/closed", SORRY, "beep"]  # fmt: skip

#: support's settings per condition
CONDITIONS = {
    "max_wait": "max_wait_s: 2",
    "max_length": "max_length: 1",
    "join_empty": "join_empty: false",
    "leave_empty": "leave_when_empty: true",
}
#: support's overflow per target (hangup-silent: none set, the default)
TARGETS = {
    "queue": "{queue: billing}",
    "voicemail": "{voicemail: message}",
    "callback": "{callback: call_me}",
    "ivr": "{ivr: info}",
    "hangup": f"{{hangup: {SORRY}}}",
    "hangup-silent": None,
}
#: what the caller runs after the overflow, hold music and language aside
AFTER: dict[str, list[str]] = {
    "voicemail": ["STREAM FILE hotline/vi/leave-message", "RECORD FILE",
                  "STREAM FILE hotline/vi/thanks", "HANGUP"],
    "callback": ["STREAM FILE hotline/vi/thanks", "HANGUP"],
    "ivr": ["STREAM FILE hotline/vi/closed", "STREAM FILE hotline/vi/thanks", "HANGUP"],
    "hangup": [f"STREAM FILE {SORRY}", "HANGUP"],
    "hangup-silent": ["HANGUP"],
}  # fmt: skip
#: where the caller is when it overflows, per condition (the path rule 12 takes)
WHERE = {"max_wait": "holding", "max_length": "arrival", "join_empty": "arrival",
         "leave_empty": "offered"}  # fmt: skip

CASES = [
    ("max_wait", "voicemail"), ("max_wait", "queue"), ("max_wait", "hangup"),
    ("max_length", "callback"), ("max_length", "queue"),
    ("join_empty", "ivr"), ("join_empty", "queue"), ("join_empty", "hangup-silent"),
    ("leave_empty", "voicemail"), ("leave_empty", "queue"), ("leave_empty", "hangup"),
]  # fmt: skip


def world(numbers: list[str]) -> dict[str, Any]:
    # agent1's phone (PJSIP/1001, support) rings and is never answered: it is paused
    # while ringing; agent2's (billing) answers
    w = scenario(numbers, arrivals={"kind": "trace", "calls": []},
                 agents={"phones": {"1001": {"no_answer_probability": 1.0}}})  # fmt: skip
    w["prompts"] = {p: 1.0 for p in PROMPTS}
    return w


def configured(spool: Path, condition: str, target: str):  # type: ignore[no-untyped-def]
    overflow = TARGETS[target]
    settings = f"    {CONDITIONS[condition]}\n"
    if overflow is not None:
        settings += f"    overflow: {overflow}\n"

    def edit(text: str) -> str:
        text = text.replace("hotline:\n", f"hotline:\n  voicemail_dir: {spool}\n", 1)
        return text.replace("    hold_slice_s: 3\n",
                            f"    hold_slice_s: 3\n{settings}  - name: billing\n", 1)  # fmt: skip

    return edit


@dataclass
class Heard:
    """What pbxsim's channels ran: per channel, its AGI commands and bridges, in order."""

    steps: dict[str, list[str]]

    def on_event(self, name: str, data: bytes) -> None:
        if name in ("AGIExecStart", "BridgeEnter"):
            h = headers(data)
            step = h["Command"] if name == "AGIExecStart" else "BridgeEnter"
            self.steps.setdefault(h["Channel"], []).append(step)


def _call(rig: Rig, number: str) -> Any:
    """The controller's live call of ``number`` (None: none, or no longer)."""
    return next((c for c in rig.ctl.core.snapshot(rig.ctl.now()).calls
                 if c.caller_number == number), None)  # fmt: skip


def _phone_rings(sim: PBXSim, endpoint: str) -> bool:
    """An agent leg of ``endpoint``'s phone is up (ringing or talking)."""
    return any(c.role == "agent" and c.agent_key == endpoint
               for c in sim.world.channels.values())  # fmt: skip


@pytest.mark.parametrize(("condition", "target"), CASES, ids=[f"{c}-{t}" for c, t in CASES])
async def test_each_condition_routes_to_each_target_kind(
    tmp_path: Path, db_url: str, condition: str, target: str
) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    spool = tmp_path / "voicemail"
    heard = Heard({})
    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr, auto_login=False, agents=2,
                           prepare=one_agent_per_queue, offer_timeout_s=60,
                           edit_config=configured(spool, condition, target)) as rig:  # fmt: skip
        ctl = rig.ctl
        rig.sim.world.listeners.append(heard.on_event)
        agents = {a.username: str(a.id) for a in await rig.hotline.store.list_agents()}
        population = rig.sim.world.population
        number = rig.numbers[0]
        if condition == "max_length":  # someone waits in support already
            population.arrive(rig.numbers[1], ("1",), patience=600)
            await wait_until(lambda: _call(rig, rig.numbers[1]), 60, "the first caller to wait")
        if condition == "leave_empty":
            await ctl.agent_ready(agents["agent1"])
        caller = population.arrive(number, ("1",), patience=600)
        if condition == "leave_empty":  # support's only agent pauses while its phone rings

            def ringing() -> bool:  # long enough for its wait to tell in billing
                view = _call(rig, number)
                return view is not None and view.agent_id == agents["agent1"] and view.wait_s >= 3

            await wait_until(ringing, 60, "agent1's phone to ring 3 s with the caller")
            await ctl.agent_pause(agents["agent1"], "lunch")
        if target == "queue":

            def in_billing() -> bool:
                view = _call(rig, number)
                return view is not None and view.queue == "billing"

            await wait_until(in_billing, 60, "the caller to overflow into billing")
            await ctl.agent_ready(agents["agent2"])
        await wait_until(lambda: caller.outcome, 90, "the caller to be done")
        await wait_until(lambda: ctl.counters["outcomes"] >= 1, 30, "its outcome")
        if condition == "leave_empty":  # the paused agent's ringing leg was hung up
            await wait_until(lambda: not _phone_rings(rig.sim, "1001"), 30, "agent1's leg to end")
        if target == "callback":  # its request's virtual caller meets the full support
            await wait_until(lambda: all(c.caller_number != number for c in ctl.calls.values()),
                             60, "the callback request to end")  # fmt: skip
        await rig.hotline.writer.flush()
        async with rig.hotline.store.sessions() as s:
            [call] = list(await s.scalars(select(Call).where(Call.caller_number == number)))
            of_call = QueueOutcome.call_id == call.id
            outcomes = list(await s.scalars(select(QueueOutcome).where(of_call)))
            events = list(await s.scalars(select(CallEvent).where(CallEvent.call_id == call.id)
                                          .order_by(CallEvent.id)))  # fmt: skip
            mails = list(await s.scalars(select(Voicemail)))
            requests = list(await s.scalars(select(CallbackRequest)))
    steps = heard.steps[caller.channel]

    # SQL: the overflow says why and where to; the call has one outcome
    [overflow] = [e for e in events if e.kind == "overflow"]
    kind = target.removesuffix("-silent")
    assert (overflow.data["queue"], overflow.data["reason"], overflow.data["to"]) == (
        "support", condition, kind)  # fmt: skip
    if target == "queue":
        # answered in billing, the support visit's timeout not recorded, the wait counted
        # from the caller's first entry (at least its time in support, then billing's)
        [outcome] = outcomes
        assert (outcome.queue, outcome.outcome, outcome.agent_id) == (
            "billing", "answered", int(agents["agent2"]))  # fmt: skip
        assert call.queued_at is not None
        in_support = (overflow.at - call.queued_at).total_seconds()
        assert outcome.wait_s >= in_support
        assert in_support >= {"max_wait": 2.0, "leave_empty": 3.0}.get(condition, 0.0)
        assert "BridgeEnter" in steps and caller.talked, steps
        # it held in billing (music) until agent2 answered
        assert any(s.startswith("SET MUSIC ON") for s in steps[: steps.index("BridgeEnter")])
        return
    assert [(o.queue, o.outcome) for o in outcomes] == [("support", "timeout")]
    assert caller.outcome == "ended", "hung up by the hotline, not out of patience"
    assert "BridgeEnter" not in steps and not caller.talked

    # pbxsim: after the menu, exactly the target's prompts and the hang-up
    menu = max(i for i, s in enumerate(steps) if "main-menu" in s)
    after = [s for s in steps[menu + 1 :]
             if not s.startswith(("SET MUSIC", "WAIT FOR DIGIT", "SET VARIABLE"))]  # fmt: skip
    expected = AFTER[target]
    assert [next((e for e in expected if s.startswith(e)), s) for s in after] == expected, steps
    held = [s for s in steps[menu + 1 :] if s.startswith("SET MUSIC ON")]
    if WHERE[condition] == "arrival":
        assert held == [], "refused at arrival: no hold music first"
    else:
        assert held, "it held in support before it overflowed"

    trails = [e.data for e in events if e.kind == "ivr_trail"]
    if kind in ("voicemail", "callback", "ivr"):
        # the IVR ran again from the target node, to its hang-up
        entered = [step["node"] for step in trails[-1]["trail"] if step["what"] == "enter"]
        node = {"voicemail": "message", "callback": "call_me", "ivr": "info"}[kind]
        assert entered == [node, "bye"], trails
        assert trails[-1]["end"] == "hangup"
    else:
        assert [t["end"] for t in trails] == ["queue"], "no IVR after the overflow"
    mine = [m for m in mails if m.call_id == call.id]
    if kind == "voicemail":
        [mail] = mine
        assert (mail.caller_number, mail.node, mail.queue) == (number, "message", "support")
        assert (spool / Path(mail.path).name).stat().st_size == mail.size_bytes > 44
    else:
        assert mine == []
    asked = [r for r in requests if r.call_id == call.id]
    if kind == "callback":
        [req] = asked
        # dialled back from support (rule 13), still full (max_length): it fails at once,
        # the call's one outcome the overflow's timeout
        assert (req.number, req.queue, req.node, req.status, req.own_number) == (
            number, "support", "call_me", "failed", True)  # fmt: skip
        assert [e.data["why"] for e in events if e.kind == "callback_failed"] == ["timeout"]
    else:
        assert asked == []


async def test_a_controller_killed_after_an_overflow_to_another_queue_keeps_the_caller_there(
    tmp_path: Path, db_url: str
) -> None:
    """Support's last agent pauses while it rings: the caller overflows into billing
    (leave_when_empty), where nobody is logged in. The controller is killed (SIGKILL)
    and started again: the caller is put back in billing, not support (where nobody
    would ever take it: leave_when_empty only acts when an agent leaves), with its wait
    from its first entry, and answered there once billing's agent is ready."""
    number = ""
    edit = configured(tmp_path / "vm", "leave_empty", "queue")
    async with crashable_hotline(tmp_path, db_url, world, FLOW, edit_config=edit) as rig:
        number = rig.numbers[0]
        await rig.supervise("agent1", "ready")
        caller = rig.sim.world.population.arrive(number, ("1",), patience=900)
        await wait_until(lambda: _phone_rings(rig.sim, "1001"), 60, "agent1's phone to ring")
        await rig.supervise("agent1", "paused")
        # the overflow's last write: billing's entry
        await rig.wait_events(number, "queued", cond=lambda events: any(
            e.kind == "queued" and e.data["queue"] == "billing" for e in events))  # fmt: skip
        await rig.restart()
        await rig.supervise("agent2", "ready")
        await wait_until(lambda: caller.outcome, 90, "the caller to be answered and done")
        await rig.wait_ended(number)
    call, outcomes, events = await call_sql(db_url, number)
    assert call is not None and call.queued_at is not None and caller.talked
    kinds = [e.kind for e in events]
    assert kinds.count("adopted") == 1, "the second controller adopted it"
    # put back in billing: no second overflow, and support's paused agent never rang
    assert kinds.count("overflow") == 1, events
    assert rig.rung == ["PJSIP/1002"], rig.rung
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == (
        "billing", "answered", int(rig.agents["agent2"]))  # fmt: skip
    [overflow] = [e for e in events if e.kind == "overflow"]
    assert outcome.wait_s >= (overflow.at - call.queued_at).total_seconds()
    [_, place] = [e.data for e in events if e.kind == "queued"]
    assert (place["queue"], place["why"]) == ("billing", "overflow")
    entered = dt.datetime.fromisoformat(place["entered_at"]).timestamp()  # its first entry
    assert abs(entered - call.queued_at.replace(tzinfo=dt.UTC).timestamp()) < 0.01
