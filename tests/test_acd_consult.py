"""A consultation before an attended transfer in the ACD core by hand (``acd.core`` rule
14): agent a talks to call c1 and consults agent b. b is rung (OFFERED) and never
offered another call meanwhile; the consultation ends cancelled (b READY, idle place
kept), failed (the offer failure rules) or transferred (a's visit ends with the call's
one outcome, b ON_CALL with the same call)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acd import (
    Acd,
    AcdConfig,
    AcdError,
    AgentConfig,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    AgentState,
    AgentStateChanged,
    CallEnded,
    CallLeft,
    CallOutcome,
    CallQueued,
    CallState,
    CancelOffer,
    Command,
    ConsultEnded,
    ConsultStarted,
    InvalidTransition,
    InvalidValue,
    LeaveReason,
    OfferAnswered,
    OfferCall,
    OfferFailure,
    QueueConfig,
    Strategy,
    UnknownCall,
)


def talking() -> Acd:
    """Agents a, b, c of queue q (a wrap-up of 30 s); a talks to c1."""
    agents = tuple(AgentConfig(x, x.upper(), f"PJSIP/{x}", ("q",)) for x in "abc")
    acd = Acd(AcdConfig(queues=(QueueConfig("q", wrap_up_s=30.0),), agents=agents))
    for n, x in enumerate("abc"):
        acd.handle(AgentLogin(x), float(n))
    [offer] = [c for c in acd.handle(CallQueued("c1", "q", "0901"), 5.0)
               if isinstance(c, OfferCall)]  # fmt: skip
    assert offer.agent_id == "a"
    acd.handle(OfferAnswered("c1", "a"), 6.0)
    return acd


def offers(cmds: list[Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in cmds if isinstance(c, OfferCall)]


def state(acd: Acd, agent: str) -> AgentState:
    return acd.agent(agent, 100.0).state


def test_a_consulted_agent_is_rung_and_offered_no_other_call() -> None:
    acd = talking()
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    assert state(acd, "b") is AgentState.OFFERED and state(acd, "a") is AgentState.ON_CALL
    # the next caller goes to c, never to b
    assert offers(acd.handle(CallQueued("c2", "q", "0902"), 11.0)) == [("c2", "c")]
    # a third waits: b is not READY
    assert offers(acd.handle(CallQueued("c3", "q", "0903"), 12.0)) == []


def test_a_cancelled_consultation_frees_the_agent_who_takes_the_next_call() -> None:
    acd = talking()
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    acd.handle(CallQueued("c2", "q", "0902"), 11.0)  # to c
    acd.handle(CallQueued("c3", "q", "0903"), 12.0)  # waits
    cmds = acd.handle(ConsultEnded("c1", "b"), 13.0)
    assert offers(cmds) == [("c3", "b")]
    assert state(acd, "a") is AgentState.ON_CALL
    view = acd.call("c1", 13.0)
    assert view is not None and view.state is CallState.CONNECTED and view.agent_id == "a"


def test_a_failed_consultation_counts_as_a_failed_offer_and_can_pause() -> None:
    agents = tuple(AgentConfig(x, x.upper(), f"PJSIP/{x}", ("q",)) for x in "ab")
    acd = Acd(AcdConfig(queues=(QueueConfig("q"),), agents=agents, rna_pause_after=2))
    acd.handle(AgentLogin("a"), 0.0)
    acd.handle(AgentLogin("b"), 1.0)
    acd.handle(CallQueued("c1", "q", "0901"), 5.0)
    acd.handle(OfferAnswered("c1", "a"), 6.0)
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    acd.handle(ConsultEnded("c1", "b", OfferFailure.NO_ANSWER), 25.0)
    assert state(acd, "b") is AgentState.READY
    acd.handle(ConsultStarted("c1", "b"), 30.0)
    acd.handle(ConsultEnded("c1", "b", OfferFailure.NO_ANSWER), 45.0)
    view = acd.agent("b", 45.0)
    assert view.state is AgentState.PAUSED and view.reason == "ring-no-answer"
    assert state(acd, "a") is AgentState.ON_CALL


def test_a_transfer_ends_the_first_visit_with_one_outcome_and_the_consulted_agent_talks() -> None:
    acd = talking()
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    cmds = acd.handle(ConsultEnded("c1", "b", transferred=True), 20.0)
    [outcome] = [c for c in cmds if isinstance(c, CallOutcome)]
    assert (outcome.agent_id, outcome.outcome.value, outcome.talk_s) == ("a", "answered", 14.0)
    assert state(acd, "a") is AgentState.WRAP_UP and state(acd, "b") is AgentState.ON_CALL
    view = acd.call("c1", 20.0)
    assert view is not None and view.state is CallState.CONNECTED and view.agent_id == "b"
    stats = acd.queue_stats("q", 20.0)
    assert stats.offered == 1 and stats.answered == 1  # counted once
    [end] = [c for c in acd.handle(CallEnded("c1"), 50.0) if isinstance(c, CallOutcome)]
    assert (end.agent_id, end.talk_s) == ("b", 30.0)
    assert state(acd, "b") is AgentState.WRAP_UP


def test_pausing_a_consulted_agent_cancels_the_consultation_not_the_call() -> None:
    acd = talking()
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    cmds = acd.handle(AgentPause("b", "break"), 11.0)
    assert CancelOffer("c1", "b") in cmds
    view = acd.call("c1", 11.0)
    assert view is not None and view.state is CallState.CONNECTED and view.agent_id == "a"


def test_a_consultation_needs_a_connected_call_and_a_ready_other_agent() -> None:
    acd = talking()
    with pytest.raises(UnknownCall):
        acd.handle(ConsultStarted("nope", "b"), 10.0)
    with pytest.raises(InvalidValue):
        acd.handle(ConsultStarted("c1", "a"), 10.0)
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    with pytest.raises(InvalidTransition):
        acd.handle(ConsultStarted("c1", "b"), 11.0)  # OFFERED already
    with pytest.raises(InvalidValue):
        ConsultEnded("c1", "b", OfferFailure.BUSY, transferred=True)


def test_stale_reports_change_nothing() -> None:
    acd = talking()
    assert acd.handle(ConsultEnded("c1", "b"), 10.0) == []  # never consulted
    acd.handle(ConsultStarted("c1", "b"), 10.0)
    acd.handle(ConsultEnded("c1", "b"), 11.0)
    assert acd.handle(ConsultEnded("c1", "b", transferred=True), 12.0) == []
    assert state(acd, "a") is AgentState.ON_CALL and state(acd, "b") is AgentState.READY
    acd.handle(CallLeft("c1", LeaveReason.HANGUP), 13.0)
    assert state(acd, "a") is AgentState.WRAP_UP


# -- random sequences (hypothesis) -------------------------------------------------------

OPS = st.lists(
    st.tuples(
        st.sampled_from(["queue", "answer", "consult", "cancel", "fail", "transfer", "end",
                         "leave", "pause", "ready", "logout", "login"]),
        st.sampled_from("abc"),
        st.integers(0, 3),
    ),
    max_size=60,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(ops=OPS)
def test_random_sequences_keep_a_consulted_agent_out_of_routing(ops: list) -> None:
    """Whatever happens around it, an agent consulted about a call is offered no call
    until that consultation ends, each call's visits end with one outcome each, and the
    agents' states the core emits are the ones it holds."""
    agents = tuple(AgentConfig(x, x.upper(), f"PJSIP/{x}", ("q",)) for x in "abc")
    acd = Acd(AcdConfig(queues=(QueueConfig("q", wrap_up_s=5.0),), agents=agents))
    consulted: dict[str, str] = {}  # agent -> the call it is consulted about
    visits: dict[str, int] = {}
    outcomes: dict[str, int] = {}
    mirror = dict.fromkeys("abc", AgentState.LOGGED_OUT)
    now = 0.0
    for n, (op, agent, k) in enumerate(ops):
        now += 1.0
        call = f"c{k}"
        view = acd.call(call, now)
        event: Any = {
            "queue": CallQueued(call, "q", "0901"),
            "answer": OfferAnswered(call, view.agent_id or agent) if view else None,
            "consult": ConsultStarted(call, agent),
            "cancel": ConsultEnded(call, agent),
            "fail": ConsultEnded(call, agent, OfferFailure.NO_ANSWER),
            "transfer": ConsultEnded(call, agent, transferred=True),
            "end": CallEnded(call),
            "leave": CallLeft(call, LeaveReason.HANGUP),
            "pause": AgentPause(agent, "break"),
            "ready": AgentReady(agent),
            "logout": AgentLogout(agent),
            "login": AgentLogin(agent),
        }[op]
        if event is None:
            continue
        try:
            cmds = acd.handle(event, now)
        except AcdError:
            continue
        if op == "queue":
            visits[call] = visits.get(call, 0) + 1
        if op == "consult":
            consulted[agent] = call
        if op == "transfer" and any(isinstance(c, CallOutcome) for c in cmds):
            visits[call] += 1  # the consulted agent's visit begins
        for c in cmds:
            if isinstance(c, OfferCall):
                assert c.agent_id not in consulted, f"step {n}: a consulted agent offered"
            elif isinstance(c, CallOutcome):
                outcomes[c.call_id] = outcomes.get(c.call_id, 0) + 1
            elif isinstance(c, AgentStateChanged):
                assert mirror[c.agent_id] is c.old, (n, c)
                mirror[c.agent_id] = c.new
                if c.old is AgentState.OFFERED:
                    consulted.pop(c.agent_id, None)
        for x, held in consulted.items():
            v = acd.agent(x, now)
            assert v.state is AgentState.OFFERED and v.call_id == held, (n, x, v)
        assert all(outcomes.get(c, 0) <= visits[c] for c in visits), (n, outcomes, visits)
        assert {x: acd.agent(x, now).state for x in "abc"} == mirror


