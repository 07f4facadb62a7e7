"""The ACD core driven by hand: events and a hand-moved ``now``, never a sleep."""

from __future__ import annotations

import ast
import pathlib
from typing import TypeVar

import pytest

from acd import (
    AGENT_TRANSITIONS,
    Acd,
    AcdConfig,
    AgentConfig,
    AgentInput,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    AgentState,
    AgentStateChanged,
    CallConnected,
    CallEnded,
    CallInput,
    CallLeft,
    CallOutcome,
    CallQueued,
    CallResumed,
    CallState,
    CancelOffer,
    Command,
    DuplicateCall,
    HoldCaller,
    HoldSliceDone,
    InvalidTransition,
    LeaveReason,
    OfferAnswered,
    OfferCall,
    OfferFailed,
    OfferFailure,
    Outcome,
    OverflowCall,
    QueueConfig,
    UnknownAgent,
    UnknownQueue,
)

C = TypeVar("C")

S = AgentState


def make_acd(
    agents: tuple[str, ...] = ("a1", "a2", "a3"),
    *,
    rna_pause_after: int = 2,
    **queue: float | None,
) -> Acd:
    settings: dict[str, float | None] = {
        "wrap_up_s": 10.0,
        "offer_timeout_s": 15.0,
        "sl_threshold_s": 20.0,
        "hold_slice_s": 20.0,
    }
    settings.update(queue)
    return Acd(
        AcdConfig(
            queues=(QueueConfig("support", **settings),),  # type: ignore[arg-type]
            agents=tuple(AgentConfig(a, a.upper(), f"PJSIP/{a}", ("support",)) for a in agents),
            rna_pause_after=rna_pause_after,
            offer_grace_s=5.0,
        )
    )


def only(cmds: list[Command], kind: type[C]) -> list[C]:
    return [c for c in cmds if isinstance(c, kind)]


