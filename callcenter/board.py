"""The wallboard's figures of the day, pure: per-queue tallies since local midnight,
the figures computed from them, and the delta between two snapshots.

Rules:

1. The day's tallies are fed by each call's one queue outcome (``queue_outcomes``
   rows) and the agents' state rows: the rows since midnight read from SQL at start,
   then each row as the controller writes it. So a controller restart changes no
   figure of the day. ``/metrics``' call counters and wait, talk and wrap-up
   histograms are fed the same rows, through the board (``DayBoard.counter``).
2. As in the reports (``acd.kpis``, ``docs/kpis.md``), a call counts in the day
   and the 15 minutes in which it entered the queue, once it left it. The live
   board's offered adds the calls waiting now; "the last 30 minutes" are the
   calls that left in them.
3. Every count and ratio is ``acd.kpis``' (``kpis.CallRecord`` in, ``kpis.Tally``
   kept, service level, abandon rate, ASA through :func:`queue_figures`: one queue's
   tally, or the centre's sum of the queues' tallies, each call counted against its
   own queue's T and S); an agent's AHT is ``kpis.average_handle_time`` over the
   calls it answered (talk from the outcome row, wrap-up the spell after each call),
   the reports' definition.
4. :func:`diff` turns two snapshots into the delta a wallboard applies: changed
   top-level keys, queue tiles and agent rows by key, agents gone; fields that
   tick by themselves (``VOLATILE``) are left to the browser's clock.

No I/O here: the desk (``callcenter.desk``) reads SQL and the ACD and calls this.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from acd import kpis
from acd.kpis import Tally

#: a ``queue_outcomes`` row: call_id, queue, outcome, wait_s, at, agent_id, the call's
#: queued_at and talk_s
OutcomeRow = tuple[str, str, str, float, dt.datetime, int | None, dt.datetime | None,
                   float | None]  # fmt: skip
#: an ``agent_state_changes`` row: agent_id, at, old, new
ChangeRow = tuple[int, dt.datetime, str | None, str]
#: the outcomes a queued call can end with (``acd.Outcome``); others are not a queue's
QUEUE_OUTCOMES = frozenset({"answered", "abandoned", "timeout", "lost"})
#: the agent state (``acd.AgentState`` value) of after-call work: a spell of it that
#: began when a call's conversation ended is that call's wrap-up (``acd.kpis``' AHT)
WRAP_UP = "wrap_up"
#: the recent window of the "last 30 minutes" figures
RECENT_S = 30 * 60.0
#: the charts' interval
INTERVAL_S = 15 * 60.0
#: queue-tile keys that change every second by themselves: not sent in deltas
VOLATILE = frozenset({"longest_wait_s"})


class CallCounter(Protocol):
    """Who counts each ended call and wrap-up as the day board takes them (``/metrics``:
    ``callcenter.metrics.Metrics``): the same rows, so the same figures."""

    def call_outcome(self, outcome: str, wait_s: float | None = None, *, queue: str = "",
                     talk_s: float | None = None) -> None: ...  # fmt: skip

    def wrap_up_ended(self, queue: str, seconds: float) -> None: ...


def call_record(call_id: str, queue: str, outcome: str, wait_s: float, left_at: float,
                agent_id: str | None = None, entered_at: float | None = None,
                talk_s: float | None = None) -> kpis.CallRecord:  # fmt: skip
    """A ``queue_outcomes`` row as ``acd.kpis`` reads it: it entered at ``entered_at`` (the
    call's ``queued_at``; None: when it left less its talk and wait)."""
    if entered_at is None:
        entered_at = left_at - (talk_s or 0.0) - wait_s
    return kpis.CallRecord(call_id, queue, entered_at, outcome, wait_s, agent_id, talk_s,
                           left_at=left_at)  # fmt: skip


def _left(call: kpis.CallRecord) -> float:
    return call.entered_at + call.wait_s if call.left_at is None else call.left_at


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else round(100.0 * ratio, 1)


def service_level_pct(t: Tally) -> float | None:
    """``acd.kpis.service_level`` in %: answered within T / (left - short abandons)."""
    return _pct(kpis.service_level(t.answered_in_sl, t.offered, t.short))


def queue_figures(today: Tally, recent: Tally, waiting: int) -> dict[str, Any]:
    """The figures of one queue (or of the centre: summed tallies), each ``acd.kpis``'."""
    asa = kpis.average_speed_of_answer(today.wait_answered, today.answered)
    return {
        # the live board's offered: the calls that left plus those waiting now
        "offered": today.offered + waiting,
        "answered": today.answered,
        "abandoned": today.abandoned,
        "short_abandoned": today.short,
        "service_level_pct": service_level_pct(today),
        "service_level_30m_pct": service_level_pct(recent),
        "asa_s": None if asa is None else round(asa, 1),
        "abandon_rate_pct": _pct(kpis.abandon_rate(today.abandoned, today.offered, today.short)),
    }


@dataclass(slots=True)
class QueueDay:
    """One queue's visits of the day: the tally and the last 30 minutes' visits."""

    targets: kpis.QueueTargets
    today: Tally = field(default_factory=Tally)
    recent: deque[kpis.CallRecord] = field(default_factory=deque)

    def add(self, done: kpis.CallRecord) -> None:
        self.today.add(done, self.targets)
        recent = self.recent
        recent.append(done)
        # bounded even when no wallboard asks for the tally (none is built then)
        since = _left(done) - RECENT_S
        while _left(recent[0]) < since:
            recent.popleft()

    def recent_tally(self, now: float) -> Tally:
        """The visits that left in the last 30 minutes."""
        while self.recent and _left(self.recent[0]) < now - RECENT_S:
            self.recent.popleft()
        tally = Tally()
        for done in self.recent:
            tally.add(done, self.targets)
        return tally


def local_midnight(now: float, zone: dt.tzinfo | None = None) -> float:
    """Epoch seconds of the last midnight before ``now`` in ``zone`` (None: the machine's)."""
    local = dt.datetime.fromtimestamp(now, zone) if zone else dt.datetime.fromtimestamp(now).astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


class DayBoard:
    """Every queue's and agent's figures since local midnight, from the rows the
    controller writes (and, at start, today's rows read back from SQL).

    ``counter`` (``/metrics``) is handed each ended call and wrap-up spell as the board
    takes it: the wallboard and ``/metrics`` count the same rows."""

    def __init__(
        self,
        targets: Mapping[str, kpis.QueueTargets],
        now: float,
        zone: dt.tzinfo | None = None,
        counter: CallCounter | None = None,
    ) -> None:
        #: queue -> its T and S (``acd.kpis``)
        self.targets = dict(targets)
        #: whose midnight starts the day (the config's ``time_zone``, as the reports')
        self.zone = zone
        self.counter = counter
        self.day_start = local_midnight(now, zone)
        #: the midnight after today's, and the zone it was read in (``roll``)
        self._next_midnight = -math.inf
        self._next_midnight_zone = zone
        self.queues: dict[str, QueueDay] = {}
        #: the whole centre's visits by the 15 minutes they entered in: start (epoch) -> tally
        self.intervals: dict[float, Tally] = {}
        #: agent id -> the calls it answered today (calls, talk, wrap-up: AHT, ``acd.kpis``)
        self.agents: dict[str, Tally] = {}
        #: agent id -> the queue of the last call it answered: its wrap-up's
        self._last_queue: dict[str, str] = {}
        #: agent id -> when its current state began (epoch), as the state rows said
        self._entered: dict[str, float] = {}

    def configure(self, targets: Mapping[str, kpis.QueueTargets]) -> None:
        """New targets (a reload) apply to the visits that end from now on."""
        self.targets = dict(targets)
        for name, day in self.queues.items():
            day.targets = self.targets.get(name, day.targets)

    def add(self, done: kpis.CallRecord) -> None:
        """One visit ended (one outcome row): counted (``counter``); in the day's figures
        unless it entered before today or is not a queue's."""
        self.roll(_left(done))
        if self.counter is not None:
            self.counter.call_outcome(done.outcome, done.wait_s, queue=done.queue,
                                      talk_s=done.talk_s)  # fmt: skip
        answered = done.outcome == kpis.ANSWERED and done.agent is not None
        if answered:
            assert done.agent is not None
            self._last_queue[done.agent] = done.queue
        entered = done.entered_at
        if entered < self.day_start or done.outcome not in QUEUE_OUTCOMES or not done.queue:
            return
        day = self.queue(done.queue)
        day.add(done)
        start = self.day_start + INTERVAL_S * ((entered - self.day_start) // INTERVAL_S)
        self.intervals.setdefault(start, Tally()).add(done, day.targets)
        if answered:
            assert done.agent is not None
            self.agents.setdefault(done.agent, Tally()).add(done, day.targets)

    def agent_state(self, agent_id: str, at: float, old: str | None) -> None:
        """An agent changed state at ``at``, leaving ``old`` (a state row). A wrap-up spell
        that ended is the wrap-up of the agent's last call: counted (``counter``), and its
        part since midnight is in the agent's AHT (nothing if its start was not seen, as
        for a call in progress over a restart)."""
        self.roll(at)
        began = self._entered.get(agent_id)
        self._entered[agent_id] = at
        if old != WRAP_UP or began is None:
            return
        if self.counter is not None:
            self.counter.wrap_up_ended(self._last_queue.get(agent_id, ""), at - began)
        calls = self.agents.get(agent_id)
        if calls is not None and calls.handled and at >= self.day_start:
            calls.wrap_up += at - max(began, self.day_start)

    def interval_rows(self) -> list[dict[str, Any]]:
        """The day's 15-minute intervals whose calls left, in order (the charts)."""
        return [
            {"start": start, "answered": t.answered, "abandoned": t.abandoned,
             "other": t.offered - t.answered - t.abandoned,
             "service_level_pct": service_level_pct(t)}
            for start, t in sorted(self.intervals.items())
        ]  # fmt: skip

    def agent_calls(self, agent_id: str) -> int:
        """Calls the agent answered today."""
        calls = self.agents.get(agent_id)
        return 0 if calls is None else calls.answered

    def agent_aht_s(self, agent_id: str) -> float | None:
        """The agent's AHT today (``acd.kpis.average_handle_time``: talk + hold + wrap-up
        over its answered calls), rounded to 0.1 s; None: no call."""
        t = self.agents.get(agent_id)
        aht = None if t is None else kpis.average_handle_time(t.talk, t.hold, t.wrap_up, t.handled)
        return None if aht is None else round(aht, 1)

    def load(self, outcomes: Iterable[OutcomeRow], changes: Iterable[ChangeRow]) -> None:
        """Today's rows as SQL has them (``Store.outcomes_since``, ``agent_changes_since``),
        taken in the order they were written (by time; at one instant an outcome before a
        state change, as the controller writes them): a call entered at its
        ``queued_at`` (else when it left less its talk and wait), as in the reports."""
        rows: list[tuple[float, int, kpis.CallRecord | ChangeRow]] = [
            (at.timestamp(), 0,
             call_record(call, queue, outcome, wait_s, at.timestamp(),
                         None if agent is None else str(agent),
                         None if queued is None else queued.timestamp(), talk_s))
            for call, queue, outcome, wait_s, at, agent, queued, talk_s in outcomes
        ]  # fmt: skip
        rows += [(change[1].timestamp(), 1, change) for change in changes]
        rows.sort(key=lambda r: (r[0], r[1]))
        for _at, _kind, row in rows:
            if isinstance(row, kpis.CallRecord):
                self.add(row)
            else:
                agent_id, at, old, _new = row
                self.agent_state(str(agent_id), at.timestamp(), old)

    def queue(self, name: str) -> QueueDay:
        day = self.queues.get(name)
        if day is None:
            day = self.queues[name] = QueueDay(self.targets.get(name, kpis.QueueTargets()))
        return day

    def roll(self, now: float) -> None:
        """Past midnight: a new day starts from nothing.

        Called for every row written (a state change, an outcome): the next midnight
        is kept, so the zone's clock is read once a day, not once a row."""
        if now < self._next_midnight and self.zone is self._next_midnight_zone:
            return  # still the day that starts at day_start (or a time before it)
        midnight = local_midnight(now, self.zone)
        # a day is 23-25 h long: 26 h after one midnight lies in the next day
        self._next_midnight = local_midnight(midnight + 26 * 3600, self.zone)
        self._next_midnight_zone = self.zone
        if midnight > self.day_start:
            self.day_start = midnight
            self.queues.clear()
            self.intervals.clear()
            self.agents.clear()


# -- deltas ---------------------------------------------------------------------------
#: the snapshot's keyed lists: list key -> the key of an item
KEYED = {"queues": "name", "agents": "id", "intervals": "start", "waiting_calls": "call_id"}


def _stable(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in VOLATILE}


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any] | None:
    """The delta from ``old`` to ``new``; None when nothing but the clock moved.

    ``{"set": {key: value}, "upsert": {list: [item]}, "remove": {list: [key]}}``:
    ``set`` replaces top-level values (unkeyed lists whole), ``upsert`` replaces or adds
    items of a keyed list by key (``KEYED``), ``remove`` drops them.
    """
    delta: dict[str, Any] = {}
    changed = {k: v for k, v in new.items() if k not in KEYED and old.get(k) != v}
    gone = [k for k in old if k not in new and k not in KEYED]
    upsert: dict[str, list[Any]] = {}
    remove: dict[str, list[Any]] = {}
    for name, key in KEYED.items():
        before = {i[key]: _stable(i) for i in old.get(name) or ()}
        after = new.get(name) or ()
        ups = [i for i in after if before.get(i[key]) != _stable(i)]
        keys = {i[key] for i in after}
        rem = [k for k in before if k not in keys]
        if ups:
            upsert[name] = ups
        if rem:
            remove[name] = rem
    if set(changed) <= {"at"} and not gone and not upsert and not remove:
        return None
    delta["set"] = changed
    if gone:
        delta["unset"] = gone
    if upsert:
        delta["upsert"] = upsert
    if remove:
        delta["remove"] = remove
    return delta


def apply(snapshot: Mapping[str, Any], delta: Mapping[str, Any]) -> dict[str, Any]:
    """``snapshot`` with ``delta`` applied (what wallboard.js does; the tests and bench use it)."""
    out = dict(snapshot)
    out.update(delta.get("set", {}))
    for k in delta.get("unset", ()):
        out.pop(k, None)
    for name, key in KEYED.items():
        ups = delta.get("upsert", {}).get(name, ())
        rem = set(delta.get("remove", {}).get(name, ()))
        if not ups and not rem:
            continue
        items = {i[key]: i for i in out.get(name) or ()}
        for k in rem:
            items.pop(k, None)
        for i in ups:
            items[i[key]] = i
        out[name] = list(items.values())
    return out
