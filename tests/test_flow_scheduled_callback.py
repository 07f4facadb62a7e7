"""A callback scheduled from the desk (flow core rule 18), by hand: the pure core, a
hand-moved clock, the real ACD. Nothing before its due time; at it, a call of its own in
the source call's queue, dialled agent first, then the customer; a restart reads it back."""

from __future__ import annotations

import datetime as dt

import pytest

import acd
from callcenter.ami.agi import AgiEnv
from callcenter.facts import RecordCallbackProgress, RecordCallStarted
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.callback import CallbackPolicy, scheduled_call_id
from callcenter.flow.inputs import (
    CallRowLoaded,
    OfferEnded,
    OfferResult,
    OpenCallsLoaded,
    PbxEvent,
    ScheduleCallback,
)
from callcenter.flow.place import Place
from callcenter.storage.writes import RecordCallbackRequest, RecordCallEvent
from callcenter.tracker import AgiStarted, Bridged

from .flow_support import CALL, NODE, Flow

NUMBER = "0912000055"
CB = scheduled_call_id(CALL)
POLICY = CallbackPolicy(max_attempts=2, retry_s=60)


def flow() -> Flow:
    f = Flow(("7", "8"), hold_slice_s=20.0)
    f.core.callbacks = {"support": POLICY}
    return f


def scheduled(f: Flow, in_s: float, **fields: object) -> ScheduleCallback:
    request = ScheduleCallback(CALL, NODE, NUMBER, "support",
                               f.wall + dt.timedelta(seconds=in_s), "7",
                               note="asked for the invoice", **fields)  # type: ignore[arg-type]  # fmt: skip
    f.feed(request)
    return request


def events(f: Flow, kind: str) -> list[dict]:
    return [w.data for w in f.writes(RecordCallEvent) if w.kind == kind]


def agent_in(f: Flow) -> fx.Originate:
    """The agent's phone rang into the callback context and answered; the whisper and the
    number are heard: the customer's Originate."""
    orig = f.sent(fx.Originate)[-1]
    assert orig.call_id == CB and orig.pick_context == "hotline-callback"
    leg_ch = f"Local/1007@agent-phones-0000000{len(f.sent(fx.Originate))};1"
    env = AgiEnv(channel=leg_ch, uniqueid=orig.leg, context="hotline-callback")
    f.feed(PbxEvent(NODE, AgiStarted(orig.leg, leg_ch, orig.leg, env, True)))
    f.feed(OfferEnded(CB, orig.leg, OfferResult.ANSWERED))
    call = f.core.calls[CB]
    for _ in range(2):  # the whisper, then the number said
        assert call.pending is not None
        from callcenter.flow.inputs import AgiReplied

        f.feed(AgiReplied(CB, call.pending.command_id, "200 result=0"))
    customer = f.sent(fx.Originate)[-1]
    assert customer.device == f"Local/{NUMBER}@hotline-callback-out"
    return customer


def test_a_scheduled_callback_is_invisible_to_routing_until_its_due_time() -> None:
    f = flow()
    f.login("7", "8")
    scheduled(f, 600)
    [row] = f.writes(RecordCallbackRequest)
    assert (row.call_id, row.node, row.queue, row.number, row.agent_id, row.note) == (
        CALL,
        "desk",
        "support",
        NUMBER,
        7,
        "asked for the invoice",
    )
    assert row.due_at == f.wall + dt.timedelta(seconds=600)
    assert f.core.next_timer() == pytest.approx(f.mono + 600)
    f.tick(599)
    assert f.sent(fx.Originate) == [] and f.acd.call(CB, f.mono) is None
    assert CB not in f.core.calls
    f.tick(1)
    [orig] = f.sent(fx.Originate)
    assert orig.agent_id in ("7", "8") and orig.caller_number == NUMBER
    [started] = f.writes(RecordCallStarted)
    assert started.call_id == CB and started.caller_number == NUMBER
    [queued] = events(f, "callback_queued")
    assert queued["source"] == CALL and queued["node"] == "desk" and queued["agent"] == "7"


def test_the_pop_says_who_scheduled_it_and_the_note() -> None:
    f = flow()
    f.login("8")
    scheduled(f, 60)
    f.tick(60)
    [pop] = [p for p in f.sent(fx.Push) if p.message.get("type") == "screen_pop"]
    assert pop.message["callback"] == {"number": NUMBER, "name_file": None, "attempt": 1,
                                       "scheduled_by": "7",
                                       "note": "asked for the invoice"}  # fmt: skip


