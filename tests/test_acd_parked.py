"""A parked call (``acd.core`` rule 15) by hand: its PBX out of reach, the call waits
offered to no one and keeps its place; unparked, it is routed at once."""

from __future__ import annotations

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    CallOutcome,
    CallParked,
    CallQueued,
    CallState,
    InvalidValue,
    OfferCall,
    Outcome,
    QueueConfig,
)


def floor(max_wait_s: float | None = None) -> Acd:
    agents = tuple(AgentConfig(x, x.upper(), f"PJSIP/{x}", ("q",)) for x in "ab")
    return Acd(AcdConfig(queues=(QueueConfig("q", max_wait_s=max_wait_s),), agents=agents))


def offered(cmds: list[object]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in cmds if isinstance(c, OfferCall)]


def test_a_parked_call_is_offered_to_no_one_and_unparked_keeps_its_place() -> None:
    acd = floor()
    acd.handle(CallQueued("c1", "q", "0901"), 1.0)
    acd.handle(CallQueued("c2", "q", "0902"), 2.0)
    assert acd.handle(CallParked("c1", True), 3.0) == []
    assert offered(acd.handle(AgentLogin("a"), 4.0)) == [("c2", "a")]  # c1 is first, parked
    assert offered(acd.handle(AgentLogin("b"), 5.0)) == []  # READY while only c1 waits
    assert acd.handle(CallParked("c1", True), 5.0) == []  # parked again: nothing changes
    view = acd.call("c1", 6.0)
    assert view is not None and view.state is CallState.WAITING and view.position == 1
    assert acd.queue_stats("q", 6.0).waiting == 2  # c1 (the PBX still holds it) and c2 ringing
    assert offered(acd.handle(CallParked("c1", False), 7.0)) == [("c1", "b")]


def test_parking_twice_or_an_unknown_call_changes_nothing() -> None:
    acd = floor()
    acd.handle(CallQueued("c1", "q", "0901"), 1.0)
    assert acd.handle(CallParked("c1", False), 2.0) == []  # not parked: nothing to route
    assert acd.handle(CallParked("c9", True), 2.0) == []
    with pytest.raises(InvalidValue):
        CallParked("c1", "yes")  # type: ignore[arg-type]


def test_a_parked_call_still_times_out_at_its_max_wait() -> None:
    acd = floor(max_wait_s=30.0)
    acd.handle(CallQueued("c1", "q", "0901"), 0.0)
    acd.handle(CallParked("c1", True), 1.0)
    outcomes = [c for c in acd.on_timer(31.0) if isinstance(c, CallOutcome)]
    assert [(o.call_id, o.outcome) for o in outcomes] == [("c1", Outcome.TIMEOUT)]
