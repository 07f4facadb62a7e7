"""Overflow that goes somewhere (flow core rule 12, callcenter.flow.overflow), by hand: the
pure core over a real ACD of two queues and a real IVR with voicemail and callback nodes.
A caller past support's max_wait_s goes to each kind of target."""

from __future__ import annotations

from pathlib import Path

import pytest

import acd
from callcenter.facts import RecordCallbackProgress
from callcenter.flow import CallFlow, Stage
from callcenter.flow import effects as fx
from callcenter.flow.inputs import AgentCommand, PbxEvent
from callcenter.flow.overflow import OverflowTarget
from callcenter.storage.writes import (
    RecordCallbackRequest,
    RecordCallEvent,
    RecordCallUpdate,
    RecordOutcome,
)
from callcenter.tracker import ChannelHungUp
from ivr import load_ivr

from .flow_support import CALL, CH, NODE, UID, Flow
from .test_flow_core import arrive, pending, reply, to_queue

IVR_TEXT = """\
name: hotline
start: language
fallback_queue: support
languages: [vi, en]
default_language: vi
prompts:
  welcome:         {vi: hotline/vi/welcome,         en: hotline/en/welcome}
  choose_language: {vi: hotline/vi/choose-language, en: hotline/en/choose-language}
  main_menu:       {vi: hotline/vi/main-menu,       en: hotline/en/main-menu}
  invalid:         {vi: hotline/vi/invalid,         en: hotline/en/invalid}
  leave_message:   {vi: hotline/vi/leave-message,   en: hotline/en/leave-message}
  bye:             {vi: hotline/vi/bye,             en: hotline/en/bye}
nodes:
  language:
    intro: welcome
    prompt: choose_language
    timeout_s: 5
    retries: 0
    options:
      1: {language: vi, goto: main}
      2: {language: en, goto: main}
    otherwise: {language: vi, goto: main}
  main:
    prompt: main_menu
    timeout_s: 6
    retries: 2
    options:
      1: {queue: support}
      7: {goto: message}
      8: {goto: call_me}
      9: {goto: goodbye}
  message: {type: voicemail, prompt: leave_message, max_s: 60, silence_s: 5,
            queue: support, next: {hangup: message}}
  call_me: {type: callback, queue: support, next: {hangup: callback}}
  goodbye: {type: hangup, prompt: bye, reason: overflow}
"""


def overflowing(tmp_path: Path, target: OverflowTarget, billing_max_wait_s: float | None = None
                ) -> Flow:  # fmt: skip
    """A caller on hold in support (max wait 30 s, nobody logged in) and its slices run out."""
    path = tmp_path / "ivr.yaml"
    path.write_text(IVR_TEXT)
    f = Flow()
    f.acd = acd.Acd(acd.AcdConfig(queues=(
        acd.QueueConfig("support", hold_slice_s=20.0, max_wait_s=30.0),
        acd.QueueConfig("billing", hold_slice_s=20.0, max_wait_s=billing_max_wait_s),
    ), agents=(acd.AgentConfig("7", "Agent 7", "PJSIP/2007", ("billing",)),)))  # fmt: skip
    f.core = CallFlow(ivr=load_ivr(path, queues={"support", "billing"}), acd_core=f.acd,
                      entry_contexts={"hotline", "hotline-safe"},
                      after_call_context="after-call", run_id="r1",
                      overflow={"support": target, "billing": OverflowTarget("queue", "support")})  # fmt: skip
    arrive(f)
    to_queue(f)
    reply(f, "200 result=0")  # SET MUSIC ON
    assert pending(f) == "WAIT FOR DIGIT 20000"
    f.tick(20)
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 10000", "the last slice ends at max_wait_s"
    f.tick(10)  # max_wait_s fires as the slice ends: the overflow, then the slice's reply
    reply(f, "200 result=0")
    return f


def overflow_event(f: Flow) -> dict:
    [ev] = [w.data for w in f.writes(RecordCallEvent) if w.kind == "overflow"]
    return ev


