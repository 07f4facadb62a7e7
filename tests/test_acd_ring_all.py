"""Ring-all: the only strategy that offers one call to several agents at once.

- the legs are every READY agent of the lowest penalty who fits the call, at once;
- the first answer wins: the other legs are cancelled and those agents are READY again;
- a leg that fails only drops that leg (its agent's failure counted); the call goes
  back in line when the last one fails, and rings again whoever fits then;
- a caller who leaves, or an offer nobody reports on, cancels every leg.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentState,
    CallConnected,
    CallLeft,
    CallOutcome,
    CallQueued,
    CallState,
    CancelOffer,
    Command,
    OfferAnswered,
    OfferCall,
    OfferFailed,
    OfferFailure,
    Outcome,
    QueueConfig,
    Strategy,
)

SKILLS = ("en", "vi")


def make(agents: list[tuple[int, dict[str, int]]], **queue: object) -> Acd:
    """Agents a0.. of one ring-all queue ``q``, each (penalty, skills)."""
    q = QueueConfig("q", wrap_up_s=0.0, strategy=Strategy.RING_ALL, **queue)  # type: ignore[arg-type]
    return Acd(AcdConfig((q,), tuple(
        AgentConfig(f"a{i}", f"A{i}", f"PJSIP/{i}", ("q",), skills=skills,
                    penalties={"q": penalty} if penalty else {})
        for i, (penalty, skills) in enumerate(agents)
    )))  # fmt: skip


def legs(cmds: list[Command]) -> list[str]:
    return [c.agent_id for c in cmds if isinstance(c, OfferCall)]


def cancelled(cmds: list[Command]) -> list[str]:
    return [c.agent_id for c in cmds if isinstance(c, CancelOffer)]


def state(acd: Acd, agent: str) -> AgentState:
    return acd.agent(agent, 100.0).state


def ready_all(acd: Acd, n: int) -> None:
    for i in range(n):
        assert legs(acd.handle(AgentLogin(f"a{i}"), 1.0)) == []


def test_every_fitting_agent_of_the_lowest_penalty_rings_and_the_first_answer_wins() -> None:
    acd = make([(0, {"en": 2}), (0, {"en": 1}), (0, {"en": 3}), (1, {"en": 5})])
    ready_all(acd, 4)
    out = acd.handle(CallQueued("c1", "q", "+1", skills={"en": 2}), 2.0)
    assert legs(out) == ["a0", "a2"]  # a1 lacks the level, a3 is in a higher penalty
    view = acd.call("c1", 2.0)
    assert view is not None and (view.state, view.agent_id) == (CallState.OFFERED, None)
    out = acd.handle(OfferAnswered("c1", "a2"), 3.0)
    assert [c for c in out if isinstance(c, CallConnected)] == [CallConnected("c1", "a2", 1.0)]
    assert cancelled(out) == ["a0"]
    assert (state(acd, "a0"), state(acd, "a2")) == (AgentState.READY, AgentState.ON_CALL)
    assert acd.handle(OfferAnswered("c1", "a0"), 3.5) == []  # the cancelled leg: stale


def test_a_failed_leg_drops_only_itself_and_the_call_rings_again_when_all_failed() -> None:
    acd = make([(0, {}), (0, {}), (1, {})])
    ready_all(acd, 3)
    assert legs(acd.handle(CallQueued("c1", "q", "+1"), 2.0)) == ["a0", "a1"]
    out = acd.handle(OfferFailed("c1", "a0", OfferFailure.BUSY), 3.0)
    assert legs(out) == [] and acd.call("c1", 3.0).state is CallState.OFFERED  # type: ignore[union-attr]
    assert state(acd, "a0") is AgentState.READY  # one busy: counted, not paused
    out = acd.handle(OfferFailed("c1", "a1", OfferFailure.NO_ANSWER), 4.0)
    # back in line: rings whoever fits now, but not a1 who just failed it
    assert legs(out) == ["a0"]


def test_a_caller_who_leaves_or_an_offer_nobody_reports_on_cancels_every_leg() -> None:
    acd = make([(0, {}), (0, {}), (0, {})], offer_timeout_s=10.0)
    ready_all(acd, 3)
    assert legs(acd.handle(CallQueued("c1", "q", "+1"), 2.0)) == ["a0", "a1", "a2"]
    out = acd.handle(CallLeft("c1"), 3.0)
    assert cancelled(out) == ["a0", "a1", "a2"]
    assert [c.outcome for c in out if isinstance(c, CallOutcome)] == [Outcome.ABANDONED]
    assert all(state(acd, f"a{i}") is AgentState.READY for i in range(3))

    assert legs(acd.handle(CallQueued("c2", "q", "+2"), 4.0)) == ["a0", "a1", "a2"]
    deadline = acd.next_timer()
    assert deadline is not None
    out = acd.on_timer(deadline)
    assert sorted(cancelled(out)) == ["a0", "a1", "a2"]
    # no leg answered in time: every agent's no-answer counted; the call rings again
    assert acd.call("c2", deadline) is not None


agents_st = st.lists(
    st.tuples(st.integers(0, 2), st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5))),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    agents=agents_st,
    ready=st.data(),
    needs=st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5)),
    winner=st.integers(0, 100),
)
def test_ring_all_rings_exactly_the_lowest_penalty_that_fits_and_one_answer_wins(
    agents: list[tuple[int, dict[str, int]]], ready: st.DataObject, needs: dict[str, int],
    winner: int,
) -> None:  # fmt: skip
    acd = make(agents)
    up = ready.draw(st.sets(st.integers(0, len(agents) - 1)), label="ready")
    for i in sorted(up):
        acd.handle(AgentLogin(f"a{i}"), 1.0)
    out = acd.handle(CallQueued("c1", "q", "+1", skills=needs), 2.0)
    fitting = [
        i for i in sorted(up) if all(agents[i][1].get(s, 0) >= lv for s, lv in needs.items())
    ]
    best = min((agents[i][0] for i in fitting), default=None)
    expected = [f"a{i}" for i in fitting if agents[i][0] == best]
    assert legs(out) == expected
    if not expected:
        assert acd.call("c1", 2.0).state is CallState.WAITING  # type: ignore[union-attr]
        return
    won = expected[winner % len(expected)]
    out = acd.handle(OfferAnswered("c1", won), 3.0)
    assert sorted(cancelled(out)) == sorted(set(expected) - {won})
    for agent in expected:
        assert state(acd, agent) is (AgentState.ON_CALL if agent == won else AgentState.READY)
