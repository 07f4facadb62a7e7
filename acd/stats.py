"""Queue statistics, pure: tallies updated by the core, figures computed on demand.

Counters run from the core's construction; intervals (per 15 minutes, per
day) are the shell's business (it keeps the CallOutcome records).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from .agent import AgentState
from .call import Call
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


class QueueBoard:
    """One queue's live figures, kept up to date by the core at each change.

    Reading them costs O(1) (plus dropping calls that left the oldest-first
    heap), never a scan of every call or agent.
    """

    __slots__ = ("config", "tally", "unanswered", "_oldest", "agents_by_state")

    def __init__(self, config: QueueConfig, members: int) -> None:
        self.config = config
        self.tally = QueueTally()
        #: calls in the queue not yet answered (WAITING or OFFERED), by id
        self.unanswered: dict[str, Call] = {}
        self._oldest: list[tuple[float, int, str]] = []
        #: agents serving this queue, by state
        self.agents_by_state: dict[AgentState, int] = dict.fromkeys(AgentState, 0)
        self.agents_by_state[AgentState.LOGGED_OUT] = members

    def call_in(self, call: Call) -> None:
        self.unanswered[call.call_id] = call
        heapq.heappush(self._oldest, (call.entered_at, call.seq, call.call_id))

    def call_out(self, call: Call) -> None:
        self.unanswered.pop(call.call_id, None)
        if len(self._oldest) > 2 * len(self.unanswered) + 64:  # drop what left
            self._oldest = [e for e in self._oldest if self._live(e)]
            heapq.heapify(self._oldest)

    def _live(self, entry: tuple[float, int, str]) -> bool:
        call = self.unanswered.get(entry[2])
        return call is not None and call.seq == entry[1]

    def longest_wait_s(self, now: float) -> float:
        heap = self._oldest
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        return max(0.0, now - heap[0][0]) if heap else 0.0

    def stats(self, now: float) -> QueueStats:
        tally = self.tally
        return QueueStats(
            queue=self.config.name,
            at=now,
            waiting=len(self.unanswered),
            longest_wait_s=self.longest_wait_s(now),
            offered=tally.offered,
            answered=tally.answered,
            abandoned=tally.abandoned,
            timed_out=tally.timed_out,
            service_level=service_level(tally),
            asa_s=average_speed_of_answer(tally),
            agents_by_state=dict(self.agents_by_state),
        )
