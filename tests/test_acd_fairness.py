"""Each strategy's defining property, and no starvation, over random inputs (hypothesis).

- round-robin (both orders): while the READY set does not change, any run of
  |READY| consecutive offers visits each READY agent once;
- fewest-calls: every offer goes to a READY agent with the fewest answered;
- linear: every offer goes to the first READY agent in configuration order;
- random and weighted-random: over a seeded run, each agent's share of offers
  is within a binomial tolerance of its weight's share;
- auto-pause: each failure kind has its own count, limit and pause reason;
- no starvation: with aging, every caller is offered within a bound the test
  computes from the configuration and the arrivals; without aging, a stream
  of VIPs holds a caller back past that bound (the check can fail).
"""

from __future__ import annotations

import heapq
import math
from typing import Any

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
    AgentState,
    CallEnded,
    CallLeft,
    CallQueued,
    Command,
    OfferAnswered,
    OfferCall,
    OfferFailed,
    OfferFailure,
    QueueConfig,
    Strategy,
)


def make(
    strategy: Strategy, n: int, seed: int = 0, weights: list[int] | None = None, **q: Any
) -> Acd:
    queue = QueueConfig("q", wrap_up_s=0.0, strategy=strategy, **q)
    agents = tuple(
        AgentConfig(
            f"a{i}", f"A{i}", f"PJSIP/{i}", ("q",), weights={"q": weights[i]} if weights else {}
        )
        for i in range(n)
    )
    return Acd(AcdConfig((queue,), agents, seed=seed))


def offered(cmds: list[Command]) -> list[str]:
    return [c.agent_id for c in cmds if isinstance(c, OfferCall)]


ops = st.lists(
    st.one_of(
        st.just(("call", 0)),
        st.just(("call", 0)),
        st.tuples(st.sampled_from(["pause", "ready"]), st.integers(0, 5)),
    ),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    strategy=st.sampled_from([Strategy.ROUND_ROBIN, Strategy.ROUND_ROBIN_ORDERED]),
    n=st.integers(2, 6),
    logins=st.permutations(range(6)),
    script=ops,
)
def test_round_robin_visits_every_ready_agent_before_repeating(
    strategy: Strategy, n: int, logins: list[int], script: list[tuple[str, int]]
) -> None:
    acd = make(strategy, n)
    now = 0.0
    for i in logins:
        if i < n:
            acd.handle(AgentLogin(f"a{i}"), now)
    window: list[str] = []  # offers since the READY set last changed
    calls = 0
    for op, i in script:
        now += 1
        if op == "call":
            ready = {f"a{k}" for k in range(n) if acd.agent(f"a{k}", now).state is AgentState.READY}
            calls += 1
            cmds = acd.handle(CallQueued(f"c{calls}", "q", "1"), now)
            acd.handle(CallLeft(f"c{calls}"), now)  # rang, caller gone: READY again
            if not ready:
                assert offered(cmds) == []
                continue
            [agent] = offered(cmds)
            assert agent in ready
            window.append(agent)
            recent = window[-len(ready) :]
            assert len(set(recent)) == len(recent), (recent, ready)
            if len(recent) == len(ready):
                assert set(recent) == ready
        elif i < n:
            state = acd.agent(f"a{i}", now).state
            if op == "pause" and state is AgentState.READY:
                acd.handle(AgentPause(f"a{i}", "break"), now)
                window = []
            elif op == "ready" and state is AgentState.PAUSED:
                acd.handle(AgentReady(f"a{i}"), now)
                window = []


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(2, 6),
    script=ops,
    strategy=st.sampled_from([Strategy.FEWEST_CALLS, Strategy.LINEAR]),
)
def test_fewest_calls_picks_a_minimum_and_linear_the_first(
    n: int, script: list[tuple[str, int]], strategy: Strategy
) -> None:
    acd = make(strategy, n)
    answered = dict.fromkeys((f"a{k}" for k in range(n)), 0)
    for k in range(n):
        acd.handle(AgentLogin(f"a{k}"), 0)
    now = 0.0
    calls = 0
    for op, i in script:
        now += 1
        if op == "call":
            ready = [f"a{k}" for k in range(n) if acd.agent(f"a{k}", now).state is AgentState.READY]
            calls += 1
            cmds = acd.handle(CallQueued(f"c{calls}", "q", "1"), now)
            if not ready:
                acd.handle(CallLeft(f"c{calls}"), now)
                continue
            [agent] = offered(cmds)
            if strategy is Strategy.FEWEST_CALLS:
                assert answered[agent] == min(answered[a] for a in ready), (agent, answered)
            else:
                assert agent == ready[0]
            acd.handle(OfferAnswered(f"c{calls}", agent), now)
            acd.handle(CallEnded(f"c{calls}"), now + 0.5)
            answered[agent] += 1
        elif i < n:
            state = acd.agent(f"a{i}", now).state
            if op == "pause" and state is AgentState.READY:
                acd.handle(AgentPause(f"a{i}", "break"), now)
            elif op == "ready" and state is AgentState.PAUSED:
                acd.handle(AgentReady(f"a{i}"), now)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(
    ("strategy", "weights"),
    [(Strategy.WEIGHTED_RANDOM, [1, 2, 3, 4, 10]), (Strategy.RANDOM, [1, 1, 1, 1, 1])],
)
def test_random_shares_are_within_a_binomial_tolerance(
    seed: int, strategy: Strategy, weights: list[int]
) -> None:
    """n draws; agent i is drawn with p_i = w_i / sum(w) (1/5 for random): its count is
    Binomial(n, p_i), so |count - n p_i| <= 4.5 sd fails for a right draw with
    probability < 1e-5 per agent (seeded, so the run replays exactly); a draw
    that ignored the weights would miss by ~20 sd at n = 5,000."""
    n = 5_000
    acd = make(strategy, len(weights), seed=seed, weights=weights)
    for k in range(len(weights)):
        acd.handle(AgentLogin(f"a{k}"), 0)
    counts = dict.fromkeys((f"a{k}" for k in range(len(weights))), 0)
    for c in range(n):
        [agent] = offered(acd.handle(CallQueued(f"c{c}", "q", "1"), 1))
        acd.handle(CallLeft(f"c{c}"), 1)
        counts[agent] += 1
    total = sum(weights)
    for k, w in enumerate(weights):
        p = w / total
        sd = math.sqrt(n * p * (1 - p))
        assert abs(counts[f"a{k}"] - n * p) <= 4.5 * sd, (counts, weights)


