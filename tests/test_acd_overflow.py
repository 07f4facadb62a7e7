"""The ACD's overflow conditions besides max_wait_s (acd.core rule 10): max_length and
join_empty at arrival, leave_when_empty when the last agent able to take calls leaves."""

from __future__ import annotations

from dataclasses import replace

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    AgentState,
    CallEnded,
    CallOutcome,
    CallQueued,
    HoldCaller,
    InvalidValue,
    OfferAnswered,
    OfferCall,
    Outcome,
    OverflowCall,
    QueueConfig,
    TimeoutDropped,
    UnknownQueue,
)

from .test_acd import make_acd, only


def queued(acd, call_id: str, now: float):  # type: ignore[no-untyped-def]
    return acd.handle(CallQueued(call_id, "support", "+3225550100"), now)


def overflowed(cmds: list) -> list[tuple[str, str, float]]:  # type: ignore[type-arg]
    return [(c.call_id, c.reason, c.wait_s) for c in only(cmds, OverflowCall)]


def test_a_caller_beyond_max_length_overflows_at_once() -> None:
    acd = make_acd(max_length=2)  # nobody logged in: callers wait
    assert only(queued(acd, "c1", 1.0), HoldCaller) and only(queued(acd, "c2", 2.0), HoldCaller)
    cmds = queued(acd, "c3", 3.0)
    assert overflowed(cmds) == [("c3", "max_length", 0.0)]
    assert [(o.call_id, o.outcome) for o in only(cmds, CallOutcome)] == [("c3", Outcome.TIMEOUT)]
    assert not only(cmds, HoldCaller) and acd.call("c3", 3.0) is None
    assert acd.queue_stats("support", 3.0).waiting == 2


def test_join_empty_false_refuses_a_caller_while_no_agent_can_take_calls() -> None:
    acd = make_acd(("a1",), join_empty=False)
    assert overflowed(queued(acd, "c1", 1.0)) == [("c1", "join_empty", 0.0)]
    acd.handle(AgentLogin("a1"), 2.0)
    acd.handle(AgentPause("a1", "lunch"), 3.0)
    assert overflowed(queued(acd, "c2", 4.0)) == [("c2", "join_empty", 0.0)]
    # a busy agent (talking or wrapping up) is not empty: the caller waits for them
    acd = make_acd(("a1",), join_empty=False)
    acd.handle(AgentLogin("a1"), 0.0)
    [offer] = only(queued(acd, "c0", 1.0), OfferCall)
    acd.handle(OfferAnswered("c0", offer.agent_id), 1.0)
    cmds = queued(acd, "c1", 2.0)
    assert overflowed(cmds) == [] and only(cmds, HoldCaller)


def test_leave_when_empty_sends_every_waiting_caller_on_when_the_last_agent_leaves() -> None:
    acd = make_acd(("a1", "a2"), leave_when_empty=True, wrap_up_s=10.0)
    acd.handle(AgentLogin("a1"), 0.0)
    acd.handle(AgentLogin("a2"), 0.0)
    for n in (0, 1):
        [offer] = only(queued(acd, f"t{n}", 1.0), OfferCall)
        acd.handle(OfferAnswered(f"t{n}", offer.agent_id), 1.0)
    queued(acd, "w1", 2.0)
    queued(acd, "w2", 3.0)
    acd.handle(CallEnded("t0"), 20.0)  # its agent wraps up
    acd.handle(CallEnded("t1"), 20.0)
    agents = [a.agent_id for a in acd.snapshot(21.0).agents]
    assert overflowed(acd.handle(AgentPause(agents[0], "lunch"), 21.0)) == []
    cmds = acd.handle(AgentLogout(agents[1]), 25.0)
    assert sorted(overflowed(cmds)) == [("w1", "leave_empty", 23.0), ("w2", "leave_empty", 22.0)]
    assert acd.queue_stats("support", 25.0).waiting == 0


@pytest.mark.parametrize(("field", "value"), [("max_length", 0), ("join_empty", "no"),
                                              ("leave_when_empty", 1)])  # fmt: skip
