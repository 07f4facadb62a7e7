"""Live configuration: ``Acd.reconfigure`` takes new queues, strategies, skills and
rules without a restart; callers already waiting keep their place under the new rules."""

from __future__ import annotations

from typing import Any

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentState,
    CallLeft,
    CallOutcome,
    CallQueued,
    Command,
    InvalidValue,
    OfferAnswered,
    OfferCall,
    Outcome,
    QueueConfig,
    RelaxStep,
    Strategy,
)


def config(
    queue: QueueConfig, *more: QueueConfig, agents: dict[str, Any] | None = None
) -> AcdConfig:
    agents = agents if agents is not None else {"a1": {}, "a2": {}, "a3": {}}
    return AcdConfig(
        (queue, *more),
        tuple(
            AgentConfig(
                a, a, f"PJSIP/{a}", spec.get("queues", (queue.name,)), spec.get("skills", {})
            )
            for a, spec in agents.items()
        ),
    )


def offers(cmds: list[Command]) -> list[tuple[str, str]]:
    return [(c.call_id, c.agent_id) for c in cmds if isinstance(c, OfferCall)]


def test_a_new_strategy_applies_to_the_next_offer() -> None:
    acd = Acd(config(QueueConfig("q", wrap_up_s=0.0)))
    for t, a in enumerate(("a3", "a2", "a1")):
        acd.handle(AgentLogin(a), t)
    assert offers(acd.handle(CallQueued("c1", "q", "1"), 10)) == [("c1", "a3")]  # longest idle
    acd.handle(CallLeft("c1"), 10)
    acd.reconfigure(config(QueueConfig("q", wrap_up_s=0.0, strategy=Strategy.LINEAR)), 11)
    assert offers(acd.handle(CallQueued("c2", "q", "1"), 12)) == [("c2", "a1")]  # first in order
    assert acd.agent("a3", 12).state is AgentState.READY


def test_waiting_callers_keep_their_place_under_the_new_aging() -> None:
    acd = Acd(config(QueueConfig("q", aging_per_s=0.0)))
    acd.handle(CallQueued("std", "q", "1", priority=0), 0)
    acd.handle(CallQueued("vip", "q", "2", priority=1), 100)
    assert acd.call("vip", 101).position == 1  # type: ignore[union-attr]
    assert acd.reconfigure(config(QueueConfig("q", aging_per_s=1 / 60)), 101) == []
    # std waited 101 s: 101/60 > vip's 1 + 1/60
    assert [acd.call(c, 101).position for c in ("std", "vip")] == [1, 2]  # type: ignore[union-attr]
    assert acd.call("std", 101).wait_s == 101  # type: ignore[union-attr]
    assert offers(acd.handle(AgentLogin("a1"), 102)) == [("std", "a1")]


def test_relaxed_skills_offer_a_waiting_call_at_once_and_own_skills_are_kept() -> None:
    agents = {"a1": {"skills": {"fr": 2}}}
    strict = QueueConfig("q", skills={"fr": 4})
    acd = Acd(config(strict, agents=agents))
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("mine", "q", "1", skills={"de": 1}), 1)
    acd.handle(CallQueued("queue", "q", "2"), 2)
    assert offers(
        acd.reconfigure(config(QueueConfig("q", skills={"fr": 2}), agents=agents), 3)
    ) == [("queue", "a1")]
    acd.handle(OfferAnswered("queue", "a1"), 3)
    later = QueueConfig("q", relax=(RelaxStep(5.0, 5),))
    # "mine" waited 9 s: the new relax step (any agent from 5 s) is reached at once
    assert acd.reconfigure(config(later, agents={**agents, "a2": {}}), 10) == []
    assert offers(acd.handle(AgentLogin("a2"), 11)) == [("mine", "a2")]


def test_a_shorter_max_wait_times_out_callers_already_past_it() -> None:
    acd = Acd(config(QueueConfig("q")))
    acd.handle(CallQueued("old", "q", "1"), 0)
    acd.handle(CallQueued("new", "q", "1"), 50)
    cmds = acd.reconfigure(config(QueueConfig("q", max_wait_s=30.0)), 60)
    assert [(c.call_id, c.outcome) for c in cmds if isinstance(c, CallOutcome)] == [
        ("old", Outcome.TIMEOUT)
    ]
    assert acd.next_timer() == 80.0


def test_queues_and_agents_can_be_added_and_counts_follow() -> None:
    acd = Acd(config(QueueConfig("q")))
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "q", "1"), 1)
    acd.handle(OfferAnswered("c1", "a1"), 2)
    bigger = config(
        QueueConfig("q"),
        QueueConfig("sales"),
        agents={"a1": {"queues": ("q", "sales")}, "a2": {}, "a3": {}, "a4": {"queues": ("sales",)}},
    )
    acd.reconfigure(bigger, 3)
    stats = acd.queue_stats("sales", 3)
    assert stats.agents_by_state[AgentState.ON_CALL] == 1
    assert stats.agents_by_state[AgentState.LOGGED_OUT] == 1
    assert acd.queue_stats("q", 3).answered == 1  # tallies carried over
    acd.handle(AgentLogin("a4"), 4)
    assert offers(acd.handle(CallQueued("s1", "sales", "1"), 5)) == [("s1", "a4")]


@pytest.mark.parametrize("drop", ["queue", "agent"])
def test_dropping_a_busy_queue_or_a_logged_in_agent_is_refused_and_changes_nothing(
    drop: str,
) -> None:
    acd = Acd(config(QueueConfig("q"), QueueConfig("other")))
    acd.handle(AgentLogin("a1"), 0)
    acd.handle(CallQueued("c1", "q", "1"), 1)
    before = acd.snapshot(2)
    if drop == "queue":
        smaller = config(QueueConfig("other"), agents={"a1": {"queues": ("other",)}})
        match = "'q', which still holds call 'c1'"
    else:
        smaller = config(QueueConfig("q"), QueueConfig("other"), agents={"a2": {}})
        match = "drops 'a1', which is OFFERED"
    with pytest.raises(InvalidValue, match=match):
        acd.reconfigure(smaller, 2)
    assert acd.snapshot(2) == before
    assert acd.config is not smaller
