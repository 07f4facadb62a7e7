"""A supervisor moves a waiting caller (flow core rule 13), by hand: the pure core over a
real ACD of two queues. The move is written (calls.queue, a ``moved`` event with who),
the caller rings the other queue's agent with its whole wait, one outcome; refusals raise
the ACD's error and change nothing."""

from __future__ import annotations

import pytest

import acd
from callcenter.flow import CallFlow
from callcenter.flow import effects as fx
from callcenter.flow.inputs import MoveWaiting
from callcenter.storage.writes import RecordCallEvent, RecordCallUpdate, RecordOutcome

from .flow_support import CALL, IVR, Flow
from .test_flow_core import arrive, pending, reply, to_queue


def holding() -> Flow:
    """A caller on hold in support (nobody there); agent 7 serves billing."""
    f = Flow()
    f.acd = acd.Acd(acd.AcdConfig(queues=(
        acd.QueueConfig("support", hold_slice_s=20.0),
        acd.QueueConfig("billing", hold_slice_s=20.0, wrap_up_s=0.0),
    ), agents=(acd.AgentConfig("7", "Agent 7", "PJSIP/2007", ("billing",)),)))  # fmt: skip
    f.core = CallFlow(ivr=IVR, acd_core=f.acd, entry_contexts={"hotline", "hotline-safe"},
                      after_call_context="after-call", run_id="r1")  # fmt: skip
    arrive(f)
    to_queue(f)
    reply(f, "200 result=0")  # SET MUSIC ON
    assert pending(f) == "WAIT FOR DIGIT 20000"
    return f


def test_moved_to_another_queue_it_is_written_and_rings_there() -> None:
    f = holding()
    f.login("7")
    f.tick(12)
    out = f.feed(MoveWaiting(acd.MoveCall(CALL, queue="billing"), "supervisor:3"))
    assert f.core.calls[CALL].queue == "billing"
    assert [w.queue for w in f.writes(RecordCallUpdate) if w.queue] == ["support", "billing"]
    [moved] = [w.data for w in f.writes(RecordCallEvent) if w.kind == "moved"]
    assert moved == {"from": "support", "queue": "billing", "priority": 0, "position": 1,
                     "by": "supervisor:3"}  # fmt: skip
    [orig] = [e for e in out if isinstance(e, fx.Originate)]
    assert orig.agent_id == "7"
    view = f.acd.call(CALL, f.mono)
    assert view is not None and (view.queue, view.wait_s) == ("billing", 12.0)
    assert f.writes(RecordOutcome) == []


def test_a_refused_move_raises_the_acds_error_and_changes_nothing() -> None:
    f = holding()
    before = len(f.effects)
    with pytest.raises(acd.UnknownQueue):
        f.feed(MoveWaiting(acd.MoveCall(CALL, queue="sales"), "supervisor:3"))
    with pytest.raises(acd.UnknownCall):
        f.feed(MoveWaiting(acd.MoveCall("pbx1:9.9", position=1), "supervisor:3"))
    assert len(f.effects) == before and f.core.calls[CALL].queue == "support"
    assert [w for w in f.writes(RecordCallEvent) if w.kind == "moved"] == []


def test_a_place_in_line_is_written_with_no_queue_change() -> None:
    f = holding()
    f.tick(5)
    f.feed(MoveWaiting(acd.MoveCall(CALL, priority=4, position=1), "admin:1"))
    assert [w.queue for w in f.writes(RecordCallUpdate) if w.queue] == ["support"]
    [moved] = [w.data for w in f.writes(RecordCallEvent) if w.kind == "moved"]
    assert moved == {"from": "support", "queue": "support", "priority": 4, "position": 1,
                     "by": "admin:1"}  # fmt: skip
    assert f.acd.call(CALL, f.mono).priority == 4  # type: ignore[union-attr]


def test_a_move_of_a_call_the_flow_no_longer_holds_is_the_acds_alone() -> None:
    # the ACD's CallMoved about a call the flow forgot (none in practice): nothing written
    f = holding()
    f.acd.handle(acd.CallQueued("other", "support", "1"), f.mono)
    f.feed(MoveWaiting(acd.MoveCall("other", position=1), "supervisor:3"))
    assert [w for w in f.writes(RecordCallEvent) if w.kind == "moved"] == []
    assert f.acd.call("other", f.mono).position == 1  # type: ignore[union-attr]
