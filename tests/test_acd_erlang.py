"""The pure ACD core against Erlang C (M/M/N, first come first served).

Calls arrive as a Poisson process (rate lambda), every offer is answered at
once, conversations last an exponential time (mean 1/mu), wrap-up is 0 and
nobody abandons: exactly the M/M/N queue whose waits Erlang C gives. The
clock is the test's (a seeded event list), the core decides who talks when.

Erlang C, with A = lambda/mu and N agents (``acd.erlang``, which computes it
through Erlang B's recursion; the closed form below is checked against it here):
    P(wait) = C(N, A) = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A))
    mean wait = C(N, A) / (N mu - lambda)
    service level SL(T) = P(wait <= T) = 1 - C(N, A) * exp(-(N mu - lambda) T)

Tolerance: the waits of successive callers are correlated, so the test cuts
each run (after a warm-up) into batches of 2,800 calls (about 17 simulated
hours, far longer than the queue's memory) and takes the batch means of four
seeded runs as nearly independent samples (the batch-means method); it
asserts that Erlang C lies within 4 standard errors of the measured mean. A
correct core misses that by chance with probability about 6e-5 (and the runs
are seeded, so they replay), while the standard errors stay under 25 % of the
mean wait and 5 % of the service level, so a real error is caught.
The service level is the sharper check: the mean wait is the same under any
work-conserving order (LIFO too), but the share answered within T is not.
"""

from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable
from fractions import Fraction

import pytest

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    CallConnected,
    CallEnded,
    CallQueued,
    Command,
    OfferAnswered,
    OfferCall,
    QueueConfig,
    erlang,
)


def simulate(agents: int, load: float, mean_handle_s: float, calls: int, seed: int) -> list[float]:
    """The wait of each call, in arrival order, routed by the core."""
    rng = random.Random(seed)
    mu = 1 / mean_handle_s
    lam = load * mu
    acd = Acd(
        AcdConfig(
            (QueueConfig("q", wrap_up_s=0.0, hold_slice_s=3600.0),),
            tuple(AgentConfig(f"a{i}", "A", f"PJSIP/{i}", ("q",)) for i in range(agents)),
        )
    )
    for i in range(agents):
        acd.handle(AgentLogin(f"a{i}"), 0.0)
    waits: list[float | None] = [None] * calls
    events: list[tuple[float, int, int]] = []  # (time, kind 0 arrive / 1 end, call)
    t = 0.0
    for index in range(calls):
        t += rng.expovariate(lam)
        events.append((t, 0, index))
    handle_s = [rng.expovariate(mu) for _ in range(calls)]
    heapq.heapify(events)

    def absorb(cmds: list[Command], now: float) -> None:
        for cmd in cmds:
            if isinstance(cmd, OfferCall):
                index = int(cmd.call_id[1:])
                for done in acd.handle(OfferAnswered(cmd.call_id, cmd.agent_id), now):
                    if isinstance(done, CallConnected):
                        waits[index] = done.wait_s
                heapq.heappush(events, (now + handle_s[index], 1, index))

    while events:
        now, kind, index = heapq.heappop(events)
        deadline = acd.next_timer()
        if deadline is not None and deadline <= now:
            absorb(acd.on_timer(now), now)
        if kind == 0:
            absorb(acd.handle(CallQueued(f"c{index}", "q", "1"), now), now)
        else:
            absorb(acd.handle(CallEnded(f"c{index}"), now), now)
    assert all(w is not None for w in waits)
    return [w for w in waits if w is not None]


def batch_values(values: list[float], batches: int) -> list[float]:
    """The means of ``batches`` consecutive equal slices of ``values``."""
    size = len(values) // batches
    return [statistics.fmean(values[b * size : (b + 1) * size]) for b in range(batches)]


@pytest.mark.parametrize(
    ("agents", "load", "threshold_s"),
    [(10, 8.0, 20.0), (3, 2.4, 60.0)],  # 80 % occupancy, a large and a small team
)
def test_service_level_and_mean_wait_agree_with_erlang_c(
    agents: int, load: float, threshold_s: float
) -> None:
    mean_handle_s = 180.0
    # four seeded runs of 30,000 calls, each without its first 2,000 (warm-up),
    # each cut into 10 batches: 40 batch means
    runs = [simulate(agents, load, mean_handle_s, 30_000, seed)[2_000:] for seed in (1, 2, 3, 4)]
    mu = 1 / mean_handle_s
    p_wait = erlang.erlang_c(agents, load)
    expected_wait = erlang.mean_wait_s(agents, load * mu, mean_handle_s)
    expected_sl = erlang.service_level(agents, load * mu, mean_handle_s, threshold_s)

    def pooled(f: Callable[[float], float]) -> tuple[float, float]:
        means = [m for run in runs for m in batch_values([f(w) for w in run], 10)]
        return statistics.fmean(means), statistics.stdev(means) / math.sqrt(len(means))

    mean_wait, se_wait = pooled(lambda w: w)
    sl, se_sl = pooled(lambda w: 1.0 if w <= threshold_s else 0.0)
    p, se_p = pooled(lambda w: 1.0 if w > 0 else 0.0)

    assert abs(mean_wait - expected_wait) <= 4 * se_wait, (mean_wait, expected_wait, se_wait)
    assert abs(sl - expected_sl) <= 4 * se_sl, (sl, expected_sl, se_sl)
    assert abs(p - p_wait) <= 4 * se_p, (p, p_wait, se_p)
    # and the tolerance is tight enough to mean something
    assert 4 * se_wait < 0.25 * expected_wait
    assert 4 * se_sl < 0.05 * expected_sl


