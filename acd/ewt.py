"""Estimated wait (EWT) of each caller in a queue's line, pure and explainable.

Rules:
1. A queue observes its handle time: each answered call's talk time goes into
   ``HandleTimes`` (the last ``HANDLE_SAMPLES`` calls; one append when a
   conversation ends, nothing else on the hot path). Everything below runs
   when a figure is read.
2. The caller ``k``-th in line among the WAITING calls (the line's order:
   effective priority, then entry) is served at the ``k``-th moment an agent
   of the queue comes free. Each agent comes free first at ``F``: one talking
   at ``now`` + the rest of its call + the queue's wrap-up, the rest of a call
   that has talked ``e`` seconds being drawn from the observed talk times
   longer than ``e`` (less ``e``); one in wrap-up at its end; one ringing
   after a whole observed talk time + wrap-up; a READY agent at ``now``,
   unless calls wait (then it fits none of them: skills or a retry delay).
   After ``F`` it takes the next caller and comes free again every handle time
   ``h`` (mean talk + wrap-up).
3. The expected number of agents come free by ``now + w`` is ``D(w)``, the
   sum over agents of ``P(F <= w)`` and the renewals after ``F``: by renewal
   theory ``x / h + c`` for ``x`` seconds after it, ``c = (var/h^2 - 1) / 2``
   (``var``: the talk times' variance; regular calls: ``c`` near -1/2, their
   renewals come in steps; exponential ones: ``c`` near 0), taken as
   ``(x + c h)+ / h`` when ``c < 0``. ``D`` is read exactly off the sorted
   talk times (prefix sums, a bisection each); the estimate for position ``k``
   is the ``w`` where ``D(w)`` reaches ``k``: bracketed between ``GRID``
   instants up to the horizon (every agent has surely come free once by
   then) and found by ``HALVINGS`` bisections, in closed form past it (``D``
   is linear there). With exponential talk times and no wrap-up ``D(w)
   = N w / h`` and the estimate is ``k h / N``: Erlang C's conditional wait
   given the caller's position (M/M/N), which this generalises to the talk
   times the queue shows.
4. No estimate (None) while the queue has no observed talk time or no agent
   able to serve it (all paused or logged out).
5. Not modelled: callers who abandon ahead (the estimate errs long), a later
   caller of higher effective priority (it errs short), agents of several
   queues taking another queue's caller. ``bench/ewt_accuracy.py`` measures
   the error against app_queue's figure.
6. Cost, per queue read: O(agents serving) to list them, then ``D`` reads at
   most ``SAMPLE`` of them (evenly spread by how soon each comes free, each
   standing for its share of the rest) at no more than ``GRID`` +
   ``HALVINGS`` x (positions before the horizon) instants: bounded however
   large the queue; a READY agent with nobody waiting is one read.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from .agent import Agent, AgentState

#: how many of a queue's last talk times the estimate reads
HANDLE_SAMPLES = 200
#: instants at which ``D`` is computed up to the horizon, and the halvings of the
#: span between two of them that find a position's instant (rule 3)
GRID = 32
HALVINGS = 8
#: at most this many agents are read for ``D`` (rule 6)
SAMPLE = 24


class HandleTimes:
    """The last ``HANDLE_SAMPLES`` talk times of one queue's answered calls."""

    __slots__ = ("talk", "_total", "_sorted", "_prefix", "_variance", "_stale")

    def __init__(self) -> None:
        self.talk: deque[float] = deque(maxlen=HANDLE_SAMPLES)
        self._total = 0.0
        self._sorted: list[float] = []
        #: ``_prefix[i]``: the sum of ``_sorted[:i]``
        self._prefix: list[float] = [0.0]
        self._variance: float | None = None
        self._stale = False

    def add(self, talk_s: float) -> None:
        """One more answered call talked ``talk_s`` seconds."""
        talk = self.talk
        if len(talk) == HANDLE_SAMPLES:
            self._total -= talk[0]
        talk.append(talk_s)
        self._total += talk_s
        self._stale = True

    def mean(self) -> float | None:
        """The mean talk time, None before the first answered call."""
        return max(0.0, self._total / len(self.talk)) if self.talk else None

    def _fresh(self) -> list[float]:
        if self._stale:
            self._sorted = sorted(self.talk)
            self._prefix = list(accumulate(self._sorted, initial=0.0))
            self._variance = None
            self._stale = False
        return self._sorted

    def residual(self, elapsed: float) -> float:
        """Expected talk time left of a call that has talked ``elapsed`` seconds
        (0 when it talked longer than every call observed: about to end)."""
        talk = self._fresh()
        lo = bisect_right(talk, elapsed)
        left = len(talk) - lo
        return (self._prefix[-1] - self._prefix[lo]) / left - elapsed if left else 0.0

    def spread(self) -> float:
        """The talk times' variance."""
        talk = self._fresh()
        if self._variance is None:
            mean = self._prefix[-1] / len(talk)
            self._variance = sum((t - mean) ** 2 for t in talk) / len(talk)
        return self._variance

    def longest(self) -> float:
        return self._fresh()[-1]

    def freed(self, elapsed: float, within: float, lag: float, cycle: float) -> float:
        """A talking agent's expected share of ``D`` (rule 3) without ``c+``: its call
        has talked ``elapsed`` s; ``within``: seconds of talk left before the instant
        asked; renewals counted ``lag`` seconds after its end, one per ``cycle``."""
        talk = self._fresh()
        lo = bisect_right(talk, elapsed)
        left = len(talk) - lo
        if not left:  # longer than every call observed: ends now
            return (within >= 0) + max(0.0, within - lag) / cycle
        if within < 0:
            return 0.0
        end = elapsed + within
        prefix = self._prefix
        hi = bisect_right(talk, end, lo)
        share = float(hi - lo)
        end -= lag
        if end > elapsed:
            hi = bisect_right(talk, end, lo)
            share += ((hi - lo) * end - (prefix[hi] - prefix[lo])) / cycle  # sum (end - T)
        return share / left


