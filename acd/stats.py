"""Queue statistics, pure: tallies updated by the core, figures computed on demand.

Counters run from the core's construction; intervals (per 15 minutes, per
day) are the shell's business (it keeps the CallOutcome records).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .agent import Agent, AgentState
from .call import UNANSWERED, Call
from .config import QueueConfig


@dataclass(slots=True)
class QueueTally:
    """Running counts of one queue (mutable, owned by the core)."""

    #: calls that entered the queue
    offered: int = 0
    #: calls answered by an agent (counted at answer time)
    answered: int = 0
    #: answered with wait <= sl_threshold_s
    answered_in_sl: int = 0
    answer_wait_total: float = 0.0
    #: callers who left before an answer
    abandoned: int = 0
    #: abandoned with wait > sl_threshold_s
    abandoned_after_sl: int = 0
    #: calls that reached max_wait_s
    timed_out: int = 0


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Figures of one queue at ``at``.

    ``service_level = answered_in_sl / (answered + abandoned_after_sl)``, where
    ``answered_in_sl`` counts calls answered with a wait <= ``sl_threshold_s``
    and ``abandoned_after_sl`` counts callers who hung up after waiting
    > ``sl_threshold_s`` (abandons within the threshold count neither way;
    timed-out calls are not counted). None when the denominator is 0.

    ``asa_s`` (average speed of answer) is the mean wait of answered calls;
    None when no call was answered.
    """

    queue: str
    at: float
    #: calls in the queue not yet answered (WAITING or OFFERED)
    waiting: int
    #: the longest current wait among them (0.0 if none)
    longest_wait_s: float
    #: calls that entered the queue
    offered: int
    answered: int
    abandoned: int
    timed_out: int
    service_level: float | None
    asa_s: float | None
    #: agents serving this queue, by state (every state present)
    agents_by_state: dict[AgentState, int] = field(default_factory=dict)


def service_level(tally: QueueTally) -> float | None:
    """``answered_in_sl / (answered + abandoned_after_sl)``, None if nothing counts."""
    denominator = tally.answered + tally.abandoned_after_sl
    return tally.answered_in_sl / denominator if denominator else None


def average_speed_of_answer(tally: QueueTally) -> float | None:
    """Mean wait of answered calls, None if none was answered."""
    return tally.answer_wait_total / tally.answered if tally.answered else None


def queue_stats(
    queue: QueueConfig,
    tally: QueueTally,
    calls: Iterable[Call],
    agents: Iterable[Agent],
    now: float,
) -> QueueStats:
    """Figures of ``queue`` at ``now`` from its tally and the live calls and agents."""
    name = queue.name
    unanswered = [c for c in calls if c.queue == name and c.state in UNANSWERED]
    by_state = dict.fromkeys(AgentState, 0)
    for agent in agents:
        if name in agent.config.queues:
            by_state[agent.state] += 1
    return QueueStats(
        queue=name,
        at=now,
        waiting=len(unanswered),
        longest_wait_s=max((max(0.0, now - c.entered_at) for c in unanswered), default=0.0),
        offered=tally.offered,
        answered=tally.answered,
        abandoned=tally.abandoned,
        timed_out=tally.timed_out,
        service_level=service_level(tally),
        asa_s=average_speed_of_answer(tally),
        agents_by_state=by_state,
    )