# -- no starvation --------------------------------------------------------------------------

HANDLE_S = 30.0
AGING = 1 / 16
TOP_PRIORITY = 3


def serve(arrivals: list[tuple[float, int]], agents: int, aging: float) -> dict[int, float]:
    """Run the arrivals through one queue; every offer is answered at once and talks
    HANDLE_S. Returns the wait of each call (by index) until its offer."""
    acd = Acd(
        AcdConfig(
            (QueueConfig("q", wrap_up_s=0.0, aging_per_s=aging),),
            tuple(AgentConfig(f"a{i}", "A", f"PJSIP/{i}", ("q",)) for i in range(agents)),
        )
    )
    for i in range(agents):
        acd.handle(AgentLogin(f"a{i}"), 0)
    events: list[tuple[float, int, str]] = [(t, i, "arrive") for i, (t, _) in enumerate(arrivals)]
    heapq.heapify(events)
    waits: dict[int, float] = {}

    def absorb(cmds: list[Command], now: float) -> None:
        for cmd in cmds:
            if isinstance(cmd, OfferCall):
                index = int(cmd.call_id[1:])
                waits[index] = now - arrivals[index][0]
                acd.handle(OfferAnswered(cmd.call_id, cmd.agent_id), now)
                heapq.heappush(events, (now + HANDLE_S, index, "end"))

    while events:
        now, index, kind = heapq.heappop(events)
        if kind == "arrive":
            absorb(acd.handle(CallQueued(f"c{index}", "q", "1", arrivals[index][1]), now), now)
        else:
            absorb(acd.handle(CallEnded(f"c{index}"), now), now)
    return waits


