"""Sticky agent by hand (``acd.routing`` rule 5, core rule 12): a call queued with a
preferred agent goes to that agent if READY, else waits for it alone up to the
queue's ``sticky_wait_s``, then is routed as any other."""

from __future__ import annotations

from typing import Any

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    CallLeft,
    CallQueued,
    CallState,
    Command,
    InvalidValue,
    MoveCall,
    OfferCall,
    OfferFailed,
    QueueConfig,
    Strategy,
)


def offers(cmds: list[Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in cmds if isinstance(c, OfferCall)]


def sticky_acd(wait_s: float = 30.0, **queue: Any) -> Acd:
    q = QueueConfig("q", wrap_up_s=0.0, sticky_wait_s=wait_s, **queue)
    agents = tuple(AgentConfig(a, a.upper(), f"PJSIP/{a}", ("q",)) for a in ("a", "b"))
    acd = Acd(AcdConfig(queues=(q,), agents=agents))
    acd.handle(AgentLogin("a"), 0.0)
    acd.handle(AgentLogin("b"), 1.0)  # a idles longer: the strategy alone picks a
    return acd


def held_for(acd: Acd, call_id: str, now: float) -> str | None:
    view = acd.call(call_id, now)
    assert view is not None
    return view.preferred_agent


def test_the_preferred_agent_ready_gets_the_call_at_once() -> None:
    acd = sticky_acd()
    cmds = acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 5.0)
    assert offers(cmds) == [("c1", "b")]


def test_without_a_preference_or_with_sticky_off_the_strategy_decides() -> None:
    acd = sticky_acd()
    assert offers(acd.handle(CallQueued("c1", "q", "0901"), 5.0)) == [("c1", "a")]
    off = sticky_acd(wait_s=0.0)
    assert offers(off.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 5.0)) == [
        ("c1", "a")
    ]


def test_a_busy_preferred_agent_is_waited_for_then_the_call_falls_back() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    cmds = acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 10.0)
    assert offers(cmds) == []  # a is READY, yet the call waits for b
    assert held_for(acd, "c1", 10.0) == "b"
    assert acd.next_timer() == 40.0
    assert offers(acd.on_timer(39.5)) == []
    assert offers(acd.on_timer(40.0)) == [("c1", "a")]  # sticky_wait_s passed


def test_a_preferred_agent_ready_within_the_wait_takes_its_held_call_first() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    acd.handle(AgentPause("a", "break"), 2.0)
    acd.handle(CallQueued("c0", "q", "0900"), 3.0)  # an older call, no preference
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 10.0)
    assert offers(acd.handle(AgentReady("b"), 20.0)) == [("c1", "b")]
    assert offers(acd.handle(AgentReady("a"), 21.0)) == [("c0", "a")]


def test_the_preferred_agent_logging_out_lets_the_call_go_at_once() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 10.0)
    assert offers(acd.handle(AgentLogout("b"), 12.0)) == [("c1", "a")]


def test_a_preferred_agent_logged_out_unknown_or_of_another_queue_is_ignored() -> None:
    q = QueueConfig("q", wrap_up_s=0.0, sticky_wait_s=30.0)
    other = QueueConfig("other")
    agents = (
        AgentConfig("a", "A", "PJSIP/a", ("q",)),
        AgentConfig("b", "B", "PJSIP/b", ("q",)),
        AgentConfig("x", "X", "PJSIP/x", ("other",)),
    )
    acd = Acd(AcdConfig(queues=(q, other), agents=agents))
    acd.handle(AgentLogin("a"), 0.0)  # b stays logged out
    for i, who in enumerate(("b", "x", "nobody")):
        cmds = acd.handle(CallQueued(f"c{i}", "q", "0901", preferred_agent=who), 5.0 + i)
        assert offers(cmds) == [(f"c{i}", "a")], who
        acd.handle(CallLeft(f"c{i}"), 5.0 + i)


def test_a_preferred_agent_who_does_not_fit_the_call_is_ignored() -> None:
    q = QueueConfig("q", wrap_up_s=0.0, sticky_wait_s=30.0, skills={"fr": 3})
    agents = (
        AgentConfig("a", "A", "PJSIP/a", ("q",), skills={"fr": 3}),
        AgentConfig("b", "B", "PJSIP/b", ("q",), skills={"fr": 1}),
    )
    acd = Acd(AcdConfig(queues=(q,), agents=agents))
    acd.handle(AgentLogin("a"), 0.0)
    acd.handle(AgentLogin("b"), 0.0)
    acd.handle(AgentPause("a", "break"), 1.0)
    cmds = acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 5.0)
    assert offers(cmds) == [] and held_for(acd, "c1", 5.0) is None  # waits in line for a
    assert offers(acd.handle(AgentReady("a"), 6.0)) == [("c1", "a")]


def test_a_failed_sticky_offer_spends_the_preference() -> None:
    acd = sticky_acd(wait_s=30.0)
    assert offers(acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 5.0)) == [
        ("c1", "b")
    ]
    cmds = acd.handle(OfferFailed("c1", "b"), 8.0)
    assert offers(cmds) == [("c1", "a")]


def test_a_held_caller_who_hangs_up_leaves_no_deadline() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 10.0)
    acd.handle(CallLeft("c1"), 11.0)
    assert acd.next_timer() is None
    assert offers(acd.handle(AgentReady("b"), 12.0)) == []