@pytest.mark.parametrize("strategy", [s for s in Strategy if s is not Strategy.RING_ALL])
def test_next_ready_is_the_agent_routing_would_offer_the_queues_next_call(
    strategy: Strategy,
) -> None:
    """An attended transfer to a queue consults ``Acd.next_ready``: the agent a call of
    that queue would be offered now (its strategy; never the transferring agent)."""

    def build() -> tuple[Acd, str]:
        agents = tuple(AgentConfig(x, x.upper(), f"PJSIP/{x}", ("q",)) for x in "abcde")
        acd = Acd(AcdConfig(queues=(QueueConfig("q", strategy=strategy),), agents=agents))
        for n, x in enumerate("aecbd"):
            acd.handle(AgentLogin(x), float(n))
        acd.handle(AgentPause("c", "lunch"), 6.0)
        [offer] = [c for c in acd.handle(CallQueued("c1", "q", "0901"), 7.0)
                   if isinstance(c, OfferCall)]  # fmt: skip
        acd.handle(OfferAnswered("c1", offer.agent_id), 8.0)
        return acd, offer.agent_id

    acd, talking_agent = build()
    routed, _ = build()  # the same ACD, same seed
    picked = acd.next_ready("q", talking_agent)
    [(_, expected)] = offers(routed.handle(CallQueued("c2", "q", "0902"), 9.0))
    assert picked == expected and picked not in (talking_agent, "c")
    assert acd.next_ready("nowhere", None) is None


def test_next_ready_never_names_the_excluded_agent_and_none_when_nobody_is_ready() -> None:
    acd = Acd(AcdConfig(queues=(QueueConfig("q"),),
                        agents=(AgentConfig("a", "A", "PJSIP/a", ("q",)),)))  # fmt: skip
    assert acd.next_ready("q", None) is None
    acd.handle(AgentLogin("a"), 1.0)
    assert acd.next_ready("q", None) == "a"
    assert acd.next_ready("q", "a") is None
