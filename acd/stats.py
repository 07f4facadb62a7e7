"""Queue statistics, pure: tallies updated by the core, figures computed on demand.

Counters run from the core's construction; intervals (per 15 minutes, per
day) are the shell's business (it keeps the CallOutcome records).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .agent import AgentState
from .call import UNANSWERED, Call
from .config import QueueConfig
from .ewt import HandleTimes, QueueWaits


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
    #: the estimated wait of a caller joining now (``acd.ewt``), None: no estimate
    #: (no talk time observed yet, or no agent to serve the queue)
    ewt_s: float | None = None
    #: its inputs: the mean observed talk time, over how many answered calls, the
    #: handle time (talk + wrap-up) and the agents counted as serving the line
    talk_s: float | None = None
    talk_samples: int = 0
    handle_s: float | None = None
    serving_agents: int = 0


def service_level(tally: QueueTally) -> float | None:
    """``answered_in_sl / (answered + abandoned_after_sl)``, None if nothing counts."""
    denominator = tally.answered + tally.abandoned_after_sl
    return tally.answered_in_sl / denominator if denominator else None


def average_speed_of_answer(tally: QueueTally) -> float | None:
    """Mean wait of answered calls, None if none was answered."""
    return tally.answer_wait_total / tally.answered if tally.answered else None


class QueueBoard:
    """One queue's live figures: its tallies, kept up to date by the core at each change,
    and its agents by state (``acd.board``).

    How many of its calls wait and the longest wait are read from the queue's own
    calls when asked (O(calls in the queue), never a scan of every call or agent):
    a call entering, answered or gone costs the board nothing but its tallies.
    """

    __slots__ = ("config", "tally", "calls", "agents_by_state", "handle")

    def __init__(self, config: QueueConfig, members: int, calls: dict[str, Call]) -> None:
        self.config = config
        self.tally = QueueTally()
        #: the queue's calls, any state (``Queue.calls``: the core adds and deletes them)
        self.calls = calls
        #: agents serving this queue, by state
        self.agents_by_state: dict[AgentState, int] = dict.fromkeys(AgentState, 0)
        self.agents_by_state[AgentState.LOGGED_OUT] = members
        #: the talk times of its last answered calls (the core adds each one)
        self.handle = HandleTimes()

    def unanswered(self) -> list[Call]:
        """The calls in the queue not yet answered (WAITING or OFFERED)."""
        return [c for c in self.calls.values() if c.state in UNANSWERED]

    def stats(
        self, now: float, unanswered: list[Call] | None = None, waits: QueueWaits | None = None
    ) -> QueueStats:
        """The figures at ``now``; ``unanswered``: ``self.unanswered()``, if at hand;
        ``waits``: the queue's estimates (``acd.ewt``), if any."""
        tally = self.tally
        if unanswered is None:
            unanswered = self.unanswered()
        oldest = min((c.entered_at for c in unanswered), default=None)
        return QueueStats(
            queue=self.config.name,
            at=now,
            waiting=len(unanswered),
            longest_wait_s=0.0 if oldest is None else max(0.0, now - oldest),
            offered=tally.offered,
            answered=tally.answered,
            abandoned=tally.abandoned,
            timed_out=tally.timed_out,
            service_level=service_level(tally),
            asa_s=average_speed_of_answer(tally),
            agents_by_state=dict(self.agents_by_state),
            ewt_s=None if waits is None else waits.waits[-1],
            talk_s=None if waits is None else waits.talk_s,
            talk_samples=len(self.handle.talk),
            handle_s=None if waits is None else waits.handle_s,
            serving_agents=0 if waits is None else waits.serving,
        )