def test_to_another_queue_keeping_the_wait(tmp_path: Path) -> None:
    f = overflowing(tmp_path, OverflowTarget("queue", "billing"))
    call = f.core.calls[CALL]
    assert (call.stage, call.queue) == (Stage.HOLDING, "billing")
    assert overflow_event(f) == {"queue": "support", "reason": "max_wait", "to": "queue",
                                 "target": "billing"}  # fmt: skip
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.queue == "billing" and view.wait_s == 30.0
    f.login("7")
    [orig] = f.sent(fx.Originate)
    assert orig.agent_id == "7"
    # the support visit's timeout is not recorded: the billing visit gives the outcome
    assert f.writes(RecordOutcome) == [] and call.outcome is None
    # SQL's row names billing (its first entry kept): a restart puts it back there
    queues = [(w.queue, w.queued_at is not None) for w in f.writes(RecordCallUpdate) if w.queue]
    assert queues == [("support", True), ("billing", False)]
    queued = [w.data["queue"] for w in f.writes(RecordCallEvent) if w.kind == "queued"]
    assert queued == ["support", "billing"]
    # the ACD's live tallies count it once too, in billing (docs/kpis.md)
    support, billing = f.acd.queue_stats("support", f.mono), f.acd.queue_stats("billing", f.mono)
    assert (support.offered, support.timed_out) == (0, 0)
    assert (billing.offered, billing.waiting) == (1, 1)  # ringing agent 7


def test_back_into_a_queue_it_overflowed_from_is_a_hang_up(tmp_path: Path) -> None:
    # billing's max wait is already past when the caller arrives with its 30 s: billing
    # overflows at once to support, which the caller left: hung up instead of a loop
    f = overflowing(tmp_path, OverflowTarget("queue", "billing"), billing_max_wait_s=10.0)
    assert f.core.calls[CALL].stage is Stage.AFTER_CALL
    assert pending(f) == "HANGUP"
    outcomes = [(w.queue, w.outcome) for w in f.writes(RecordOutcome)]
    assert outcomes == [("billing", "timeout")]
    support, billing = f.acd.queue_stats("support", f.mono), f.acd.queue_stats("billing", f.mono)
    assert (support.offered, billing.offered, billing.timed_out) == (0, 1, 1)


def test_to_voicemail(tmp_path: Path) -> None:
    f = overflowing(tmp_path, OverflowTarget("voicemail", "message"))
    call = f.core.calls[CALL]
    assert call.stage is Stage.IVR
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi", "the IVR starts in its language"
    reply(f, "200 result=1")
    assert pending(f).startswith("STREAM FILE hotline/vi/leave-message")
    reply(f, "200 result=0 endpos=8000")
    assert pending(f).startswith("RECORD FILE ")
    assert overflow_event(f)["to"] == "voicemail"


def test_to_a_callback_request(tmp_path: Path) -> None:
    f = overflowing(tmp_path, OverflowTarget("callback", "call_me"))
    [req] = f.writes(RecordCallbackRequest)
    assert (req.number, req.queue) == ("0912000001", "support")
    assert overflow_event(f)["to"] == "callback"
    # the flow hangs up after the node: the request is a virtual caller in support (rule
    # 13); the call keeps its one outcome, the timeout; the request row tells its end
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1")
    assert pending(f) == "HANGUP"
    reply(f, "200 result=1")
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    call = f.core.calls[CALL]
    assert call.stage is Stage.CALLBACK and f.acd.call(CALL, f.mono) is not None
    f.tick(31)  # support's max wait, nobody in it
    assert [(w.queue, w.outcome) for w in f.writes(RecordOutcome)] == [("support", "timeout")]
    assert CALL not in f.core.calls
    assert [(p.node, p.status) for p in f.writes(RecordCallbackProgress)] == [
        ("call_me", "failed")]  # fmt: skip
    assert [e.text for e in f.sent(fx.Log) if e.level == "error"] == []


def test_to_an_ivr_node(tmp_path: Path) -> None:
    f = overflowing(tmp_path, OverflowTarget("ivr", "goodbye"))
    assert f.core.calls[CALL].stage is Stage.IVR
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1")
    assert pending(f).startswith("STREAM FILE hotline/vi/bye")
    assert overflow_event(f)["to"] == "ivr"