def closed_form_erlang_c(agents: int, load: Fraction) -> Fraction:
    """The docstring's closed form in exact rational arithmetic (no float anywhere)."""
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    return top / (sum(load**k / math.factorial(k) for k in range(agents)) + top)


def test_erlang_c_formula_on_a_textbook_case() -> None:
    # 10 agents, 8 Erlangs: P(wait) = 0.4092 (published Erlang C tables)
    assert erlang.erlang_c(10, 8.0) == pytest.approx(0.4092, abs=5e-4)


def test_erlang_b_on_a_published_table_value() -> None:
    # Erlang B tables: 10 trunks at 5 Erlangs block 1.84 % of calls
    assert erlang.erlang_b(10, 5.0) == pytest.approx(0.0184, abs=5e-5)
    assert erlang.erlang_b(0, 3.0) == 1.0


def test_the_worked_example_of_the_staffing_literature() -> None:
    # The worked example reproduced by Erlang C calculators (Westbay's and others):
    # 360 calls per half hour, 4 minutes each (A = 48 Erlangs), 55 agents, 15 s:
    # occupancy 87.3 %, P(wait) 23.9 %, ASA 8.2 s, service level 84.6 %
    rate, handle = 360 / 1800, 240.0
    assert erlang.erlang_c(55, 48.0) == pytest.approx(0.2387, abs=5e-4)
    assert erlang.mean_wait_s(55, rate, handle) == pytest.approx(8.18, abs=0.01)
    assert erlang.service_level(55, rate, handle, 15.0) == pytest.approx(0.846, abs=5e-4)
    # 80 % in 15 s needs the 55 (54 give less); 80 % in 20 s is reached with 54
    assert erlang.service_level(54, rate, handle, 15.0) < 0.8
    assert erlang.agents_needed(rate, handle, 15.0, 0.8) == 55
    assert erlang.agents_needed(rate, handle, 20.0, 0.8) == 54


@pytest.mark.parametrize(("agents", "load"), [(1, 0.5), (3, 2.4), (10, 8), (55, 48), (300, 290)])
def test_the_recursion_equals_the_closed_form(agents: int, load: float) -> None:
    exact = closed_form_erlang_c(agents, Fraction(load))
    assert erlang.erlang_c(agents, float(load)) == pytest.approx(float(exact), rel=1e-12)


def test_hundreds_of_agents_stay_finite_and_monotone() -> None:
    # the closed form in floats overflows past 170 agents (A^N/N!); the recursion does not
    values = [erlang.erlang_c(n, 950.0) for n in range(951, 1200)]
    assert all(0.0 < v <= 1.0 for v in values)
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    needed = erlang.agents_needed(10.0, 95.0, 20.0, 0.9)  # 950 Erlangs
    assert erlang.service_level(needed, 10.0, 95.0, 20.0) >= 0.9
    assert erlang.service_level(needed - 1, 10.0, 95.0, 20.0) < 0.9


def test_edges_no_load_and_overload() -> None:
    assert erlang.erlang_c(5, 0.0) == 0.0
    assert erlang.agents_needed(0.0, 180.0, 20.0, 0.8) == 0
    assert erlang.erlang_c(5, 5.0) == 1.0
    assert erlang.mean_wait_s(5, 5 / 180, 180.0) == math.inf
    assert erlang.service_level(5, 5 / 180, 180.0, 20.0) == 0.0
    assert erlang.service_level(5, 0.0, 180.0, 20.0) == 1.0


@pytest.mark.parametrize(
    "call",
    [
        lambda: erlang.erlang_c(-1, 1.0),
        lambda: erlang.erlang_b(3, -0.5),
        lambda: erlang.erlang_c(3, math.nan),
        lambda: erlang.mean_wait_s(3, 0.01, 0.0),
        lambda: erlang.service_level(3, 0.01, 100.0, -1.0),
        lambda: erlang.agents_needed(0.01, 100.0, 20.0, 1.0),
        lambda: erlang.agents_needed(-0.01, 100.0, 20.0, 0.8),
    ],
)
def test_bad_input_is_refused_by_name(call: Callable[[], float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        call()