def test_bad_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidValue, match=f"QueueConfig.{field}"):
        QueueConfig("q", **{field: value})  # type: ignore[arg-type]


def test_an_agent_logged_in_paused_is_never_offered_a_call_and_empties_no_queue() -> None:
    # a restarted shell restores a paused agent: a waiting caller does not ring it, and
    # its queue (leave_when_empty) was empty already, so nobody overflows
    acd = make_acd(("a1",), leave_when_empty=True)
    assert only(queued(acd, "c1", 1.0), HoldCaller)
    cmds = acd.handle(AgentLogin("a1", paused="lunch"), 2.0)
    assert only(cmds, OfferCall) == [] and overflowed(cmds) == []
    [view] = acd.snapshot(2.0).agents
    assert (view.state, view.reason) == (AgentState.PAUSED, "lunch")
    assert acd.queue_stats("support", 2.0).waiting == 1
    [offer] = only(acd.handle(AgentReady("a1"), 3.0), OfferCall)
    assert offer.call_id == "c1"
    # the reason is a pause reason like any: a pause code list applies
    coded = Acd(replace(make_acd(("a1",)).config, pause_codes=("lunch",)))
    with pytest.raises(InvalidValue, match="pause_codes"):
        coded.handle(AgentLogin("a1", paused="nap"), 0.0)


def two_queues() -> Acd:
    """support (max wait 30 s, nobody to serve it) overflowing into sales (agent s1)."""
    return Acd(AcdConfig(queues=(
        QueueConfig("support", hold_slice_s=20.0, max_wait_s=30.0, sl_threshold_s=20.0),
        QueueConfig("sales", hold_slice_s=20.0, wrap_up_s=0.0, sl_threshold_s=60.0),
    ), agents=(AgentConfig("s1", "S1", "PJSIP/s1", ("sales",)),)))  # fmt: skip


def test_a_call_sent_on_to_another_queue_counts_once_in_the_queue_it_ends_in() -> None:
    # docs/kpis.md: SQL keeps one outcome, the last queue's; the ACD's tallies agree
    acd = two_queues()
    queued(acd, "c1", 0.0)
    assert overflowed(acd.on_timer(30.0)) == [("c1", "max_wait", 30.0)]
    assert acd.queue_stats("support", 30.0).timed_out == 1  # until the shell sends it on
    acd.handle(TimeoutDropped("c1", "support"), 30.0)  # the shell sends it on
    acd.handle(CallQueued("c1", "sales", "+3225550100", entered_at=0.0), 30.0)
    support, sales = acd.queue_stats("support", 30.0), acd.queue_stats("sales", 30.0)
    assert (support.offered, support.timed_out, support.service_level) == (0, 0, None)
    assert (sales.offered, sales.waiting) == (1, 1)
    [offer] = only(acd.handle(AgentLogin("s1"), 40.0), OfferCall)
    acd.handle(OfferAnswered("c1", offer.agent_id), 41.0)
    acd.handle(CallEnded("c1"), 100.0)
    sales = acd.queue_stats("sales", 100.0)
    assert (sales.offered, sales.answered, sales.asa_s, sales.service_level) == (1, 1, 41.0, 1.0)
    assert acd.queue_stats("support", 100.0).offered == 0


def test_a_dropped_timeout_of_a_bad_queue_or_a_live_call_changes_nothing() -> None:
    acd = two_queues()
    with pytest.raises(UnknownQueue):
        acd.handle(TimeoutDropped("c1", "billing"), 1.0)
    with pytest.raises(InvalidValue, match="TimeoutDropped.queue"):
        TimeoutDropped("c1", "")
    queued(acd, "c1", 1.0)
    with pytest.raises(InvalidValue, match="call c1 is still in support"):
        acd.handle(TimeoutDropped("c1", "support"), 2.0)
    # no timeout to give back (c1 still waits there): the count stays
    assert acd.handle(TimeoutDropped("c0", "support"), 2.0) == []
    support = acd.queue_stats("support", 2.0)
    assert (support.offered, support.timed_out, support.waiting) == (1, 0, 1)
