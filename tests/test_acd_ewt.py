"""The estimated wait (acd.ewt) on worked examples, through the core's snapshot."""

from __future__ import annotations

import math

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentPause,
    CallEnded,
    CallQueued,
    OfferAnswered,
    OfferCall,
    QueueConfig,
)
from acd.agent import Agent, AgentState
from acd.ewt import HandleTimes, queue_waits


def make(agents: int, wrap_up_s: float = 0.0) -> Acd:
    core = Acd(
        AcdConfig(
            (QueueConfig("q", wrap_up_s=wrap_up_s, hold_slice_s=3600.0),),
            tuple(AgentConfig(f"a{i}", "A", f"PJSIP/{i}", ("q",)) for i in range(agents)),
        )
    )
    for i in range(agents):
        core.handle(AgentLogin(f"a{i}"), 0.0)
    return core


def tick(core: Acd, now: float) -> None:
    """Fire the core's deadlines up to ``now`` (wrap-ups ending)."""
    while (deadline := core.next_timer()) is not None and deadline <= now:
        core.on_timer(deadline)


def answer(core: Acd, call_id: str, now: float) -> str:
    tick(core, now)
    [offer] = [
        c for c in core.handle(CallQueued(call_id, "q", "1"), now) if isinstance(c, OfferCall)
    ]
    core.handle(OfferAnswered(call_id, offer.agent_id), now)
    return offer.agent_id


def test_no_estimate_before_any_talk_time_was_observed() -> None:
    core = make(1)
    answer(core, "c0", 0.0)
    core.handle(CallQueued("c1", "q", "1"), 1.0)
    view = core.call("c1", 2.0)
    assert view is not None and view.ewt_s is None and view.position == 1
    assert core.queue_stats("q", 2.0).ewt_s is None


def test_position_k_waits_for_k_agents_to_come_free() -> None:
    # two agents; talk times observed: 100 s each (so the residual of a call that has
    # talked e seconds is 100 - e); wrap-up 10 s
    core = make(2, wrap_up_s=10.0)
    for n, start in enumerate((0.0, 200.0)):
        answer(core, f"w{n}a", start)
        answer(core, f"w{n}b", start)
        core.handle(CallEnded(f"w{n}a"), start + 100.0)
        core.handle(CallEnded(f"w{n}b"), start + 100.0)
    # at 400: a1 talks since 400, a0 since 430; three callers wait
    answer(core, "t1", 400.0)
    answer(core, "t2", 430.0)
    for n, at in enumerate((431.0, 432.0, 433.0)):
        core.handle(CallQueued(f"x{n}", "q", "1"), at)
    now = 440.0
    snap = core.snapshot(now)
    views = {c.call_id: c for c in snap.calls}
    # a1 has talked 40 s, a0 10 s: they come free at 440 + 60 + 10 = 510 and
    # 440 + 90 + 10 = 540 (70 and 100 s from now). Talk times without variance:
    # renewals come (x - 55)+ / 110 after (c = -1/2, lag = 55 s), so past both
    # D(w) = 2 + (2w - 280) / 110: position 3 at 195 s, a caller joining at 250 s
    assert views["x0"].ewt_s == pytest.approx(70.0, abs=0.1)
    assert views["x1"].ewt_s == pytest.approx(100.0, abs=0.1)
    assert views["x2"].ewt_s == pytest.approx(195.0, abs=0.1)
    assert [views[f"x{n}"].ahead for n in range(3)] == [0, 1, 2]
    [q] = snap.queues
    assert q.ewt_s == pytest.approx(250.0, abs=0.1)
    assert (q.talk_s, q.talk_samples, q.handle_s, q.serving_agents) == (100.0, 4, 110.0, 2)
    assert core.call("x1", now) == views["x1"]
    assert core.queue_stats("q", now) == q


def test_paused_agents_do_not_serve_and_none_serving_means_no_estimate() -> None:
    core = make(2)
    answer(core, "w", 0.0)
    core.handle(CallEnded("w"), 50.0)
    core.handle(AgentPause("a0", "lunch"), 60.0)
    core.handle(AgentPause("a1", "lunch"), 60.0)
    core.handle(CallQueued("c", "q", "1"), 61.0)
    view = core.call("c", 62.0)
    assert view is not None and view.ewt_s is None and view.position == 1


def test_a_ready_agent_means_no_wait_for_a_caller_joining_an_empty_queue() -> None:
    core = make(1)
    answer(core, "w", 0.0)
    core.handle(CallEnded("w"), 30.0)
    stats = core.queue_stats("q", 40.0)
    assert stats.ewt_s == 0.0 and stats.serving_agents == 1


def test_exponential_talk_times_give_erlang_cs_conditional_wait() -> None:
    # M/M/N: the k-th in line waits k h / N on average, whatever the agents have
    # talked. Talk times with the exponential's spread (mean = deviation = 100 s)
    # and no wrap-up: c = 0, D(w) = P(F <= w) + E[(w - F)+] / h per agent
    times = HandleTimes()
    for q in range(1, 200):
        times.add(-100.0 * math.log(1 - q / 200))  # exponential quantiles, mean ~100
    agents = [Agent.__new__(Agent) for _ in range(4)]
    for n, agent in enumerate(agents):
        agent.state, agent.since = AgentState.ON_CALL, -10.0 * n
    waits = queue_waits(6, agents, times, 0.0, 0.0)
    assert waits is not None
    h = waits.handle_s
    for k, wait in enumerate(waits.waits, start=1):
        assert wait == pytest.approx(k * h / 4, rel=0.15), k


def test_residual_talk_time_reads_the_observed_distribution() -> None:
    times = HandleTimes()
    for talk in (10.0, 20.0, 60.0):
        times.add(talk)
    assert times.mean() == pytest.approx(30.0)
    assert times.residual(0.0) == pytest.approx(30.0)
    assert times.residual(15.0) == pytest.approx(25.0)  # (20 + 60) / 2 - 15
    assert times.residual(59.0) == pytest.approx(1.0)
    assert times.residual(61.0) == 0.0