@dataclass(frozen=True, slots=True)
class QueueWaits:
    """A queue's estimates and the inputs they came from (rule 2)."""

    #: seconds each WAITING caller should still wait, in line order; the last one
    #: is for a caller joining now (so ``len(waiting) + 1`` figures)
    waits: tuple[float, ...]
    #: the mean observed talk time and how many calls it is over
    talk_s: float
    talk_samples: int
    #: mean talk + the queue's wrap-up: an agent's cycle per caller
    handle_s: float
    #: agents counted as serving the line (talking, wrapping up, ringing, or READY
    #: while nobody waits)
    serving: int


def queue_waits(
    waiting: int,
    members: Iterable[Agent],
    handle: HandleTimes,
    wrap_up_s: float,
    now: float,
) -> QueueWaits | None:
    """Estimates for the ``waiting`` callers in line and one joining now (rules 2-4)."""
    talk = handle.mean()
    if talk is None:
        return None
    cycle = talk + wrap_up_s
    #: agents talking: how long they have talked (0: ringing, a whole call ahead)
    talking: list[float] = []
    #: agents come free at a known instant, as seconds from now
    known: list[float] = []
    ready = False
    for agent in members:
        state = agent.state
        if state is AgentState.ON_CALL:
            talking.append(max(0.0, now - agent.since))
        elif state is AgentState.OFFERED:
            talking.append(0.0)
        elif state is AgentState.WRAP_UP:
            known.append(max(0.0, agent.since + wrap_up_s - now))
        elif state is AgentState.READY and not waiting:
            known.append(0.0)
            ready = True
    serving = len(talking) + len(known)
    if not serving or cycle <= 0:
        return None
    if not waiting and ready:  # the common case of a quiet queue: one joining is offered
        return QueueWaits((0.0,), talk, len(handle.talk), cycle, serving)
    renewal = (handle.spread() / (cycle * cycle) - 1) / 2  # c (rule 3)
    jump, lag = max(0.0, renewal), max(0.0, -renewal) * cycle

    # D reads at most SAMPLE agents, evenly spread by how soon each comes free (the
    # talking by how long they have talked), each counting for ``weight`` agents
    weight = 1.0
    if serving > SAMPLE:
        weight = serving / SAMPLE
        talking.sort(reverse=True)
        known.sort()
        ranked = [(at, True) for at in known] + [(e, False) for e in talking]
        picked = [ranked[int((i + 0.5) * weight)] for i in range(SAMPLE)]
        sample_known = [at for at, is_known in picked if is_known]
        sample_talking = [e for e, is_known in picked if not is_known]
    else:
        sample_known, sample_talking = known, talking

    def freed(w: float) -> float:
        """``D(w)``: agents expected to have come free ``w`` s from now."""
        total = 0.0
        for at in sample_known:
            if w >= at:
                total += 1.0 + jump + max(0.0, w - at - lag) / cycle
        talk_left = w - wrap_up_s
        for elapsed in sample_talking:
            share = handle.freed(elapsed, talk_left, lag, cycle)
            total += share + jump * min(1.0, share)
        return total * weight

    # past ``horizon`` every agent has come free once: D(w) = serving (1 + jump) +
    # (serving (w - lag) - sum of the first instants) / cycle
    longest = handle.longest()
    horizon = max([*known, *(wrap_up_s + max(0.0, longest - e) for e in talking)]) + lag
    # D at up to GRID instants to the horizon (read as needed), then each position's
    # instant by bisection between the two around it (D rises with w)
    step = horizon / GRID
    grid = [freed(0.0)]
    first: float | None = None  # the sum of the first instants, once needed
    waits: list[float] = []
    i = 0
    for k in range(1, waiting + 2):
        while grid[i] < k and i < GRID:
            i += 1
            if i == len(grid):
                grid.append(freed(step * i))
        if grid[i] < k:  # past the horizon: closed form
            if first is None:
                first = sum(known) + sum(wrap_up_s + handle.residual(e) for e in talking)
            waits.append(((k - serving * (1 + jump)) * cycle + first) / serving + lag)
            continue
        if not i:
            waits.append(0.0)
            continue
        low, high = step * (i - 1), step * i
        for _ in range(HALVINGS):
            mid = (low + high) / 2
            if freed(mid) >= k:
                high = mid
            else:
                low = mid
        waits.append(high)
    return QueueWaits(tuple(waits), talk, len(handle.talk), cycle, serving)
