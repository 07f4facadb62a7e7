"""Longest-idle routing: which waiting call goes to which READY agent.

The line is ordered by priority (higher first), then ``entered_at`` (earlier
first), then arrival order in the core. Each call in that order goes to the
eligible READY agent idle the longest (``idle_since``, then configuration
order). An agent is eligible if it serves the call's queue and is not the
call's ``last_agent`` (whose offer of this call just failed) -- unless that
agent is the only eligible READY one, in which case it is offered again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .agent import Agent
from .call import Call


def line_key(call: Call) -> tuple[int, float, int]:
    """Sort key of the line: priority first, then wait time, then arrival."""
    return (-call.priority, call.entered_at, call.seq)


def idle_key(agent: Agent) -> tuple[float, int]:
    """Sort key of READY agents: idle the longest first."""
    idle = agent.idle_since if agent.idle_since is not None else math.inf
    return (idle, agent.order)


def longest_idle_matches(
    waiting: Iterable[Call], ready: Iterable[Agent]
) -> list[tuple[Call, Agent]]:
    """Pair waiting calls with READY agents; each appears in at most one pair."""
    free = sorted(ready, key=idle_key)
    pairs: list[tuple[Call, Agent]] = []
    starved: set[str] = set()  # queues with no eligible READY agent left
    for call in sorted(waiting, key=line_key):
        if not free:
            break
        if call.queue in starved:
            continue
        index = _pick(call, free)
        if index is None:
            starved.add(call.queue)
            continue
        pairs.append((call, free.pop(index)))
    return pairs


def _pick(call: Call, free: list[Agent]) -> int | None:
    fallback = None
    for index, agent in enumerate(free):
        if call.queue in agent.config.queues:
            if agent.agent_id != call.last_agent:
                return index
            fallback = index
    return fallback
