"""A supervisor moves a waiting call (acd.core rule 11): to the front of its line or to a
position, to a new priority, to another queue keeping its wait; refusals change nothing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentPause,
    AgentReady,
    CallConnected,
    CallEnded,
    CallMoved,
    CallNotWaiting,
    CallOutcome,
    CallQueued,
    InvalidValue,
    MoveCall,
    OfferAnswered,
    OfferCall,
    Outcome,
    OverflowCall,
    PastMaxWait,
    QueueConfig,
    UnknownCall,
    UnknownQueue,
)

from .test_acd import offered_to, only


def two_queues(**sales: float | None) -> Acd:
    """support (agent a1) and sales (agent s1), nobody logged in."""
    return Acd(
        AcdConfig(
            queues=(
                QueueConfig("support", wrap_up_s=0.0, offer_timeout_s=15.0, hold_slice_s=20.0),
                QueueConfig("sales", wrap_up_s=0.0, offer_timeout_s=15.0, hold_slice_s=20.0,
                            **sales),  # type: ignore[arg-type]
            ),
            agents=(
                AgentConfig("a1", "A1", "PJSIP/a1", ("support",)),
                AgentConfig("s1", "S1", "PJSIP/s1", ("sales",)),
            ),
            offer_grace_s=5.0,
        )
    )


def line(acd: Acd, queue: str, now: float) -> list[str]:
    """The queue's unanswered calls in line order (the board's positions)."""
    calls = [c for c in acd.snapshot(now, [queue]).calls if c.position is not None]
    return [c.call_id for c in sorted(calls, key=lambda c: c.position or 0)]


def waiting(acd: Acd, *call_ids: str, queue: str = "support", start: float = 1.0,
            priority: int = 0) -> None:  # fmt: skip
    for n, call_id in enumerate(call_ids):
        acd.handle(CallQueued(call_id, queue, "+3225550100", priority=priority), start + n)


def serve_next(acd: Acd, agent: str, now: float) -> str:
    """``agent`` (paused) is made READY, takes its next call and pauses; returns it."""
    cmds = acd.handle(AgentReady(agent), now)
    [(call_id, _)] = offered_to(cmds)
    acd.handle(OfferAnswered(call_id, agent), now)
    acd.handle(CallEnded(call_id), now + 1)  # wrap_up_s 0: READY again at once
    acd.handle(AgentPause(agent, "hold"), now + 1)
    return call_id


def test_the_later_caller_moved_to_the_front_is_served_first_and_keeps_its_wait() -> None:
    acd = two_queues()
    waiting(acd, "c1", "c2", "c3")
    wait_before = acd.call("c3", 10.0).wait_s  # type: ignore[union-attr]
    cmds = acd.handle(MoveCall("c3", position=1), 10.0)
    assert cmds == [CallMoved("c3", "support", "support", 0, 1, 7.0)]
    assert line(acd, "support", 10.0) == ["c3", "c1", "c2"]
    assert acd.call("c3", 10.0).wait_s == wait_before == 7.0  # type: ignore[union-attr]
    [(first, agent)] = offered_to(acd.handle(AgentLogin("a1"), 11.0))
    assert (first, agent) == ("c3", "a1")
    [connected] = only(acd.handle(OfferAnswered("c3", "a1"), 12.0), CallConnected)
    assert connected.wait_s == 9.0  # from its first entry at 3.0, not from the move
    cmds = acd.handle(CallEnded("c3"), 20.0)
    assert offered_to(cmds) == [("c1", "a1")]


def test_a_position_in_the_middle_of_a_fifo_line() -> None:
    acd = two_queues()
    waiting(acd, "c1", "c2", "c3", "c4")
    acd.handle(MoveCall("c4", position=2), 10.0)
    assert line(acd, "support", 10.0) == ["c1", "c4", "c2", "c3"]
    acd.handle(MoveCall("c3", position=2), 11.0)  # between c1 and c4 (placed): a nudge between
    assert line(acd, "support", 11.0) == ["c1", "c3", "c4", "c2"]
    acd.handle(MoveCall("c1", position=9), 12.0)  # past the end: the back
    assert line(acd, "support", 12.0) == ["c3", "c4", "c2", "c1"]
    acd.handle(AgentLogin("a1"), 13.0)
    acd.handle(AgentPause("a1", "hold"), 13.0)  # its offer of c3 goes back, in its place
    order = [serve_next(acd, "a1", 20.0 + 10 * n) for n in range(4)]
    assert order == ["c3", "c4", "c2", "c1"]


def test_a_placed_call_keeps_its_place_as_callers_age_and_arrive() -> None:
    acd = Acd(AcdConfig(queues=(QueueConfig("support", aging_per_s=1 / 60, wrap_up_s=0.0),),
                        agents=(AgentConfig("a1", "A1", "PJSIP/a1", ("support",)),)))  # fmt: skip
    waiting(acd, "vip", priority=2)
    waiting(acd, "c1", "c2", start=30.0)
    acd.handle(MoveCall("c2", position=1), 40.0)
    waiting(acd, "c3", start=50.0, priority=1)
    # c3 (priority 1, 20 s later than c1) is ahead of c1: 1 > 20 s x 1/60
    assert line(acd, "support", 50.0) == ["c2", "vip", "c3", "c1"]
    # c2 ranks as vip did: ahead of it now and an hour later
    assert line(acd, "support", 3600.0)[:2] == ["c2", "vip"]


def test_a_new_priority_reorders_and_drops_a_placement() -> None:
    acd = two_queues()
    waiting(acd, "c1", "c2", "c3")
    cmds = acd.handle(MoveCall("c3", priority=5), 10.0)
    assert cmds == [CallMoved("c3", "support", "support", 5, 1, 7.0)]
    assert line(acd, "support", 10.0) == ["c3", "c1", "c2"]
    assert acd.call("c3", 10.0).priority == 5  # type: ignore[union-attr]
    acd.handle(MoveCall("c1", position=3), 11.0)
    assert line(acd, "support", 11.0) == ["c3", "c2", "c1"]
    acd.handle(MoveCall("c1", priority=0), 12.0)  # its own place again: first in by entry
    assert line(acd, "support", 12.0) == ["c3", "c1", "c2"]
    acd.handle(MoveCall("c2", priority=9, position=3), 13.0)  # both: the position wins
    assert line(acd, "support", 13.0) == ["c3", "c1", "c2"]


def test_moved_to_a_queue_with_a_ready_agent_it_rings_there_with_its_whole_wait() -> None:
    acd = two_queues()
    acd.handle(AgentLogin("s1"), 0.0)
    waiting(acd, "c1", "c2")  # support: nobody logged in
    cmds = acd.handle(MoveCall("c2", queue="sales"), 10.0)
    assert cmds[0] == CallMoved("c2", "support", "sales", 0, 1, 8.0)
    [offer] = only(cmds, OfferCall)
    assert (offer.call_id, offer.agent_id, offer.queue) == ("c2", "s1", "sales")
    assert line(acd, "support", 10.0) == ["c1"]
    [connected] = only(acd.handle(OfferAnswered("c2", "s1"), 11.0), CallConnected)
    assert connected.wait_s == 9.0
    [outcome] = only(acd.handle(CallEnded("c2"), 50.0), CallOutcome)
    assert (outcome.queue, outcome.outcome, outcome.wait_s) == ("sales", Outcome.ANSWERED, 9.0)
    # counted once as offered: in sales, where it was answered; support gave it back
    support, sales = acd.queue_stats("support", 50.0), acd.queue_stats("sales", 50.0)
    assert (support.offered, support.waiting, support.answered) == (1, 1, 0)
    assert (sales.offered, sales.answered, sales.service_level) == (1, 1, 1.0)


def test_moved_calls_keep_their_entry_in_the_new_line_and_its_max_wait() -> None:
    acd = two_queues(max_wait_s=100.0)
    waiting(acd, "c1")  # entered at 1.0: before s-late
    waiting(acd, "s-late", queue="sales", start=20.0)
    acd.handle(MoveCall("c1", queue="sales"), 30.0)
    assert line(acd, "sales", 30.0) == ["c1", "s-late"]
    assert acd.next_timer() == 101.0  # sales' max_wait_s from its first entry
    cmds = acd.on_timer(101.0)
    assert [(o.call_id, o.queue, o.wait_s) for o in only(cmds, OverflowCall)] == [
        ("c1", "sales", 100.0)]  # fmt: skip


def test_a_move_past_the_new_queues_max_wait_is_refused_and_changes_nothing() -> None:
    acd = two_queues(max_wait_s=60.0)
    waiting(acd, "c1")
    with pytest.raises(PastMaxWait) as info:
        acd.handle(MoveCall("c1", queue="sales", position=1), 61.0)
    assert info.value.code == "past_max_wait" and "max_wait_s 60" in str(info.value)
    assert line(acd, "support", 61.0) == ["c1"] and line(acd, "sales", 61.0) == []
    assert acd.queue_stats("support", 61.0).offered == 1


def test_refusals_are_typed_and_change_nothing() -> None:
    acd = two_queues()
    acd.handle(AgentLogin("a1"), 0.0)
    waiting(acd, "c1", "c2")  # c1 rings a1 at once, c2 waits
    with pytest.raises(CallNotWaiting) as ringing:
        acd.handle(MoveCall("c1", queue="sales"), 5.0)
    assert ringing.value.code == "call_not_waiting" and "is ringing a1" in str(ringing.value)
    acd.handle(OfferAnswered("c1", "a1"), 6.0)
    with pytest.raises(CallNotWaiting, match="is talking to a1"):
        acd.handle(MoveCall("c1", position=1), 7.0)
    with pytest.raises(UnknownCall) as unknown:
        acd.handle(MoveCall("nope", position=1), 7.0)
    assert unknown.value.code == "unknown_call"
    with pytest.raises(UnknownQueue):
        acd.handle(MoveCall("c2", queue="billing"), 7.0)
    assert line(acd, "support", 7.0) == ["c2"] and line(acd, "sales", 7.0) == []
    assert acd.call("c1", 7.0).agent_id == "a1"  # type: ignore[union-attr]
    assert acd.queue_stats("support", 7.0).offered == 2


@pytest.mark.parametrize(("make", "field"), [
    (lambda: MoveCall("c1"), "give a queue, a priority or a position"),
    (lambda: MoveCall("c1", position=0), "MoveCall.position"),
    (lambda: MoveCall("c1", priority=True), "MoveCall.priority"),  # type: ignore[arg-type]
    (lambda: MoveCall("c1", queue=""), "MoveCall.queue"),
    (lambda: MoveCall("", position=1), "MoveCall.call_id"),
])  # fmt: skip
def test_bad_moves_name_their_field(make, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValue, match=field):
        make()


def test_a_call_that_brought_its_own_skills_keeps_them_in_the_new_queue() -> None:
    acd = Acd(AcdConfig(
        queues=(QueueConfig("support"), QueueConfig("sales", skills={"fr": 2})),
        agents=(AgentConfig("s1", "S1", "PJSIP/s1", ("sales",), skills={"fr": 2}),
                AgentConfig("s2", "S2", "PJSIP/s2", ("sales",), skills={"fr": 2, "vip": 3})),
    ))  # fmt: skip
    acd.handle(AgentLogin("s1"), 0.0)
    acd.handle(CallQueued("v", "support", "1", skills={"vip": 3}), 1.0)
    acd.handle(CallQueued("p", "support", "2"), 2.0)
    assert only(acd.handle(MoveCall("v", queue="sales"), 3.0), OfferCall) == []  # s1 lacks vip
    assert offered_to(acd.handle(MoveCall("p", queue="sales"), 4.0)) == [("p", "s1")]
    assert offered_to(acd.handle(AgentLogin("s2"), 5.0)) == [("v", "s2")]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_placed_call_lands_at_the_position_asked(data: st.DataObject) -> None:
    """Whatever the priorities, entries and earlier placements, the call moved to
    ``position`` is there right after (the back when past it), the others keep their
    order."""
    aging = data.draw(st.sampled_from([0.0, 1 / 64, 1 / 60, 0.5]))
    acd = Acd(AcdConfig(queues=(QueueConfig("support", aging_per_s=aging),),
                        agents=(AgentConfig("a1", "A1", "PJSIP/a1", ("support",)),)))  # fmt: skip
    n = data.draw(st.integers(1, 8))
    for i in range(n):
        acd.handle(CallQueued(f"c{i}", "support", "1", priority=data.draw(st.integers(0, 3)),
                              entered_at=float(data.draw(st.integers(0, 5)))), 10.0)  # fmt: skip
    now = 10.0
    for _ in range(data.draw(st.integers(1, 6))):
        before = line(acd, "support", now)
        call_id = data.draw(st.sampled_from(before))
        position = data.draw(st.integers(1, n + 1))
        priority = data.draw(st.one_of(st.none(), st.integers(0, 3)))
        now += 1.0
        [moved] = acd.handle(MoveCall(call_id, priority=priority, position=position), now)
        after = line(acd, "support", now)
        rest = [c for c in before if c != call_id]
        assert after.index(call_id) + 1 == min(position, n)
        assert [c for c in after if c != call_id] == rest
