"""The wallboard's figures of the day, pure: per-queue tallies since local midnight,
the figures computed from them, and the delta between two snapshots.

Rules:

1. The day's tallies are fed by each call's one queue outcome (``queue_outcomes``
   rows): the rows since midnight read from SQL at start, then each outcome as the
   controller writes it. So a controller restart changes no figure of the day.
2. As in the reports (``acd.kpis``, ``docs/kpis.md``), a call counts in the day
   and the 15 minutes in which it entered the queue, once it left it. The live
   board's offered adds the calls waiting now; "the last 30 minutes" are the
   calls that left in them.
3. Every ratio is ``acd.kpis``' (service level, abandon rate, ASA), through
   :func:`queue_figures`: one queue's tally, or the centre's sum of the queues'
   tallies (each call counted against its own queue's T and S).
4. :func:`diff` turns two snapshots into the delta a wallboard applies: changed
   top-level keys, queue tiles and agent rows by key, agents gone; fields that
   tick by themselves (``VOLATILE``) are left to the browser's clock.

No I/O here: the desk (``callcenter.desk``) reads SQL and the ACD and calls this.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, field
from typing import Any

from acd import kpis

#: a ``queue_outcomes`` row: call_id, queue, outcome, wait_s, at, agent_id, the call's queued_at
OutcomeRow = tuple[str, str, str, float, dt.datetime, int | None, dt.datetime | None]
#: an ``agent_state_changes`` row: agent_id, at, old, new
ChangeRow = tuple[int, dt.datetime, str | None, str]
#: the outcomes a queued call can end with (``acd.Outcome``); others are not a queue's
QUEUE_OUTCOMES = frozenset({"answered", "abandoned", "timeout", "lost"})
#: an agent's states that count as handling a call (``acd.AgentState`` values): talk
#: (hold included: the caller is on hold while the agent is ON_CALL) and after-call work
HANDLING = frozenset({"on_call", "wrap_up"})
#: the recent window of the "last 30 minutes" figures
RECENT_S = 30 * 60.0
#: the charts' interval
INTERVAL_S = 15 * 60.0
#: queue-tile keys that change every second by themselves: not sent in deltas
VOLATILE = frozenset({"longest_wait_s"})


@dataclass(frozen=True, slots=True)
class Done:
    """One call's visit to a queue, ended (a ``queue_outcomes`` row)."""

    queue: str
    outcome: str
    wait_s: float
    #: when it left the queue (answered: the conversation's end), epoch seconds
    at: float
    agent_id: str | None = None
    #: when it entered the queue, epoch seconds: the day and interval it counts in
    #: (``acd.kpis``); None: ``at - wait_s``
    entered_at: float | None = None

    @property
    def entered(self) -> float:
        return self.at - self.wait_s if self.entered_at is None else self.entered_at


