"""The line of one queue: its WAITING calls, by skill class, most due first.

Rules:
1. A call's effective priority at ``t`` is ``priority + (t - entered_at) *
   aging_per_s``. Within one queue every call ages at the same rate, so the
   order never changes with time: the key ``(-(priority - entered_at * rate),
   entered_at, nudge, seq)`` sorts the line at any ``t`` (most due first, FIFO
   when equal, arrival order in the core last). A call a supervisor placed ranks
   by the priority and entry of the call it was put before (``Call.rank``,
   ``Call.since``) and a ``nudge`` that puts it just ahead of that call; its own
   ``priority`` and ``entered_at`` (its wait) are unchanged.
2. Calls are grouped by what they currently require (a skill class: the
   call's or queue's skills, relaxed by the rules reached). An agent looks at
   the head of each class it fits, so finding its call costs O(classes), not
   O(calls).
3. Only WAITING calls are in the line; an offered call leaves it and comes
   back under the same key if the offer fails (it keeps its place).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

from .call import Call
from .skills import Requirement

LineKey = tuple[float, float, float, int]
#: a call in its class: its key, then the call itself (never compared: ``seq`` is unique)
Entry = tuple[float, float, float, int, Call]


def line_key(call: Call, aging_per_s: float) -> LineKey:
    """The call's place in its queue's line (see rule 1)."""
    return (-(call.rank - call.since * aging_per_s), call.since, call.nudge, call.seq)


def due_key(call: Call, aging_per_s: float, now: float) -> LineKey:
    """The call's place among calls of several queues at ``now`` (most due first)."""
    return (-(call.rank + (now - call.since) * aging_per_s), call.since, call.nudge, call.seq)


def place(call: Call, others: list[Call], position: int, aging_per_s: float) -> bool:
    """Rank ``call`` at ``position`` (1: the front) of its queue's line, ``others`` being
    the rest of that queue's unanswered calls in line order (rule 1): it takes the rank
    and entry of the call now at ``position`` and a nudge just ahead of it (and behind
    the one before it when both rank alike); past the end, behind the last. Call it with
    ``call`` out of the line (its key changes). False, with nothing changed, when the
    two calls it goes between rank alike with the same nudge (entered at the very same
    instant): renumber their nudges (``Acd._renumber``) and place it again."""
    if not others:
        call.rank, call.since, call.nudge = call.priority, call.entered_at, 0.0
        return True
    if position > len(others):
        last = others[-1]
        call.rank, call.since, call.nudge = last.rank, last.since, last.nudge + 1.0
        return True
    before = others[position - 1]
    nudge = before.nudge - 1.0
    if position > 1:
        ahead = others[position - 2]
        if line_key(ahead, aging_per_s)[:2] == line_key(before, aging_per_s)[:2]:
            nudge = ahead.nudge + (before.nudge - ahead.nudge) / 2
            if not ahead.nudge < nudge < before.nudge:
                return False
    call.rank, call.since, call.nudge = before.rank, before.since, nudge
    return True


class Line:
    """WAITING calls of one queue, by skill class, each class in line order.

    ``add`` a call that is not in the line and ``remove`` one that is (the router
    keeps ``Call.lined``)."""

    __slots__ = ("aging_per_s", "classes", "size", "_busy", "_index")

    def __init__(self, aging_per_s: float, busy: bytearray, index: int) -> None:
        self.aging_per_s = aging_per_s
        #: ``busy[index]`` is 1 while the line holds a call (the router's map of
        #: every queue: an agent skips its empty lines without touching them)
        self._busy, self._index = busy, index
        #: the calls of each skill class (by ``Call.bits``, one per requirement) in
        #: line order, each behind its key (read-only outside this class); the head
        #: of a class is ``classes[bits][0][4]``
        self.classes: dict[int, list[Entry]] = {}
        #: calls in line (an int, so an empty line is seen without touching ``classes``)
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(self, call: Call) -> None:
        keys = self.classes.get(call.bits)
        if keys is None:
            self.classes[call.bits] = keys = []
        call.place = key = line_key(call, self.aging_per_s)
        insort(keys, (*key, call))
        if not self.size:
            self._busy[self._index] = 1
        self.size += 1

    def remove(self, call: Call) -> None:
        keys = self.classes[call.bits]
        # the key alone sorts just before its entry (a prefix of it)
        del keys[bisect_left(keys, call.place)]
        if not keys:
            del self.classes[call.bits]
        self.size -= 1
        if not self.size:
            self._busy[self._index] = 0

    def heads(self) -> Iterator[tuple[Requirement, Call]]:
        """The first call of each skill class, with the class."""
        for keys in self.classes.values():
            call = keys[0][4]
            yield call.needs, call