def offered_to(cmds: list[Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in only(cmds, OfferCall)]


def state(acd: Acd, agent_id: str, now: float = 0.0) -> AgentState:
    return acd.agent(agent_id, now).state


def login_all(acd: Acd, agents: tuple[str, ...], start: float = 0.0) -> None:
    for i, agent_id in enumerate(agents):
        acd.handle(AgentLogin(agent_id), start + i)


def connect(acd: Acd, call_id: str, now: float) -> str:
    """Queue ``call_id`` and answer its offer; return the agent."""
    cmds = acd.handle(CallQueued(call_id, "support", "+3225550100"), now)
    [(_, agent_id)] = offered_to(cmds)
    acd.handle(OfferAnswered(call_id, agent_id), now)
    return agent_id


# -- routing -------------------------------------------------------------------


def test_first_call_goes_to_the_agent_ready_longest() -> None:
    acd = make_acd()
    login_all(acd, ("a2", "a3", "a1"))  # ready at 0, 1, 2
    cmds = acd.handle(CallQueued("c1", "support", "100"), 10)
    assert cmds == [
        HoldCaller("c1", 20.0),
        AgentStateChanged("a2", S.READY, S.OFFERED, 10, "offer", "c1"),
        OfferCall("c1", "a2", "PJSIP/a2", 15.0, "support"),
    ]


def test_idle_time_counts_from_end_of_wrap_up() -> None:
    acd = make_acd()
    login_all(acd, ("a1", "a2", "a3"))  # a1 ready at 0, a2 at 1, a3 at 2
    assert connect(acd, "c1", 5) == "a1"
    assert connect(acd, "c2", 5) == "a2"
    acd.handle(CallEnded("c2"), 15)  # a2 ready at 25
    acd.handle(CallEnded("c1"), 20)  # a1 ready at 30
    acd.on_timer(25)
    acd.on_timer(30)
    assert [connect(acd, f"c{n}", 40) for n in (3, 4, 5)] == ["a3", "a2", "a1"]


def test_line_is_priority_first_then_wait() -> None:
    acd = make_acd(("a1",))
    acd.handle(CallQueued("c1", "support", "1"), 0)
    acd.handle(CallQueued("c2", "support", "2"), 1)
    acd.handle(CallQueued("vip", "support", "3", priority=5), 2)
    acd.handle(CallQueued("restored", "support", "4", entered_at=-10), 3)
    positions = {c.call_id: c.position for c in acd.snapshot(3).calls}
    assert positions == {"vip": 1, "restored": 2, "c1": 3, "c2": 4}
    served: list[str] = []
    now = 4.0
    for _ in range(4):
        cmds = acd.handle(AgentLogin("a1"), now) if not served else acd.on_timer(now)
        [(call_id, _)] = offered_to(cmds)
        served.append(call_id)
        acd.handle(OfferAnswered(call_id, "a1"), now)
        acd.handle(CallEnded(call_id), now + 1)
        now += 11  # wrap-up of 10 s elapses
    assert served == ["vip", "restored", "c1", "c2"]


def test_restored_call_keeps_its_original_wait() -> None:
    acd = make_acd()
    acd.handle(CallQueued("c1", "support", "1", entered_at=70.0), 100)
    assert acd.queue_stats("support", 100).longest_wait_s == 30.0
    cmds = acd.handle(AgentLogin("a1"), 105)
    assert offered_to(cmds) == [("c1", "a1")]
    assert acd.handle(OfferAnswered("c1", "a1"), 110)[-1] == CallConnected("c1", "a1", 40.0)


def test_restored_call_past_max_wait_times_out_at_once() -> None:
    acd = make_acd(max_wait_s=60.0)
    cmds = acd.handle(CallQueued("c1", "support", "1", entered_at=0.0), 90)
    assert cmds == [
        CallOutcome("c1", "support", Outcome.TIMEOUT, 90.0, None, 90),
        OverflowCall("c1", "support", 90.0),
    ]


# -- offers and ring-no-answer --------------------------------------------------


def test_no_answer_moves_the_call_to_the_next_agent_and_pauses_after_two() -> None:
    acd = make_acd(("a1", "a2", "a3"))
    login_all(acd, ("a1", "a2", "a3"))
    assert offered_to(acd.handle(CallQueued("c1", "support", "1"), 10)) == [("c1", "a1")]
    cmds = acd.handle(OfferFailed("c1", "a1", OfferFailure.NO_ANSWER), 25)
    assert cmds == [
        AgentStateChanged("a1", S.OFFERED, S.READY, 25, "no-answer", "c1"),
        AgentStateChanged("a2", S.READY, S.OFFERED, 25, "offer", "c1"),
        OfferCall("c1", "a2", "PJSIP/a2", 15.0, "support"),
    ]
    acd.handle(OfferAnswered("c1", "a2"), 30)
    # a1 kept its idle time, so it is still the longest idle: it gets c2
    assert offered_to(acd.handle(CallQueued("c2", "support", "2"), 40)) == [("c2", "a1")]
    cmds = acd.handle(OfferFailed("c2", "a1", OfferFailure.NO_ANSWER), 55)
    assert cmds[0] == AgentStateChanged("a1", S.OFFERED, S.PAUSED, 55, "ring-no-answer", "c2")
    assert offered_to(cmds) == [("c2", "a3")]
    assert acd.agent("a1", 55).rna_count == 2
    acd.handle(AgentReady("a1"), 60)
    assert acd.agent("a1", 60).rna_count == 0


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (OfferFailure.NO_ANSWER, "ring-no-answer"),
        (OfferFailure.BUSY, "device-busy"),
        (OfferFailure.FAILED, "offer-failed"),
    ],
)
def test_repeated_failures_pause_the_agent_with_a_reason_naming_the_failure(
    failure: OfferFailure, reason: str
) -> None:
    # Broke: a busy PJSIP phone (OriginateResponse Reason 0, transcript 16) was
    # counted and shown as ring-no-answer.
    acd = make_acd(("a1", "a2"))
    login_all(acd, ("a1", "a2"))
    acd.handle(CallQueued("c1", "support", "1"), 10)
    cmds = acd.handle(OfferFailed("c1", "a1", failure), 11)
    assert cmds[0] == AgentStateChanged("a1", S.OFFERED, S.READY, 11, failure.value, "c1")
    acd.handle(OfferAnswered("c1", "a2"), 12)
    acd.handle(CallQueued("c2", "support", "2"), 20)
    cmds = acd.handle(OfferFailed("c2", "a1", failure), 21)
    assert cmds[0] == AgentStateChanged("a1", S.OFFERED, S.PAUSED, 21, reason, "c2")