@dataclass(slots=True)
class Tally:
    """Counts of visits that left their queue (one queue's, or a sum): ``acd.kpis``' inputs."""

    #: left the queue: answered, abandoned, timed out or lost (``acd.kpis``' offered)
    left: int = 0
    answered: int = 0
    #: answered with a wait <= the queue's T (``sl_threshold_s``)
    answered_in_sl: int = 0
    answer_wait_total: float = 0.0
    abandoned: int = 0
    #: abandoned before the queue's S (``short_abandon_s``)
    short_abandoned: int = 0

    def add(self, done: Done, targets: kpis.QueueTargets) -> None:
        self.left += 1
        if done.outcome == "answered":
            self.answered += 1
            self.answered_in_sl += done.wait_s <= targets.sl_threshold_s
            self.answer_wait_total += done.wait_s
        elif done.outcome == "abandoned":
            self.abandoned += 1
            self.short_abandoned += done.wait_s < targets.short_abandon_s

    def plus(self, other: Tally) -> Tally:
        return Tally(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def _pct(ratio: float | None) -> float | None:
    return None if ratio is None else round(100.0 * ratio, 1)


def service_level_pct(t: Tally) -> float | None:
    """``acd.kpis.service_level`` in %: answered within T / (left - short abandons)."""
    return _pct(kpis.service_level(t.answered_in_sl, t.left, t.short_abandoned))


def queue_figures(today: Tally, recent: Tally, waiting: int) -> dict[str, Any]:
    """The figures of one queue (or of the centre: summed tallies), each ``acd.kpis``'."""
    asa = kpis.average_speed_of_answer(today.answer_wait_total, today.answered)
    return {
        # the live board's offered: the calls that left plus those waiting now
        "offered": today.left + waiting,
        "answered": today.answered,
        "abandoned": today.abandoned,
        "short_abandoned": today.short_abandoned,
        "service_level_pct": service_level_pct(today),
        "service_level_30m_pct": service_level_pct(recent),
        "asa_s": None if asa is None else round(asa, 1),
        "abandon_rate_pct": _pct(kpis.abandon_rate(today.abandoned, today.left,
                                                   today.short_abandoned)),  # fmt: skip
    }


@dataclass(slots=True)
class QueueDay:
    """One queue's visits of the day: the tally and the last 30 minutes' visits."""

    targets: kpis.QueueTargets
    today: Tally = field(default_factory=Tally)
    recent: deque[Done] = field(default_factory=deque)

    def add(self, done: Done) -> None:
        self.today.add(done, self.targets)
        self.recent.append(done)

    def recent_tally(self, now: float) -> Tally:
        """The visits that left in the last 30 minutes."""
        while self.recent and self.recent[0].at < now - RECENT_S:
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
    """Every queue's and agent's figures since local midnight."""

    def __init__(
        self, targets: Mapping[str, kpis.QueueTargets], now: float, zone: dt.tzinfo | None = None
    ) -> None:
        #: queue -> its T and S (``acd.kpis``)
        self.targets = dict(targets)
        #: whose midnight starts the day (the config's ``time_zone``, as the reports')
        self.zone = zone
        self.day_start = local_midnight(now, zone)
        self.queues: dict[str, QueueDay] = {}
        #: the whole centre's visits by the 15 minutes they entered in: start (epoch) -> tally
        self.intervals: dict[float, Tally] = {}
        #: agent id -> calls answered today
        self.agent_calls: dict[str, int] = {}
        #: agent id -> seconds handling calls today (talk, hold, wrap-up: ``HANDLING``)
        self.agent_handle_s: dict[str, float] = {}
        #: agent id -> when its current state began (epoch), as the state rows said
        self._entered: dict[str, float] = {}

    def configure(self, targets: Mapping[str, kpis.QueueTargets]) -> None:
        """New targets (a reload) apply to the visits that end from now on."""
        self.targets = dict(targets)
        for name, day in self.queues.items():
            day.targets = self.targets.get(name, day.targets)

    def add(self, done: Done) -> None:
        """One visit ended (one outcome row); ignored if it entered before today or is
        not a queue's."""
        self.roll(done.at)
        entered = done.entered
        if entered < self.day_start or done.outcome not in QUEUE_OUTCOMES or not done.queue:
            return
        day = self.queue(done.queue)
        day.add(done)
        start = self.day_start + INTERVAL_S * ((entered - self.day_start) // INTERVAL_S)
        self.intervals.setdefault(start, Tally()).add(done, day.targets)
        if done.outcome == "answered" and done.agent_id is not None:
            self.agent_calls[done.agent_id] = self.agent_calls.get(done.agent_id, 0) + 1

    def agent_state(self, agent_id: str, at: float, old: str | None) -> None:
        """An agent changed state at ``at``, leaving ``old`` (a state row): a handling state
        that ended adds its time to today's (from midnight if it began before; nothing
        if its start was not seen, as for a call in progress over a restart)."""
        self.roll(at)
        began = self._entered.get(agent_id)
        self._entered[agent_id] = at
        if old in HANDLING and began is not None and at >= self.day_start:
            spent = at - max(began, self.day_start)
            self.agent_handle_s[agent_id] = self.agent_handle_s.get(agent_id, 0.0) + spent

    def interval_rows(self) -> list[dict[str, Any]]:
        """The day's 15-minute intervals whose calls left, in order (the charts)."""
        return [
            {"start": start, "answered": t.answered, "abandoned": t.abandoned,
             "other": t.left - t.answered - t.abandoned, "service_level_pct": service_level_pct(t)}
            for start, t in sorted(self.intervals.items())
        ]  # fmt: skip

    def agent_aht_s(self, agent_id: str) -> float | None:
        """Average handle time today: handling seconds over calls answered; None: no call."""
        calls = self.agent_calls.get(agent_id, 0)
        return round(self.agent_handle_s.get(agent_id, 0.0) / calls, 1) if calls else None

    def load(self, outcomes: Iterable[OutcomeRow], changes: Iterable[ChangeRow]) -> None:
        """Today's rows as SQL has them (``Store.outcomes_since``, ``agent_changes_since``):
        a call entered at its ``queued_at`` (else when it left less its wait), as the reports."""
        self.add_all(
            Done(queue, outcome, wait_s, at.timestamp(), None if agent is None else str(agent),
                 None if queued is None else queued.timestamp())
            for _call, queue, outcome, wait_s, at, agent, queued in outcomes
        )  # fmt: skip
        for agent_id, at, old, _new in changes:
            self.agent_state(str(agent_id), at.timestamp(), old)

    def add_all(self, done: Iterable[Done]) -> None:
        for d in sorted(done, key=lambda d: d.at):
            self.add(d)

    def queue(self, name: str) -> QueueDay:
        day = self.queues.get(name)
        if day is None:
            day = self.queues[name] = QueueDay(self.targets.get(name, kpis.QueueTargets()))
        return day

    def roll(self, now: float) -> None:
        """Past midnight: a new day starts from nothing."""
        midnight = local_midnight(now, self.zone)
        if midnight > self.day_start:
            self.day_start = midnight
            self.queues.clear()
            self.intervals.clear()
            self.agent_calls.clear()
            self.agent_handle_s.clear()


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
