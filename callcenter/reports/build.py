"""A report's rows from plain records, pure: grouping, intervals, agent time, staffing.

Rules:

1. A call counts in the interval (and the queue) in which it entered the queue;
   intervals are local to the hotline's ``time_zone``: an hour, a day, an ISO week
   (Monday 00:00 to Monday 00:00) or a calendar month, clipped to ``[since, until)``.
2. ``--by queue``: one row per configured queue (and any other queue the calls
   name), over the whole range. ``--by hour|day|week|month``: one row per interval
   and queue that has calls. ``--by agent``: one row per agent who answered a call
   or was logged in during the range; the calls are the ones the agent answered,
   so the queue figures (offered, SL, abandons) are not the agent's and stay empty.
3. Occupancy, utilisation and pause time belong to agents: given on ``--by agent``
   rows (an agent's idle time belongs to no one queue or interval of a queue).
4. Each queue or interval row gets the Erlang C staffing line
   (:func:`acd.kpis.staffing`) over its span: the agents needed to answer the
   queue's ``sl_target`` within ``sl_threshold_s`` at the observed arrival rate and
   AHT.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from zoneinfo import ZoneInfo

from acd.kpis import (
    AgentTime,
    CallbackRecord,
    CallRecord,
    Figures,
    PauseRecord,
    QueueTargets,
    clipped_seconds,
    figures,
    staffing,
)

__all__ = [
    "BY_CHOICES",
    "AgentState",
    "Callback",
    "Pause",
    "Report",
    "ReportData",
    "ReportRow",
    "bucket_start",
    "build_report",
    "wrap_ups",
]

#: what ``--by`` takes
BY_CHOICES = ("queue", "agent", "hour", "day", "week", "month")
_INTERVALS = ("hour", "day", "week", "month")
_LOGGED_OUT, _PAUSED, _WRAP_UP = "logged_out", "paused", "wrap_up"


@dataclass(frozen=True, slots=True)
class AgentState:
    """An agent entered ``state`` at ``at`` (seconds since the epoch)."""

    agent: str
    at: float
    state: str


@dataclass(frozen=True, slots=True)
class Pause:
    """An ended pause (``agent_pauses``), times in seconds since the epoch."""

    agent: str
    reason: str
    started_at: float
    ended_at: float


@dataclass(frozen=True, slots=True)
class Callback:
    """A callback request (``callback_requests``)."""

    queue: str
    requested_at: float
    status: str


@dataclass(frozen=True, slots=True)
class ReportData:
    """The rows of a range, as :mod:`.load` reads them.

    ``states``: every agent's state changes in the range, each agent's last one
    before it first (the state it was in at ``since``), in time order.
    """

    calls: Sequence[CallRecord] = ()
    states: Sequence[AgentState] = ()
    pauses: Sequence[Pause] = ()
    callbacks: Sequence[Callback] = ()


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One row: its interval (None on ``--by queue|agent``), queue or agent, span, figures."""

    interval: str | None
    interval_start: dt.datetime | None
    queue: str | None
    agent: str | None
    span_s: float
    figures: Figures


@dataclass(frozen=True, slots=True)
class Report:
    by: str
    since: dt.datetime
    until: dt.datetime
    zone: str
    rows: list[ReportRow] = field(default_factory=list)


def bucket_start(at: dt.datetime, by: str, zone: ZoneInfo) -> dt.datetime:
    """The start of the hour, day, ISO week or month holding ``at``, local to ``zone``."""
    local = at.astimezone(zone)
    if by == "hour":
        start = local.replace(minute=0, second=0, microsecond=0)
    elif by == "day":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif by == "week":
        monday = local.date() - dt.timedelta(days=local.isoweekday() - 1)
        start = dt.datetime.combine(monday, dt.time(), zone)
    elif by == "month":
        start = dt.datetime.combine(local.date().replace(day=1), dt.time(), zone)
    else:
        raise ValueError(f"no interval {by!r}: one of {', '.join(_INTERVALS)}")
    return start