def test_an_unreachable_device_pauses_the_agent_at_the_first_failure() -> None:
    acd = make_acd(("a1", "a2"))
    login_all(acd, ("a1", "a2"))
    acd.handle(CallQueued("c1", "support", "1"), 10)
    cmds = acd.handle(OfferFailed("c1", "a1", OfferFailure.UNREACHABLE), 10.001)
    assert cmds[0] == AgentStateChanged(
        "a1", S.OFFERED, S.PAUSED, 10.001, "device-unreachable", "c1"
    )
    assert offered_to(cmds) == [("c1", "a2")]


def test_an_answer_resets_the_ring_no_answer_count() -> None:
    acd = make_acd(("a1",), wrap_up_s=0.0)
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "support", "1"), 1)
    acd.handle(OfferFailed("c1", "a1", OfferFailure.BUSY), 2)  # only agent: offered again
    acd.handle(OfferAnswered("c1", "a1"), 3)
    acd.handle(CallEnded("c1"), 4)
    acd.handle(CallQueued("c2", "support", "2"), 5)
    acd.handle(OfferFailed("c2", "a1", OfferFailure.NO_ANSWER), 6)
    assert state(acd, "a1") is S.OFFERED  # 1 failure since the answer, not 2


def test_failed_offer_goes_back_to_the_same_agent_if_it_is_the_only_ready_one() -> None:
    acd = make_acd(("a1", "a2"))
    login_all(acd, ("a1", "a2"))
    connect(acd, "c0", 5)  # a1 on call
    assert offered_to(acd.handle(CallQueued("c1", "support", "1"), 6)) == [("c1", "a2")]
    cmds = acd.handle(OfferFailed("c1", "a2", OfferFailure.NO_ANSWER), 8)
    assert offered_to(cmds) == [("c1", "a2")]


def test_call_keeps_its_place_at_the_head_of_the_line_after_a_failure() -> None:
    acd = make_acd(("a1", "a2"))
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "support", "1"), 1)  # -> a1
    acd.handle(CallQueued("c2", "support", "2"), 2)  # waits
    cmds = acd.handle(OfferFailed("c1", "a1", OfferFailure.NO_ANSWER), 3)
    # c1 is still first in line; a1 is the only READY agent, so c1 goes back to it
    assert offered_to(cmds) == [("c1", "a1")]
    assert acd.call("c2", 3).position == 2  # type: ignore[union-attr]


def test_offer_without_report_times_out_and_late_reports_are_ignored() -> None:
    acd = make_acd(("a1", "a2"))
    login_all(acd, ("a1", "a2"))
    acd.handle(CallQueued("c1", "support", "1"), 10)
    assert acd.next_timer() == 10 + 15 + 5
    assert acd.on_timer(29.9) == []
    cmds = acd.on_timer(30)
    assert cmds[:2] == [
        CancelOffer("c1", "a1"),
        AgentStateChanged("a1", S.OFFERED, S.READY, 30, "no-report", "c1"),
    ]
    assert offered_to(cmds) == [("c1", "a2")]
    assert acd.handle(OfferFailed("c1", "a1"), 31) == []
    assert acd.handle(OfferAnswered("c1", "a1"), 31) == []
    assert acd.call("c1", 31).agent_id == "a2"  # type: ignore[union-attr]


def test_pause_while_ringing_cancels_the_offer_and_requeues() -> None:
    acd = make_acd(("a1", "a2"))
    login_all(acd, ("a1", "a2"))
    acd.handle(CallQueued("c1", "support", "1"), 10)
    cmds = acd.handle(AgentPause("a1", "lunch"), 12)
    assert cmds[:2] == [
        AgentStateChanged("a1", S.OFFERED, S.PAUSED, 12, "lunch", "c1"),
        CancelOffer("c1", "a1"),
    ]
    assert offered_to(cmds) == [("c1", "a2")]
    assert acd.agent("a1", 12).rna_count == 0


# -- wrap-up -------------------------------------------------------------------