def test_reached_it_ends_callback_completed_once_with_its_source_row_completed() -> None:
    f = flow()
    f.login("7")
    scheduled(f, 30)
    f.tick(30)
    customer = agent_in(f)
    f.feed(OfferEnded(CB, customer.leg, OfferResult.ANSWERED))
    call = f.core.calls[CB]
    assert call.stage is Stage.TALKING
    f.feed(PbxEvent(NODE, Bridged(call.uniqueid, call.channel, call.uniqueid, "b1",
                                  call.uniqueid)))  # fmt: skip
    f.tick(20)
    env = AgiEnv(channel=call.channel, uniqueid=call.uniqueid, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(call.uniqueid, call.channel, call.uniqueid, env, True)))
    assert f.outcomes() == {CB: "answered"}, "the callback's call, not the source call"
    assert events(f, "callback_completed") == [{"attempts": 1, "agent": "7"}]
    assert [(p.call_id, p.node, p.status) for p in f.writes(RecordCallbackProgress)] == [
        (CALL, "desk", "pending"), (CALL, "desk", "completed")]  # fmt: skip


def test_nobody_reached_is_retried_then_fails() -> None:
    f = flow()
    f.login("7")
    scheduled(f, 30)
    f.tick(30)
    f.feed(OfferEnded(CB, agent_in(f).leg, OfferResult.NO_ANSWER))
    f.tick(60)
    f.feed(OfferEnded(CB, agent_in(f).leg, OfferResult.BUSY))
    assert f.outcomes() == {CB: "failed"}
    assert [(p.call_id, p.status) for p in f.writes(RecordCallbackProgress)][-1] == (CALL, "failed")


def test_one_per_source_call() -> None:
    f = flow()
    scheduled(f, 30)
    assert f.core.schedule_refused(CALL) == "already_scheduled"
    f.tick(30)
    assert f.core.schedule_refused(CALL) == "already_scheduled", "it runs now"
    assert f.core.schedule_refused(CB) is None, "its own call may schedule another"


def test_a_sticky_queue_prefers_the_agent_who_scheduled_it() -> None:
    f = Flow(("7", "8"), hold_slice_s=20.0, sticky_wait_s=30.0)
    f.core.callbacks = {"support": POLICY}
    f.login("8", "7")
    scheduled(f, 10)
    f.tick(10)
    [orig] = f.sent(fx.Originate)
    assert orig.agent_id == "7"


def test_a_restart_before_the_due_time_waits_on_and_one_after_enters_at_once() -> None:
    f = flow()
    f.login("7")
    later = ScheduleCallback(CALL, NODE, NUMBER, "support", f.wall + dt.timedelta(hours=1),
                             "7", stored=True)  # fmt: skip
    other = f"{NODE}:1796.77"
    missed = ScheduleCallback(other, NODE, "0912000066", "support",
                              f.wall - dt.timedelta(minutes=5), "7", stored=True)  # fmt: skip
    f.feed(OpenCallsLoaded(NODE, (), scheduled=(later, missed)))
    assert f.writes(RecordCallbackRequest) == [], "read back, not written again"
    [orig] = f.sent(fx.Originate)
    assert orig.call_id == scheduled_call_id(other), "due while the controller was away"
    assert [r.call_id for r in f.core.scheduled()] == [CALL]
    assert f.core.next_timer() is not None and f.core.next_timer() <= f.mono + 3600  # type: ignore[operator]
    f.tick(3599)
    assert CB not in f.core.calls
    f.tick(1)
    assert CB in f.core.calls and f.acd.call(CB, f.mono) is not None


def test_a_dead_runs_scheduled_callback_in_line_is_adopted_with_its_origin() -> None:
    f = flow()
    queued = f.wall - dt.timedelta(seconds=40)
    row = CallRowLoaded(CB, started_at=queued, queue="support", queued_at=queued,
                        callback_number=NUMBER, callback_attempts=1, callback_node="desk",
                        callback_by="7", callback_note="n",
                        place=Place("support", 0, queued, "callback"))  # fmt: skip
    f.feed(OpenCallsLoaded(NODE, (row,)))
    f.login("8")
    [pop] = [p for p in f.sent(fx.Push) if p.message.get("type") == "screen_pop"]
    assert pop.message["callback"]["scheduled_by"] == "7"
    assert pop.message["callback"]["attempt"] == 2
    f.feed(OfferEnded(CB, agent_in(f).leg, OfferResult.NO_ANSWER))
    assert [(p.call_id, p.node, p.status, p.attempts)
            for p in f.writes(RecordCallbackProgress)][-1] == (CALL, "desk", "failed", 2)  # fmt: skip
    assert f.agent_state("8") is acd.AgentState.READY