def test_ring_all_rings_only_the_preferred_agent() -> None:
    acd = sticky_acd(wait_s=30.0, strategy=Strategy.RING_ALL)
    assert offers(acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 5.0)) == [
        ("c1", "b")
    ]


def test_a_reload_turning_sticky_off_routes_the_held_call() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 10.0)
    config = acd.config
    off = AcdConfig(queues=(QueueConfig("q", wrap_up_s=0.0),), agents=config.agents)
    assert offers(acd.reconfigure(off, 11.0)) == [("c1", "a")]


def test_a_restored_call_is_held_only_for_the_rest_of_its_sticky_wait() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    cmds = acd.handle(CallQueued("c1", "q", "0901", entered_at=60.0, preferred_agent="b"), 100.0)
    assert offers(cmds) == [("c1", "a")]  # its sticky wait ended at 90
    cmds = acd.handle(CallQueued("c2", "q", "0902", entered_at=90.0, preferred_agent="b"), 100.0)
    assert offers(cmds) == [] and acd.next_timer() == 120.0
    view = acd.call("c2", 100.0)
    assert view is not None and view.state is CallState.WAITING


@pytest.mark.parametrize(
    ("option", "value"), [("sticky_wait_s", -1.0), ("sticky_days", 0.0), ("sticky_days", "x")]
)
def test_bad_sticky_options_name_the_option(option: str, value: object) -> None:
    with pytest.raises(InvalidValue, match=f"QueueConfig.{option}"):
        QueueConfig("q", **{option: value})


def test_a_bad_preferred_agent_names_the_field() -> None:
    with pytest.raises(InvalidValue, match="CallQueued.preferred_agent"):
        CallQueued("c1", "q", "0901", preferred_agent=" ")


def test_a_supervisor_moving_a_held_call_spends_the_preference() -> None:
    acd = sticky_acd(wait_s=30.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b"), 10.0)
    assert offers(acd.handle(MoveCall("c1", priority=3), 11.0)) == [("c1", "a")]


def test_a_call_held_by_its_own_wait_in_a_queue_without_sticky() -> None:
    """A transfer to a named agent (``preferred_wait_s``) holds the call for that agent
    in a queue whose ``sticky_wait_s`` is 0, for its own wait, across a reload."""
    acd = sticky_acd(wait_s=0.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    cmds = acd.handle(
        CallQueued("c1", "q", "0901", preferred_agent="b", preferred_wait_s=20.0), 10.0
    )
    assert offers(cmds) == []  # a is READY, yet the call waits for b
    assert held_for(acd, "c1", 10.0) == "b"
    assert offers(acd.reconfigure(acd.config, 11.0)) == []  # its own wait, not the queue's
    assert acd.next_timer() == 30.0
    assert offers(acd.on_timer(29.5)) == []
    assert offers(acd.on_timer(30.0)) == [("c1", "a")]  # then the queue's agents


def test_a_call_with_its_own_wait_goes_to_the_named_agent_when_ready() -> None:
    acd = sticky_acd(wait_s=0.0)
    acd.handle(AgentPause("b", "break"), 2.0)
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b", preferred_wait_s=20.0), 10.0)
    assert offers(acd.handle(AgentReady("b"), 12.0)) == [("c1", "b")]


def test_a_call_with_its_own_wait_waits_for_a_logged_out_agents_login() -> None:
    # Broke: a restarted controller queues its callers before it logs its agents back in,
    # so a caller transferred to agent b (logged out at that instant) lost its hold
    acd = sticky_acd(wait_s=0.0)
    acd.handle(AgentLogout("b"), 2.0)
    cmds = acd.handle(
        CallQueued("c1", "q", "0901", preferred_agent="b", preferred_wait_s=20.0), 10.0
    )
    assert offers(cmds) == [] and held_for(acd, "c1", 10.0) == "b"  # a is READY
    assert offers(acd.handle(AgentLogin("b", paused="break"), 11.0)) == []
    assert offers(acd.handle(AgentReady("b"), 12.0)) == [("c1", "b")]


def test_a_call_with_its_own_wait_for_an_agent_who_never_logs_in_goes_to_the_queue() -> None:
    acd = sticky_acd(wait_s=0.0)
    acd.handle(AgentLogout("b"), 2.0)
    acd.handle(CallQueued("c1", "q", "0901", preferred_agent="b", preferred_wait_s=20.0), 10.0)
    assert offers(acd.on_timer(30.0)) == [("c1", "a")]


def test_a_bad_preferred_wait_names_the_field() -> None:
    with pytest.raises(InvalidValue, match="CallQueued.preferred_wait_s"):
        CallQueued("c1", "q", "0901", preferred_agent="b", preferred_wait_s=-1.0)


def test_an_offered_agent_logging_out_puts_its_call_back_before_releasing_its_held_ones() -> None:
    # The calls held for an agent were routed before the call it was offered was back
    # in line: the later, held call went to the other agent first (test_acd_properties'
    # RingAllMachine found it).
    acd = sticky_acd(wait_s=30.0)
    assert offers(acd.handle(CallQueued("c1", "q", "0901"), 5.0)) == [("c1", "a")]
    assert offers(acd.handle(CallQueued("c2", "q", "0902", preferred_agent="a"), 6.0)) == []
    assert held_for(acd, "c2", 6.0) == "a"  # b is READY, yet c2 waits for a
    assert offers(acd.handle(AgentLogout("a"), 7.0)) == [("c1", "b")]
    c2 = acd.call("c2", 7.0)
    assert c2 is not None and c2.state is CallState.WAITING and c2.preferred_agent is None