def test_wrap_up_then_ready_by_timer_takes_the_next_call() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    acd.handle(CallQueued("c2", "support", "2"), 2)
    cmds = acd.handle(CallEnded("c1"), 50)
    assert cmds == [
        AgentStateChanged("a1", S.ON_CALL, S.WRAP_UP, 50, "call-ended", "c1"),
        CallOutcome("c1", "support", Outcome.ANSWERED, 0.0, "a1", 50, talk_s=49.0),
    ]
    assert acd.next_timer() == 60
    assert acd.on_timer(59) == []
    cmds = acd.on_timer(60)
    assert cmds[0] == AgentStateChanged("a1", S.WRAP_UP, S.READY, 60, "wrap-up-elapsed")
    assert offered_to(cmds) == [("c2", "a1")]


def test_ready_during_wrap_up_ends_it_early() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    acd.handle(CallEnded("c1"), 5)
    acd.handle(AgentReady("a1"), 7)
    assert state(acd, "a1") is S.READY
    assert acd.agent("a1", 9).idle_s == 2.0
    assert acd.next_timer() is None


@pytest.mark.parametrize("event", [AgentPause("a1", "break"), AgentLogout("a1")])
def test_pause_or_logout_during_wrap_up_drops_its_timer(event: AgentPause | AgentLogout) -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    acd.handle(CallEnded("c1"), 5)
    acd.handle(event, 6)
    assert acd.next_timer() is None
    assert acd.on_timer(100) == []
    assert state(acd, "a1") is not S.READY


def test_zero_wrap_up_goes_straight_to_ready() -> None:
    acd = make_acd(("a1",), wrap_up_s=0.0)
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    cmds = only(acd.handle(CallEnded("c1"), 5), AgentStateChanged)
    assert [(c.old, c.new) for c in cmds] == [(S.ON_CALL, S.WRAP_UP), (S.WRAP_UP, S.READY)]


# -- callers leaving, outcomes ---------------------------------------------------


def test_abandon_while_waiting() -> None:
    acd = make_acd(("a1",))
    acd.handle(CallQueued("c1", "support", "1"), 0)
    cmds = acd.handle(CallLeft("c1", LeaveReason.HANGUP), 30)
    assert cmds == [CallOutcome("c1", "support", Outcome.ABANDONED, 30.0, None, 30)]
    assert acd.call("c1", 30) is None


@pytest.mark.parametrize("offered", [False, True])
def test_a_call_the_pbx_lost_is_lost_not_abandoned(offered: bool) -> None:
    # Broke: calls killed by a PBX crash were recorded "abandoned".
    acd = make_acd(("a1",))
    if offered:
        acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "support", "1"), 10)
    [outcome] = only(acd.handle(CallLeft("c1", LeaveReason.LOST), 14), CallOutcome)
    assert outcome.outcome is Outcome.LOST


def test_a_talking_call_the_pbx_lost_is_still_answered() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 10)
    [outcome] = only(acd.handle(CallLeft("c1", LeaveReason.LOST), 40), CallOutcome)
    assert outcome.outcome is Outcome.ANSWERED


def test_abandon_while_offered_cancels_the_offer() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "support", "1"), 10)
    cmds = acd.handle(CallLeft("c1", LeaveReason.HANGUP), 14)
    assert cmds == [
        CancelOffer("c1", "a1"),
        AgentStateChanged("a1", S.OFFERED, S.READY, 14, "offer-cancelled", "c1"),
        CallOutcome("c1", "support", Outcome.ABANDONED, 4.0, None, 14),
    ]
    assert acd.agent("a1", 14).rna_count == 0
    assert acd.next_timer() is None
    assert acd.handle(OfferAnswered("c1", "a1"), 15) == []  # raced the cancel: stale


def test_caller_hangup_while_connected_ends_the_call() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 3)
    cmds = acd.handle(CallLeft("c1"), 63)
    assert only(cmds, CallOutcome) == [
        CallOutcome("c1", "support", Outcome.ANSWERED, 0.0, "a1", 63, talk_s=60.0)
    ]
    assert state(acd, "a1") is S.WRAP_UP


def test_each_call_has_exactly_one_outcome() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    outcomes = only(acd.handle(CallEnded("c1"), 2), CallOutcome)
    for late in (CallEnded("c1"), CallLeft("c1"), HoldSliceDone("c1"), OfferFailed("c1", "a1")):
        outcomes += only(acd.handle(late, 3), CallOutcome)
    outcomes += only(acd.on_timer(100), CallOutcome)
    assert [o.call_id for o in outcomes] == ["c1"]


