"""Sticky agent, the shell's half: who last answered each caller's number.

The ACD holds a returning caller for its preferred agent (``acd.routing`` rule 5);
this index tells the call-flow core that agent when it queues the call
(``CallQueued.preferred_agent``).

Rules:
1. A number is its E.164 form (``crm_bridge.numbers.normalize_number``, the CRM's
   key), so ``0901234567`` and ``+84901234567`` are one caller; a number that does
   not normalize (anonymous, an extension) is never sticky.
2. Fed by each answer the ACD reports (``CallConnected`` of a caller's first visit,
   not a callback's agent leg), and at start by one SQL read of the calls answered
   within the longest ``sticky_days`` (``Store.last_answered``): the later answer wins.
3. A lookup is one dict read, no I/O: it runs as the call is queued, on the hot path.
   Why in memory and not an SQL read per call: the read would have to finish before
   the call is queued (routing never waits: ``flow.core`` queues a call at once), and
   the index costs one entry per distinct number answered within ``sticky_days``
   (about 200 bytes each: 100,000 numbers, some 20 MB); entries older than the
   queue's ``sticky_days`` are ignored, and dropped as they are read.
"""

from __future__ import annotations

from collections.abc import Iterable

from crm_bridge.numbers import normalize_number

_DAY_S = 86_400.0


class LastServed:
    """E.164 number -> (agent id, wall time in epoch seconds of the answer)."""

    __slots__ = ("_by_number", "region")

    def __init__(self, region: str = "VN") -> None:
        self.region = region
        self._by_number: dict[str, tuple[str, float]] = {}

    def __len__(self) -> int:
        return len(self._by_number)

    def served(self, number: str, agent_id: str, at: float) -> None:
        """``agent_id`` answered ``number`` at ``at`` (rule 2)."""
        key = normalize_number(number, self.region)
        if key is None:
            return
        known = self._by_number.get(key)
        if known is None or known[1] <= at:
            self._by_number[key] = (agent_id, at)

    def seed(self, rows: Iterable[tuple[str, str, float]]) -> None:
        """(number, agent id, answered at) rows read from SQL at start (rule 2)."""
        for number, agent_id, at in rows:
            self.served(number, agent_id, at)

    def agent_for(self, number: str, now: float, days: float) -> str | None:
        """The agent who answered ``number`` within ``days`` before ``now``, or None."""
        key = normalize_number(number, self.region)
        if key is None:
            return None
        known = self._by_number.get(key)
        if known is None:
            return None
        if now - known[1] > days * _DAY_S:
            return None
        return known[0]