def _next_start(start: dt.datetime, by: str, zone: ZoneInfo) -> dt.datetime:
    if by == "hour":  # an hour of real time, whatever the wall clock does
        return (start.astimezone(dt.UTC) + dt.timedelta(hours=1)).astimezone(zone)
    if by == "day":
        day = start.date() + dt.timedelta(days=1)
    elif by == "week":
        day = start.date() + dt.timedelta(days=7)
    else:
        day = (start.date().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return dt.datetime.combine(day, dt.time(), zone)


def _label(start: dt.datetime, by: str) -> str:
    if by == "hour":
        return start.strftime("%Y-%m-%d %H:00")
    if by == "day":
        return start.strftime("%Y-%m-%d")
    if by == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m")


def wrap_ups(ends: Mapping[str, Sequence[tuple[float, str]]], states: Iterable[AgentState]
             ) -> dict[str, float]:  # fmt: skip
    """Each answered call's wrap-up: the agent's WRAP_UP spell (from entering it to its
    next state) that began at or after the call's conversation ended, given to the
    last of the agent's calls to end by then. ``ends``: per agent, (conversation end,
    call id) in time order. A spell still open at the last state read is not counted.
    """
    out: dict[str, float] = {}
    by_agent: dict[str, list[AgentState]] = {}
    for s in states:
        by_agent.setdefault(s.agent, []).append(s)
    for agent, changes in by_agent.items():
        mine = ends.get(agent)
        if not mine:
            continue
        times = [t for t, _ in mine]
        for this, after in zip(changes, changes[1:], strict=False):
            if this.state != _WRAP_UP:
                continue
            # the conversation ends a moment before the state change is stamped: 1 s slack
            i = bisect.bisect_right(times, this.at + 1.0) - 1
            if i >= 0:
                call_id = mine[i][1]
                out[call_id] = out.get(call_id, 0.0) + max(0.0, after.at - this.at)
    return out


def _agent_time(states: Sequence[AgentState], since: float, until: float) -> dict[str, AgentTime]:
    """Per agent: time logged in (any state but logged out) and paused within [since, until)."""
    by_agent: dict[str, list[AgentState]] = {}
    for s in states:
        by_agent.setdefault(s.agent, []).append(s)
    out: dict[str, AgentTime] = {}
    for agent, changes in by_agent.items():
        staffed = paused = 0.0
        for i, this in enumerate(changes):
            end = changes[i + 1].at if i + 1 < len(changes) else until
            part = clipped_seconds(this.at, end, since, until)
            if this.state != _LOGGED_OUT:
                staffed += part
            if this.state == _PAUSED:
                paused += part
        out[agent] = AgentTime(agent, staffed, paused)
    return out


def build_report(
    data: ReportData,
    *,
    by: str,
    since: dt.datetime,
    until: dt.datetime,
    zone: ZoneInfo,
    targets: Mapping[str, QueueTargets],
    now: dt.datetime | None = None,
) -> Report:
    """The report of ``data`` over ``[since, until)`` grouped ``by`` (:data:`BY_CHOICES`).

    ``targets``: each configured queue's (its rows appear on ``--by queue`` even
    without calls); ``now``: agent states still running are counted up to it, not
    past it (None: up to ``until``).
    """
    if by not in BY_CHOICES:
        raise ValueError(f"--by must be one of {', '.join(BY_CHOICES)}, not {by!r}")
    if not since < until:
        raise ValueError(f"--from ({since.isoformat()}) must be before --to ({until.isoformat()})")
    t0, t1 = since.timestamp(), until.timestamp()
    calls = [c for c in data.calls if t0 <= c.entered_at < t1]
    report = Report(by, since, until, zone.key)
    default = QueueTargets()
    if by == "queue":
        names = sorted(set(targets) | {c.queue for c in calls})
        for name in names:
            q = targets.get(name, default)
            fig = figures(
                [c for c in calls if c.queue == name],
                q,
                callbacks=[_callback(cb) for cb in data.callbacks
                           if cb.queue == name and t0 <= cb.requested_at < t1],
            )  # fmt: skip
            report.rows.append(
                ReportRow(None, None, name, None, t1 - t0, staffing(fig, t1 - t0, q))
            )
        return report
    if by == "agent":
        end = min(t1, now.timestamp()) if now is not None else t1
        times = _agent_time(data.states, t0, max(t0, end))
        pauses: dict[str, list[PauseRecord]] = {}
        for p in data.pauses:
            part = clipped_seconds(p.started_at, p.ended_at, t0, t1)
            if part > 0:
                pauses.setdefault(p.agent, []).append(PauseRecord(p.agent, p.reason, part))
        agents = sorted({c.agent for c in calls if c.agent is not None} | set(times))
        for agent in agents:
            mine = [c for c in calls if c.agent == agent]
            # the agent's calls, each against its own queue's threshold: their queue figures
            # are left out (rule 2), so one target set serves for the handle figures
            fig = figures(
                mine,
                default,
                agent_time=[times.get(agent, AgentTime(agent, 0.0))],
                pauses=pauses.get(agent, ()),
            )
            fig = replace(fig, offered=0, abandoned=0, short_abandoned=0, abandoned_in_sl=0,
                          timed_out=0, lost=0, answered_in_sl=0, service_level=None,
                          service_level_app_queue=None, service_level_app_queue2=None,
                          abandon_rate=None, longest_wait_s=None)  # fmt: skip
            report.rows.append(ReportRow(None, None, None, agent, t1 - t0, fig))
        return report
    groups: dict[tuple[dt.datetime, str], list[CallRecord]] = {}
    for c in calls:
        start = bucket_start(dt.datetime.fromtimestamp(c.entered_at, dt.UTC), by, zone)
        groups.setdefault((start, c.queue), []).append(c)
    asked: dict[tuple[dt.datetime, str], list[CallbackRecord]] = {}
    for cb in data.callbacks:
        if t0 <= cb.requested_at < t1:
            start = bucket_start(dt.datetime.fromtimestamp(cb.requested_at, dt.UTC), by, zone)
            asked.setdefault((start, cb.queue), []).append(_callback(cb))
            groups.setdefault((start, cb.queue), [])
    for (start, name), rows in sorted(groups.items()):
        span = _span(start, by, zone, since, until)
        q = targets.get(name, default)
        fig = staffing(figures(rows, q, callbacks=asked.get((start, name), ())), span, q)
        report.rows.append(ReportRow(_label(start, by), start, name, None, span, fig))
    return report


def _span(start: dt.datetime, by: str, zone: ZoneInfo, since: dt.datetime, until: dt.datetime
          ) -> float:  # fmt: skip
    """The seconds of the interval starting at ``start`` inside ``[since, until)``."""
    end = _next_start(start, by, zone)
    return clipped_seconds(start.timestamp(), end.timestamp(), since.timestamp(), until.timestamp())


def _callback(cb: Callback) -> CallbackRecord:
    return CallbackRecord(cb.queue, cb.status)