def test_max_wait_times_out_and_asks_for_overflow() -> None:
    acd = make_acd(("a1",), max_wait_s=45.0)
    acd.handle(CallQueued("c1", "support", "1"), 0)
    assert acd.next_timer() == 45.0
    assert acd.on_timer(45) == [
        CallOutcome("c1", "support", Outcome.TIMEOUT, 45.0, None, 45),
        OverflowCall("c1", "support", 45.0),
    ]
    assert acd.queue_stats("support", 45).timed_out == 1


def test_max_wait_waits_for_a_ringing_offer() -> None:
    acd = make_acd(("a1", "a2"), max_wait_s=45.0)
    acd.handle(CallQueued("c1", "support", "1"), 0)
    acd.handle(AgentLogin("a1"), 40)  # a1 rings from 40
    assert acd.on_timer(45) == []  # deferred while ringing
    acd.handle(AgentLogin("a2"), 46)
    cmds = acd.handle(OfferFailed("c1", "a1"), 50)
    assert only(cmds, CallOutcome) == [
        CallOutcome("c1", "support", Outcome.TIMEOUT, 50.0, None, 50)
    ]
    assert offered_to(cmds) == []


def test_a_call_due_to_time_out_is_not_offered_when_timers_fire_together() -> None:
    # Broke: a late offer timeout freed the agent, who was offered a call whose
    # max-wait deadline was due in the same on_timer run; it then rang on past it.
    acd = make_acd(("a1",), max_wait_s=60.0)
    acd.handle(CallQueued("c0", "support", "1"), 0)
    acd.handle(CallQueued("c1", "support", "2"), 0)
    acd.handle(AgentLogin("a1"), 30)  # c0 rings; offer deadline 30 + 15 + 5 = 50
    cmds = acd.on_timer(60)
    assert offered_to(cmds) == []
    assert [(o.call_id, o.outcome) for o in only(cmds, CallOutcome)] == [
        ("c0", Outcome.TIMEOUT),
        ("c1", Outcome.TIMEOUT),
    ]
    assert state(acd, "a1") is S.READY


def test_hold_slices_chain_and_stop_at_max_wait_and_at_answer() -> None:
    acd = make_acd(("a1",), max_wait_s=50.0)
    assert acd.handle(CallQueued("c1", "support", "1"), 0) == [HoldCaller("c1", 20.0)]
    assert acd.handle(HoldSliceDone("c1"), 20) == [HoldCaller("c1", 20.0)]
    assert acd.handle(HoldSliceDone("c1"), 40) == [HoldCaller("c1", 10.0)]
    acd.handle(AgentLogin("a1"), 41)
    assert acd.handle(HoldSliceDone("c1"), 42) == [HoldCaller("c1", 8.0)]  # music while ringing
    acd.handle(OfferAnswered("c1", "a1"), 43)
    assert acd.handle(HoldSliceDone("c1"), 44) == []


# -- statistics ----------------------------------------------------------------


def test_service_level_and_asa_on_a_worked_example() -> None:
    """Threshold 20 s, short abandons under 10 s (``acd.kpis``).

    answered after 10, 20 and 30 s (10 and 20 are within the threshold);
    abandoned after 5 s (short: not counted) and after 25 s (counts against);
    so SL = 2 / (5 - 1) = 0.5 and ASA = (10 + 20 + 30) / 3 = 20.0.
    """
    acd = make_acd(("a1", "a2", "a3"), wrap_up_s=0.0, short_abandon_s=10.0)
    for call_id in ("w10", "w20", "w30", "ab5", "ab25"):
        acd.handle(CallQueued(call_id, "support", "1"), 0)

    def answer(agent_id: str, call_id: str, at: float) -> None:
        cmds = acd.handle(AgentLogin(agent_id), at - 0.5)
        assert offered_to(cmds) == [(call_id, agent_id)]
        acd.handle(OfferAnswered(call_id, agent_id), at)

    acd.handle(CallLeft("ab5"), 5)
    answer("a1", "w10", 10)
    answer("a2", "w20", 20)
    acd.handle(CallLeft("ab25"), 25)
    answer("a3", "w30", 30)
    stats = acd.queue_stats("support", 40)
    assert (stats.offered, stats.answered, stats.abandoned, stats.timed_out) == (5, 3, 2, 0)
    assert stats.service_level == 0.5
    assert stats.asa_s == 20.0
    assert stats.waiting == 0
    assert stats.agents_by_state[S.ON_CALL] == 3
    assert stats.agents_by_state[S.LOGGED_OUT] == 0


