"""Erlang B and Erlang C (M/M/N, first come first served, nobody abandons), pure.

With ``lambda`` calls per second arriving as a Poisson process, conversations
lasting an exponential time of mean ``h`` seconds (``mu = 1/h``) and ``N``
agents, the offered load is ``A = lambda * h`` Erlangs and:

    Erlang B   B(0, A) = 1,  B(n, A) = A B(n-1, A) / (n + A B(n-1, A))
    Erlang C   C(N, A) = N B(N, A) / (N - A (1 - B(N, A)))         (A < N; 1 if A >= N)
             = (A^N/N! * N/(N-A)) / (sum_{k<N} A^k/k! + A^N/N! * N/(N-A))
    mean wait (ASA)        W = C(N, A) * h / (N - A)
    service level     SL(T) = P(wait <= T) = 1 - C(N, A) * exp(-(N - A) T / h)
    occupancy              A / N

The recursion is the textbook closed form rewritten so that no power or
factorial is computed: each step is a ratio in [0, 1], so it stays exact to a
few ulps at thousands of agents, where ``A^N / N!`` overflows a float past
N = 170 (``math.factorial`` itself does not, but the division does).

``agents_needed`` is the staffing line of the reports: the fewest agents whose
SL(T) reaches the target at the observed arrival rate and handle time. Erlang C
ignores abandons (they lighten the real queue), so it errs on the side of more
agents; that is how call centres use it.
"""

from __future__ import annotations

import math


def _check_load(load_erlangs: float) -> None:
    if not (load_erlangs >= 0.0 and math.isfinite(load_erlangs)):
        raise ValueError(f"load must be a finite number >= 0 Erlangs, not {load_erlangs!r}")


def _check_agents(agents: int) -> None:
    if agents < 0:
        raise ValueError(f"agents must be >= 0, not {agents!r}")


def erlang_b(agents: int, load_erlangs: float) -> float:
    """Blocking probability with ``agents`` servers at ``load_erlangs`` (no queue).

    ``B(0, A) = 1``, ``B(n, A) = A B(n-1, A) / (n + A B(n-1, A))``.
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    b = 1.0
    for n in range(1, agents + 1):
        b = load_erlangs * b / (n + load_erlangs * b)
    return b


def erlang_c(agents: int, load_erlangs: float) -> float:
    """Probability that a caller waits (``C(N, A)``); 1.0 when ``A >= N`` (the queue grows).

    ``C(N, A) = N B(N, A) / (N - A (1 - B(N, A)))`` with Erlang B's recursion.
    With no load nobody waits: 0.0.
    """
    _check_agents(agents)
    _check_load(load_erlangs)
    if load_erlangs == 0.0:
        return 0.0
    if load_erlangs >= agents:
        return 1.0
    b = erlang_b(agents, load_erlangs)
    return agents * b / (agents - load_erlangs * (1.0 - b))


def _rate_and_handle(arrival_per_s: float, handle_s: float) -> float:
    if not (arrival_per_s >= 0.0 and math.isfinite(arrival_per_s)):
        raise ValueError(
            f"arrival rate must be a finite number >= 0 per second, not {arrival_per_s!r}"
        )
    if not (handle_s > 0.0 and math.isfinite(handle_s)):
        raise ValueError(f"handle time must be a finite number > 0 seconds, not {handle_s!r}")
    return arrival_per_s * handle_s


def mean_wait_s(agents: int, arrival_per_s: float, handle_s: float) -> float:
    """Mean wait of all callers (the ASA Erlang C predicts): ``C(N, A) h / (N - A)``.

    ``math.inf`` when ``A >= N`` (no steady state: the queue grows without end).
    """
    load = _rate_and_handle(arrival_per_s, handle_s)
    _check_agents(agents)
    if load >= agents and load > 0.0:
        return math.inf
    if load == 0.0:
        return 0.0
    return erlang_c(agents, load) * handle_s / (agents - load)


def service_level(agents: int, arrival_per_s: float, handle_s: float, threshold_s: float) -> float:
    """Share of callers answered within ``threshold_s``: ``1 - C(N, A) exp(-(N - A) T / h)``.

    0.0 when ``A >= N``; 1.0 with no load.
    """
    load = _rate_and_handle(arrival_per_s, handle_s)
    _check_agents(agents)
    if not (threshold_s >= 0.0 and math.isfinite(threshold_s)):
        raise ValueError(f"threshold must be a finite number >= 0 seconds, not {threshold_s!r}")
    if load == 0.0:
        return 1.0
    if load >= agents:
        return 0.0
    c = erlang_c(agents, load)
    return max(0.0, 1.0 - c * math.exp(-(agents - load) * threshold_s / handle_s))


def agents_needed(arrival_per_s: float, handle_s: float, threshold_s: float, target: float) -> int:
    """The fewest agents whose ``service_level`` reaches ``target`` (a share in (0, 1)).

    0 when no call arrives. Walks N upward from ``floor(A) + 1`` carrying Erlang B
    along (one recursion step per N), so hundreds of agents cost hundreds of steps.
    """
    load = _rate_and_handle(arrival_per_s, handle_s)
    if not (0.0 < target < 1.0):
        raise ValueError(f"target must be a share strictly between 0 and 1, not {target!r}")
    if not (threshold_s >= 0.0 and math.isfinite(threshold_s)):
        raise ValueError(f"threshold must be a finite number >= 0 seconds, not {threshold_s!r}")
    if load == 0.0:
        return 0
    agents = math.floor(load) + 1
    b = erlang_b(agents, load)
    while True:
        c = agents * b / (agents - load * (1.0 - b))
        if 1.0 - c * math.exp(-(agents - load) * threshold_s / handle_s) >= target:
            return agents
        agents += 1
        b = load * b / (agents + load * b)
