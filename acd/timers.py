"""Deadlines of the ACD core: a heap with lazy cancellation, no clock inside.

A deadline is live while its number is the one its key holds: in the table of
live keys (``set``, ``cancel``), or, for a deadline held by an object
(``hold``: an offer's timeout, held by its call), in that object's ``timer``
(cancelled by setting it to 0, with no table to touch).
"""

from __future__ import annotations

import heapq
import itertools
from enum import Enum
from typing import Any, Protocol


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
    #: a call stops waiting for its preferred agent (sticky agent; key: call id)
    STICKY = "sticky"


TimerKey = tuple[TimerKind, str]


class Holder(Protocol):
    """What holds its own deadline: the live one's number, 0 if none."""

    timer: int


class Deadlines:
    """At most one deadline per key; ``set`` replaces, ``cancel`` forgets."""

    def __init__(self) -> None:
        # (at, seq, key) or (at, seq, key, holder)
        self._heap: list[tuple[Any, ...]] = []
        self._live: dict[TimerKey, int] = {}
        self._seq = itertools.count(1)

    def set(self, key: TimerKey, at: float) -> None:
        seq = next(self._seq)
        self._live[key] = seq
        heapq.heappush(self._heap, (at, seq, key))

    def hold(self, key: TimerKey, at: float, holder: Holder) -> None:
        """Like ``set``, but ``holder.timer`` says whether it is live (set it to 0 to
        cancel); the key must not be ``set`` too."""
        holder.timer = seq = next(self._seq)
        heapq.heappush(self._heap, (at, seq, key, holder))

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
        entry = heapq.heappop(self._heap)
        key: TimerKey = entry[2]
        if len(entry) == 4:
            entry[3].timer = 0
        else:
            del self._live[key]
        return key

    def _drop_stale(self) -> None:
        heap = self._heap
        while heap:
            entry = heap[0]
            if len(entry) == 4:
                if entry[3].timer == entry[1]:
                    return
            elif self._live.get(entry[2]) == entry[1]:
                return
            heapq.heappop(heap)