def test_empty_queue_has_no_service_level_or_asa() -> None:
    stats = make_acd().queue_stats("support", 0)
    assert (stats.service_level, stats.asa_s, stats.longest_wait_s) == (None, None, 0.0)
    assert stats.agents_by_state[S.LOGGED_OUT] == 3


# -- errors --------------------------------------------------------------------


def test_missing_transition_names_state_and_input_and_changes_nothing() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    before = acd.snapshot(2)
    with pytest.raises(InvalidTransition) as info:
        acd.handle(AgentLogout("a1"), 2)
    err = info.value
    assert (err.machine, err.subject, err.state, err.input) == (
        "agent",
        "a1",
        S.ON_CALL,
        AgentInput.LOGOUT,
    )
    assert "ON_CALL" in str(err) and "LOGOUT" in str(err) and err.code == "invalid_transition"
    assert acd.snapshot(2) == before


def test_call_ended_while_waiting_is_a_missing_transition() -> None:
    acd = make_acd()
    acd.handle(CallQueued("c1", "support", "1"), 0)
    with pytest.raises(InvalidTransition) as info:
        acd.handle(CallEnded("c1"), 1)
    assert (info.value.state, info.value.input) == (CallState.WAITING, CallInput.END)


AGENT_EVENTS: dict[AgentInput, AgentLogin | AgentLogout | AgentReady | AgentPause] = {
    AgentInput.LOGIN: AgentLogin("a1"),
    AgentInput.LOGOUT: AgentLogout("a1"),
    AgentInput.READY: AgentReady("a1"),
    AgentInput.PAUSE: AgentPause("a1", "break"),
}


def _agent_in(target: AgentState) -> Acd:
    acd = make_acd(("a1",))
    if target is S.LOGGED_OUT:
        return acd
    acd.handle(AgentLogin("a1"), 0)
    if target is S.PAUSED:
        acd.handle(AgentPause("a1", "break"), 0)
    elif target is not S.READY:
        acd.handle(CallQueued("c1", "support", "1"), 0)
        if target is not S.OFFERED:
            acd.handle(OfferAnswered("c1", "a1"), 0)
            if target is S.WRAP_UP:
                acd.handle(CallEnded("c1"), 0)
    assert state(acd, "a1") is target
    return acd


@pytest.mark.parametrize("agent_state", list(AgentState))
@pytest.mark.parametrize("agent_input", list(AGENT_EVENTS))
def test_every_agent_request_in_every_state(
    agent_state: AgentState, agent_input: AgentInput
) -> None:
    acd = _agent_in(agent_state)
    before = acd.snapshot(1)
    expected = AGENT_TRANSITIONS.get((agent_state, agent_input))
    if expected is None:
        with pytest.raises(InvalidTransition):
            acd.handle(AGENT_EVENTS[agent_input], 1)
        assert acd.snapshot(1) == before
    else:
        acd.handle(AGENT_EVENTS[agent_input], 1)
        assert state(acd, "a1", 1) is expected


def test_unknown_ids_and_duplicates_raise() -> None:
    acd = make_acd()
    with pytest.raises(UnknownAgent):
        acd.handle(AgentLogin("nobody"), 0)
    with pytest.raises(UnknownQueue):
        acd.handle(CallQueued("c1", "sales", "1"), 0)
    acd.handle(CallQueued("c1", "support", "1"), 0)
    with pytest.raises(DuplicateCall):
        acd.handle(CallQueued("c1", "support", "1"), 0)
    with pytest.raises(ValueError):
        acd.handle(CallQueued("c2", "support", "1", entered_at=5.0), 1)


