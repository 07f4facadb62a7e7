"""Extending a wrap-up (issue 15): the agent asks for more after-call work, the ACD's
wrap-up timer moves, capped by the queue's ``wrap_up_max_s``; driven by hand, no sleep."""

from __future__ import annotations

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentReady,
    AgentState,
    AgentStateChanged,
    CallEnded,
    CallQueued,
    InvalidTransition,
    InvalidValue,
    OfferAnswered,
    OfferCall,
    QueueConfig,
    WrapUpExtend,
    WrapUpExtended,
    WrapUpLimit,
)

S = AgentState


def wrapping(wrap_up_max_s: float | None = 40.0) -> Acd:
    """a1 answered c1 at 1 and the call ended at 10: wrap-up until 20 (10 s)."""
    acd = Acd(AcdConfig(
        queues=(QueueConfig("support", wrap_up_s=10.0, wrap_up_max_s=wrap_up_max_s),),
        agents=(AgentConfig("a1", "A1", "PJSIP/a1", ("support",)),),
    ))  # fmt: skip
    acd.handle(AgentLogin("a1"), 0.0)
    [offer] = [c for c in acd.handle(CallQueued("c1", "support", "1"), 0.5)
               if isinstance(c, OfferCall)]  # fmt: skip
    acd.handle(OfferAnswered("c1", offer.agent_id), 1.0)
    acd.handle(CallEnded("c1"), 10.0)
    return acd


def test_extend_moves_the_wrap_up_timer_and_the_agent_stays_in_wrap_up() -> None:
    acd = wrapping()
    view = acd.agent("a1", 12.0)
    assert (view.wrap_up_until, view.wrap_up_limit) == (20.0, 50.0)
    assert acd.next_timer() == 20.0
    assert acd.handle(WrapUpExtend("a1", 15.0), 12.0) == [WrapUpExtended("a1", 12.0, 35.0, 50.0)]
    assert acd.next_timer() == 35.0
    assert acd.agent("a1", 13.0).wrap_up_until == 35.0
    assert acd.on_timer(20.0) == []  # the old end passes: still wrapping up
    assert acd.agent("a1", 20.0).state is S.WRAP_UP
    cmds = acd.on_timer(35.0)
    assert cmds[0] == AgentStateChanged("a1", S.WRAP_UP, S.READY, 35.0, "wrap-up-elapsed")
    view = acd.agent("a1", 36.0)
    assert (view.wrap_up_until, view.wrap_up_limit) == (None, None)


def test_extensions_stop_at_the_queues_limit() -> None:
    acd = wrapping()
    acd.handle(WrapUpExtend("a1", 25.0), 11.0)
    assert acd.handle(WrapUpExtend("a1", 25.0), 12.0) == [WrapUpExtended("a1", 12.0, 50.0, 50.0)]
    assert acd.next_timer() == 50.0
    with pytest.raises(WrapUpLimit, match="40 s after the call"):
        acd.handle(WrapUpExtend("a1", 5.0), 13.0)
    assert acd.next_timer() == 50.0


def test_no_limit_configured_means_no_extension() -> None:
    acd = wrapping(None)
    with pytest.raises(WrapUpLimit):
        acd.handle(WrapUpExtend("a1", 5.0), 12.0)
    assert acd.next_timer() == 20.0


def test_extend_outside_wrap_up_is_refused_and_changes_nothing() -> None:
    acd = wrapping()
    acd.handle(AgentReady("a1"), 12.0)  # ended early
    assert acd.next_timer() is None
    with pytest.raises(InvalidTransition, match="READY on EXTEND_WRAP_UP"):
        acd.handle(WrapUpExtend("a1", 5.0), 13.0)
    assert acd.next_timer() is None
    assert acd.agent("a1", 13.0).state is S.READY


def test_end_early_after_an_extension_drops_the_timer() -> None:
    acd = wrapping()
    acd.handle(WrapUpExtend("a1", 20.0), 12.0)
    acd.handle(AgentReady("a1"), 14.0)
    assert acd.next_timer() is None
    assert acd.on_timer(40.0) == []


@pytest.mark.parametrize("bad", [0.0, -1.0, float("inf")])
def test_bad_extensions_are_refused(bad: float) -> None:
    with pytest.raises(InvalidValue, match="WrapUpExtend.seconds"):
        WrapUpExtend("a1", bad)


def test_a_limit_below_the_wrap_up_is_refused() -> None:
    with pytest.raises(InvalidValue, match="wrap_up_max_s must be >= wrap_up_s"):
        QueueConfig("q", wrap_up_s=10.0, wrap_up_max_s=5.0)
