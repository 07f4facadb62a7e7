"""Deadlines of the ACD core: a heap with lazy cancellation, no clock inside."""

from __future__ import annotations

import heapq
import itertools
from enum import Enum


class TimerKind(Enum):
    """What a deadline is for; the key's second half names the call or agent."""

    # members are singletons compared by identity: hash them by identity too
    # (C speed; Enum.__hash__ hashes the name in Python on every dict lookup)
    __hash__ = object.__hash__

    #: the shell has not reported on an offer within timeout + grace (key: call id)
    OFFER_TIMEOUT = "offer_timeout"
    #: an agent's wrap-up is over (key: agent id)
    WRAP_UP = "wrap_up"
    #: a call reached its queue's ``max_wait_s`` (key: call id)
    MAX_WAIT = "max_wait"
    #: a call reached its queue's next relax step (key: call id)
    RELAX = "relax"
    #: a call may be offered again to the agent who failed it (key: call id)
    RETRY = "retry"


TimerKey = tuple[TimerKind, str]


class Deadlines:
    """At most one deadline per key; ``set`` replaces, ``cancel`` forgets."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, TimerKey]] = []
        self._live: dict[TimerKey, int] = {}
        self._seq = itertools.count()

    def set(self, key: TimerKey, at: float) -> None:
        seq = next(self._seq)
        self._live[key] = seq
        heapq.heappush(self._heap, (at, seq, key))

    def cancel(self, key: TimerKey) -> None:
        self._live.pop(key, None)

    def next(self) -> float | None:
        """The earliest live deadline, or None."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> TimerKey | None:
        """Remove and return the earliest live key due at ``now``, or None."""
        self._drop_stale()
        if not self._heap or self._heap[0][0] > now:
            return None
        _, _, key = heapq.heappop(self._heap)
        del self._live[key]
        return key

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap and self._live.get(heap[0][2]) != heap[0][1]:
            heapq.heappop(heap)