def test_time_must_not_go_backwards() -> None:
    acd = make_acd()
    acd.handle(AgentLogin("a1"), 10)
    with pytest.raises(ValueError, match="backwards"):
        acd.on_timer(9)
    with pytest.raises(ValueError):
        acd.on_timer(float("nan"))


AGENT = AgentConfig("a1", "Ann", "PJSIP/1001", ("support",))


# The wrong types below are the point of the test.
@pytest.mark.parametrize(
    "build",
    [
        lambda: QueueConfig(""),
        lambda: QueueConfig(" support"),
        lambda: QueueConfig("q", wrap_up_s=-1),
        lambda: QueueConfig("q", offer_timeout_s=0),
        lambda: QueueConfig("q", sl_threshold_s=float("inf")),
        lambda: QueueConfig("q", hold_slice_s=float("nan")),
        lambda: QueueConfig("q", max_wait_s=0),
        lambda: QueueConfig("q", wrap_up_s=True),
        lambda: AgentConfig("a1", "Ann", "", ("support",)),
        lambda: AgentConfig("a1", "Ann", "PJSIP/1", ()),
        lambda: AgentConfig("a1", "Ann", "PJSIP/1", "support"),  # type: ignore[arg-type]
        lambda: AgentConfig("a1", "Ann", "PJSIP/1", ("q", "q")),
        lambda: AcdConfig(queues=()),
        lambda: AcdConfig(queues=(QueueConfig("q"), QueueConfig("q"))),
        lambda: AcdConfig(queues=(QueueConfig("q"),), agents=(AGENT,)),  # unknown queue
        lambda: AcdConfig(queues=(QueueConfig("support"),), agents=(AGENT, AGENT)),
        lambda: AcdConfig(queues=(QueueConfig("support"),), rna_pause_after=-1),
        lambda: AcdConfig(queues=(QueueConfig("support"),), offer_grace_s=-0.1),
        lambda: CallQueued("", "support", "1"),
        lambda: CallQueued("c1", "support", None),  # type: ignore[arg-type]
        lambda: CallQueued("c1", "support", "1", priority=1.5),  # type: ignore[arg-type]
        lambda: CallQueued("c1", "support", "1", customer_id=""),
        lambda: CallQueued("c1", "support", "1", entered_at=float("-inf")),
        lambda: CallLeft("c1", "hangup"),  # type: ignore[arg-type]
        lambda: OfferFailed("c1", "a1", "busy"),  # type: ignore[arg-type]
        lambda: OfferAnswered("c1", ""),
        lambda: AgentPause("a1", ""),
        lambda: HoldCaller("c1", 0),
        lambda: OfferCall("c1", "a1", "PJSIP/1", -1, "support"),
        lambda: CallOutcome("c1", "support", Outcome.ANSWERED, 1.0, None, 0.0),
        lambda: CallOutcome("c1", "support", Outcome.ABANDONED, 1.0, "a1", 0.0),
        lambda: AgentStateChanged("a1", "ready", S.PAUSED, 0.0, "x"),  # type: ignore[arg-type]
        lambda: Acd(object()),  # type: ignore[arg-type]
    ],
)
def test_bad_values_raise_when_built(build: object) -> None:
    with pytest.raises(ValueError):
        build()  # type: ignore[operator]


def test_config_accepts_lists_and_stores_tuples() -> None:
    agent = AgentConfig("a1", "Ann", "PJSIP/1001", ["support"])  # type: ignore[arg-type]
    config = AcdConfig(queues=[QueueConfig("support")], agents=[agent])  # type: ignore[arg-type]
    assert agent.queues == ("support",)
    assert isinstance(config.queues, tuple) and isinstance(config.agents, tuple)


def test_acd_package_stays_pure() -> None:
    forbidden = {
        "asyncio", "aiohttp", "sqlalchemy", "socket", "callcenter", "pbxsim",
        "time", "datetime", "random", "logging", "threading", "os",
    }  # fmt: skip
    for path in pathlib.Path(__file__).parent.parent.joinpath("acd").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"


# -- calls found talking after a restart ----------------------------------------