def starvation_bound(
    arrivals: list[tuple[float, int]], waits: dict[int, float], agents: int, index: int
) -> float:
    """The longest call ``index`` can wait: at most the calls waiting when it came
    and those arriving within TOP_PRIORITY / AGING s after it (only they can be
    more due: a later call overtakes only while p1 - p0 > (t1 - t0) * aging) are
    offered first; every agent is free within HANDLE_S and then takes a call
    every HANDLE_S."""
    t0 = arrivals[index][0]
    waiting = sum(
        1 for j, (t, _) in enumerate(arrivals) if j < index and t + waits[j] > t0
    )  # came before, offered after t0
    window = TOP_PRIORITY / AGING
    later = sum(1 for j, (t, _) in enumerate(arrivals) if j > index and t <= t0 + window)
    return math.ceil((waiting + later + 1) / agents) * HANDLE_S


arrival_lists = st.lists(
    st.tuples(st.sampled_from([0.0, 1.0, 2.0, 5.0, 10.0, 40.0]), st.integers(0, TOP_PRIORITY)),
    min_size=1,
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(gaps=arrival_lists, agents=st.integers(1, 3))
def test_with_aging_every_caller_is_offered_within_the_bound(
    gaps: list[tuple[float, int]], agents: int
) -> None:
    arrivals = []
    t = 0.0
    for gap, priority in gaps:
        t += gap
        arrivals.append((t, priority))
    waits = serve(arrivals, agents, AGING)
    assert sorted(waits) == list(range(len(arrivals)))  # everyone is offered
    for index in range(len(arrivals)):
        assert waits[index] <= starvation_bound(arrivals, waits, agents, index) + 1e-9, index


def test_without_aging_a_vip_stream_holds_a_caller_past_that_bound() -> None:
    # the agent busy from 0, one standard caller at 0.5, then a VIP every 10 s for
    # 20 minutes: they come three times faster than one agent serves them
    arrivals = [(0.0, 0), (0.5, 0)] + [(1.0 + 10 * k, TOP_PRIORITY) for k in range(120)]
    static = serve(arrivals, 1, 0.0)
    aging = serve(arrivals, 1, AGING)
    assert aging[1] <= starvation_bound(arrivals, aging, 1, 1) == 180.0
    assert static[1] > starvation_bound(arrivals, static, 1, 1)
    assert static[1] >= 120 * HANDLE_S  # served only once every VIP was


# -- auto-pause per failure kind -------------------------------------------------------------

REASONS = {
    OfferFailure.NO_ANSWER: "ring-no-answer",
    OfferFailure.NO_REPORT: "ring-no-answer",
    OfferFailure.BUSY: "device-busy",
    OfferFailure.UNREACHABLE: "device-unreachable",
    OfferFailure.FAILED: "offer-failed",
}


@settings(max_examples=200, deadline=None)
@given(
    failures=st.lists(st.sampled_from(list(OfferFailure)), min_size=1, max_size=12),
    limits=st.fixed_dictionaries(
        {k: st.integers(0, 4) for k in ("no-answer", "busy", "unreachable", "failed")}
    ),
)
def test_auto_pause_counts_each_failure_kind_apart(
    failures: list[OfferFailure], limits: dict[str, int]
) -> None:
    acd = Acd(
        AcdConfig(
            (QueueConfig("q"),),
            (AgentConfig("a1", "A", "PJSIP/1", ("q",)),),
            pause_after=limits,  # type: ignore[arg-type]
        )
    )
    acd.handle(AgentLogin("a1"), 0)
    counts: dict[str, int] = {}
    for n, failure in enumerate(failures):
        kind = "no-answer" if failure is OfferFailure.NO_REPORT else failure.value
        acd.handle(CallQueued(f"c{n}", "q", "1"), n)
        acd.handle(OfferFailed(f"c{n}", "a1", failure), n + 0.5)
        counts[kind] = counts.get(kind, 0) + 1
        view = acd.agent("a1", n + 0.5)
        if limits[kind] and counts[kind] >= limits[kind]:
            assert (view.state, view.reason) == (AgentState.PAUSED, REASONS[failure])
            return
        assert view.state is AgentState.OFFERED  # the only agent: offered it again
        acd.handle(CallLeft(f"c{n}"), n + 0.6)