def test_to_a_hang_up_with_a_message_and_without(tmp_path: Path) -> None:
    f = overflowing(tmp_path, OverflowTarget("hangup", "hotline/vi/sorry"))
    assert f.core.calls[CALL].stage is Stage.AFTER_CALL
    assert pending(f) == 'STREAM FILE hotline/vi/sorry ""'
    reply(f, "200 result=0 endpos=100")
    assert pending(f) == "HANGUP"
    g = overflowing(tmp_path, OverflowTarget())
    assert pending(g) == "HANGUP"


KINDS = [OverflowTarget("queue", "billing"), OverflowTarget("voicemail", "message"),
         OverflowTarget("callback", "call_me"), OverflowTarget("ivr", "goodbye"),
         OverflowTarget("hangup", "hotline/vi/sorry")]  # fmt: skip
#: per kind: (the stage the caller is in just after, the AGI command it is sent next)
AFTER = {"queue": (Stage.HOLDING, "WAIT FOR DIGIT"), "voicemail": (Stage.IVR, "SET VARIABLE"),
         "callback": (Stage.IVR, "SET VARIABLE"), "ivr": (Stage.IVR, "SET VARIABLE"),
         "hangup": (Stage.AFTER_CALL, "STREAM FILE hotline/vi/sorry")}  # fmt: skip


def by_condition(tmp_path: Path, reason: str, target: OverflowTarget) -> Flow:
    """A caller of support overflowing by ``reason``: its queue at max_length, no agent to
    join, or the last agent gone while it waits."""
    path = tmp_path / "ivr.yaml"
    path.write_text(IVR_TEXT)
    support = {
        "max_length": acd.QueueConfig("support", max_length=1),
        "join_empty": acd.QueueConfig("support", join_empty=False),
        "leave_empty": acd.QueueConfig("support", leave_when_empty=True),
    }[reason]
    f = Flow()
    f.acd = acd.Acd(acd.AcdConfig(queues=(support, acd.QueueConfig("billing")), agents=(
        acd.AgentConfig("5", "Agent 5", "PJSIP/2005", ("support",)),
        acd.AgentConfig("7", "Agent 7", "PJSIP/2007", ("billing",)),
    )))  # fmt: skip
    f.core = CallFlow(ivr=load_ivr(path, queues={"support", "billing"}), acd_core=f.acd,
                      entry_contexts={"hotline", "hotline-safe"},
                      after_call_context="after-call", run_id="r1", overflow={"support": target})  # fmt: skip
    if reason == "max_length":  # someone else waits already
        other = "pbx1:1796.9"
        arrive(f, uid="1796.9", ch="PJSIP/trunk-00000009", number="0912000009")
        to_queue(f, other)
    if reason == "leave_empty":  # the caller rings agent 5, who pauses: nobody is left
        f.login("5")
        arrive(f)
        to_queue(f)
        assert f.core.calls[CALL].stage is Stage.OFFERED
        f.feed(AgentCommand(acd.AgentPause("5", "lunch")))
        return f
    arrive(f)
    to_queue(f)
    return f


@pytest.mark.parametrize("reason", ["max_length", "join_empty", "leave_empty"])
@pytest.mark.parametrize("target", KINDS, ids=[k.kind for k in KINDS])
def test_each_condition_routes_to_each_target_kind(
    tmp_path: Path, reason: str, target: OverflowTarget
) -> None:
    f = by_condition(tmp_path, reason, target)
    assert overflow_event(f) == {"queue": "support", "reason": reason, "to": target.kind,
                                 "target": target.target}  # fmt: skip
    call = f.core.calls[CALL]
    stage, command = AFTER[target.kind]
    assert call.stage is stage
    if call.pending is not None and call.pending.command.startswith("SET MUSIC ON"):
        reply(f, "200 result=0")  # the hold music of the first queue, still in flight
    if (
        call.pending is not None
        and call.pending.command.startswith("WAIT FOR DIGIT")
        and target.kind != "queue"
    ):
        reply(f, "200 result=0")  # fmt: skip
    assert pending(f).startswith(command), (pending(f), call.outbox)
    if target.kind == "queue":
        view = f.acd.call(CALL, f.mono)
        assert view is not None and view.queue == "billing"
