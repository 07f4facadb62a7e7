"""Queue statistics, pure: tallies updated by the core, figures computed on demand.

Counters run from the core's construction; intervals (per 15 minutes, per
day) are the shell's business (it keeps the CallOutcome records).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import kpis
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
    #: abandoned with wait < short_abandon_s (``acd.kpis``: short abandons)
    short_abandoned: int = 0
    #: calls that reached max_wait_s
    timed_out: int = 0
    #: calls the PBX lost before an answer
    lost: int = 0


@dataclass(frozen=True, slots=True)
class QueueStats:
    """Figures of one queue at ``at``.

    ``service_level`` and ``asa_s`` are ``acd.kpis``' (defined there once, see
    ``docs/kpis.md``): calls answered within ``sl_threshold_s`` over the calls that
    left the queue (answered, abandoned, timed out, lost) less the short abandons
    (hung up before ``short_abandon_s``); the mean wait of answered calls. None when
    the denominator is 0. ``offered`` counts every call that entered the queue, the
    ones still waiting too.
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
    """``acd.kpis.service_level`` of the calls that left the queue so far."""
    left = tally.answered + tally.abandoned + tally.timed_out + tally.lost
    return kpis.service_level(tally.answered_in_sl, left, tally.short_abandoned)


def average_speed_of_answer(tally: QueueTally) -> float | None:
    """``acd.kpis.average_speed_of_answer``: mean wait of answered calls."""
    return kpis.average_speed_of_answer(tally.answer_wait_total, tally.answered)


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