def test_a_call_resumed_after_a_restart_keeps_its_agent_on_call_and_ends_answered() -> None:
    # Broke: after a controller restart an agent still talking was READY and got a second call.
    acd = make_acd(("a1", "a2"), wrap_up_s=0.0)
    acd.handle(AgentLogin("a1"), 1)
    cmds = acd.handle(CallResumed("c1", "support", "a1", "100", 0.5, 0.8), 2)
    assert cmds == [AgentStateChanged("a1", S.READY, S.ON_CALL, 2, "resumed", "c1")]
    assert offered_to(acd.handle(CallQueued("c2", "support", "200"), 3)) == []
    cmds = acd.handle(CallEnded("c1"), 10)
    [outcome] = only(cmds, CallOutcome)
    assert (outcome.outcome, outcome.agent_id) == (Outcome.ANSWERED, "a1")
    assert offered_to(cmds) == [("c2", "a1")]


def test_a_call_resumed_for_a_logged_out_agent_puts_it_on_call() -> None:
    acd = make_acd(("a1",))
    cmds = acd.handle(CallResumed("c1", "support", "a1", "100", 0.0, 0.0), 2)
    assert state(acd, "a1", 2) is S.ON_CALL
    assert cmds[0].old is S.LOGGED_OUT


def test_resuming_a_call_for_an_agent_already_talking_is_refused_and_changes_nothing() -> None:
    acd = make_acd(("a1",))
    acd.handle(AgentLogin("a1"), 0)
    connect(acd, "c1", 1)
    with pytest.raises(InvalidTransition):
        acd.handle(CallResumed("c2", "support", "a1", "100", 0.0, 0.0), 2)
    assert acd.call("c2", 2) is None
    with pytest.raises(DuplicateCall):
        acd.handle(CallResumed("c1", "support", "a1", "100", 0.0, 0.0), 3)


def test_built_commands_skip_the_checks_that_replace_runs_again() -> None:
    from dataclasses import replace

    from acd import InvalidValue
    from acd.commands import OfferCall, built

    offer = built(OfferCall, "c1", "a1", "PJSIP/1", 15.0, "q")
    assert offer == OfferCall("c1", "a1", "PJSIP/1", 15.0, "q") and replace(offer) == offer
    bad = built(OfferCall, "c1", "a1", "PJSIP/1", -1.0, "q")  # trusted: not checked here
    with pytest.raises(InvalidValue):
        replace(bad)  # what the property tests do to every command the core returns
    with pytest.raises(TypeError):
        built(OfferCall, "c1", "a1")


def test_a_conversation_that_reached_nobody_is_not_an_answered_call() -> None:
    # a queued callback's attempt whose customer did not answer (flow rule 13): the agent
    # wraps up, but the queue's tallies give the visit back and its talk is no EWT sample;
    # queued again, the call counts once, with its whole wait (docs/kpis.md)
    from acd import InvalidValue

    acd = make_acd(("a1",), wrap_up_s=0.0, sl_threshold_s=20.0)
    acd.handle(AgentLogin("a1"), 0.0)
    [offer] = only(acd.handle(CallQueued("c1", "support", "1"), 1.0), OfferCall)
    acd.handle(OfferAnswered("c1", offer.agent_id), 6.0)
    cmds = acd.handle(CallEnded("c1", counted=False), 36.0)
    [outcome] = only(cmds, CallOutcome)  # the visit still ends with its one outcome
    assert outcome.outcome is Outcome.ANSWERED
    stats = acd.queue_stats("support", 36.0)
    assert (stats.offered, stats.answered, stats.service_level, stats.asa_s) == (0, 0, None, None)
    assert (stats.talk_samples, stats.ewt_s) == (0, None)
    assert acd.agent("a1", 36.0).state is AgentState.READY
    [offer] = only(acd.handle(CallQueued("c1", "support", "1", entered_at=1.0), 96.0),
                   OfferCall)  # fmt: skip
    acd.handle(OfferAnswered("c1", offer.agent_id), 100.0)
    acd.handle(CallEnded("c1"), 160.0)
    stats = acd.queue_stats("support", 160.0)
    assert (stats.offered, stats.answered, stats.service_level, stats.asa_s) == (1, 1, 0.0, 99.0)
    assert (stats.talk_samples, stats.talk_s) == (1, 60.0)
    with pytest.raises(InvalidValue, match="CallEnded.counted"):
        CallEnded("c1", counted=1)  # type: ignore[arg-type]
