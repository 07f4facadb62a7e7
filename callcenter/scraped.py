"""The figures of *now*, read from their owners when ``/metrics`` is scraped.

Callers waiting, the longest wait and agents by state (the ACD), each queue's
30-minute service level (the wallboard's day) and its targets (the running config),
the CRM lookups that failed (the card lookup), the SQL writer's backlog: each
collector reads its source at the scrape, so the event loop pays nothing for them
between scrapes, and each exports every label set it knows from the start (0, or
NaN for a service level without calls). ``callcenter.metrics.Metrics`` registers
them and hands them their sources (``watch_*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

import acd
from acd import kpis
from callcenter.flow import PAGE_STATE

#: Agent states always exported (zero when nobody is in them): ``acd.AgentState``
#: as the agent's page and the wallboard name them.
AGENT_STATES = tuple(PAGE_STATE[s] for s in acd.AgentState)


# -- figures read at scrape time ---------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QueueNow:
    """One queue right now (``acd.QueueStats``, agent states as the pages name them)."""

    waiting: int = 0
    longest_wait_s: float = 0.0
    #: agents serving the queue, by state (an agent in two queues counts in both)
    agents: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FloorNow:
    """The floor right now: every agent by state, and each queue's figures."""

    agents: Mapping[str, int] = field(default_factory=dict)
    queues: Mapping[str, QueueNow] = field(default_factory=dict)


def read_floor(core: acd.Acd, now: float) -> FloorNow:
    """The ACD's figures at ``now`` (O(agents + calls): once per scrape, never per event)."""
    snap = core.snapshot(now)
    agents: dict[str, int] = {}
    for a in snap.agents:
        state = PAGE_STATE[a.state]
        agents[state] = agents.get(state, 0) + 1
    queues = {
        q.queue: QueueNow(
            q.waiting,
            q.longest_wait_s,
            {PAGE_STATE[state]: n for state, n in q.agents_by_state.items()},
        )
        for q in snap.queues
    }
    return FloorNow(agents, queues)


class FloorCollector(Collector):
    """Callers waiting, the longest wait and agents by state, read from ``read`` when
    scraped; every queue of ``queues`` (a list the owner may extend) is exported."""

    def __init__(self, queues: list[str]) -> None:
        self.queues = queues
        self.read: Callable[[], FloorNow] | None = None

    def collect(self) -> Iterator[Metric]:
        floor = self.read() if self.read is not None else FloorNow()
        queues = list(dict.fromkeys([*self.queues, *floor.queues]))
        waiting = GaugeMetricFamily(
            "hotline_calls_waiting",
            "Callers queued right now (waiting for an agent, or ringing one), by queue.",
            labels=["queue"],
        )
        longest = GaugeMetricFamily(
            "hotline_longest_wait_seconds",
            "How long the longest-waiting caller of the queue has waited so far (0: nobody).",
            labels=["queue"],
        )
        by_queue = GaugeMetricFamily(
            "hotline_queue_agents",
            "Agents serving the queue, by state (an agent of two queues counts in both).",
            labels=["queue", "state"],
        )
        for name in queues:
            q = floor.queues.get(name, QueueNow())
            waiting.add_metric([name], q.waiting)
            longest.add_metric([name], q.longest_wait_s)
            for state in AGENT_STATES:
                by_queue.add_metric([name, state], q.agents.get(state, 0))
        agents = GaugeMetricFamily(
            "hotline_agents", "Agents by state (each agent once).", labels=["state"]
        )
        for state in AGENT_STATES:
            agents.add_metric([state], floor.agents.get(state, 0))
        yield from (waiting, longest, by_queue, agents)


# -- the queues' targets, read from the running config at scrape time ----------------------
class QueueGoalsCollector(Collector):
    """Each queue's service level over the last 30 minutes (``service_levels``) and its
    targets (``targets``, the running config's), so an alert rule compares a figure
    with its own queue's; every queue of ``queues`` is exported."""

    def __init__(self, queues: list[str]) -> None:
        self.queues = queues
        #: queue name -> its targets (``acd.kpis.QueueTargets``, the running config's)
        self.targets: Callable[[], Mapping[str, kpis.QueueTargets]] | None = None
        self.service_levels: Callable[[], Mapping[str, float | None]] | None = None

    def collect(self) -> Iterator[Metric]:
        targets = self.targets() if self.targets is not None else {}
        levels = self.service_levels() if self.service_levels is not None else {}
        recent = GaugeMetricFamily(
            "hotline_service_level_30m_ratio",
            "Service level of the calls that left the queue in the last 30 minutes (the "
            "wallboard's; acd.kpis: answered within the threshold / (left - short "
            "abandons)); NaN when no such call.",
            labels=["queue"],
        )
        for name in dict.fromkeys([*self.queues, *levels]):
            level = levels.get(name)
            recent.add_metric([name], math.nan if level is None else level)
        yield recent
        sl = GaugeMetricFamily(
            "hotline_service_level_target_ratio",
            "The queue's service-level target (sl_target_pct / 100).",
            labels=["queue"],
        )
        threshold = GaugeMetricFamily(
            "hotline_service_level_threshold_seconds",
            "A call answered within this wait counts within the queue's service level.",
            labels=["queue"],
        )
        limit = GaugeMetricFamily(
            "hotline_longest_wait_limit_seconds",
            "The queue's limit for the longest wait (longest_wait_limit_s).",
            labels=["queue"],
        )
        for name, t in targets.items():
            sl.add_metric([name], t.sl_target)
            threshold.add_metric([name], t.sl_threshold_s)
            limit.add_metric([name], t.longest_wait_limit_s)
        yield from (sl, threshold, limit)


# -- CRM failures, read at scrape time ------------------------------------------------------
#: Why a CRM lookup failed (the ``reason`` label).
CRM_FAILURES = ("timeout", "error")


class CardLookupCounts(Protocol):
    """What the metrics read of the card lookup (``crm_bridge.CrmLookup``)."""

    @property
    def timeouts(self) -> int: ...
    @property
    def errors(self) -> int: ...


class CrmFailureCollector(Collector):
    """Failed CRM lookups: the card lookup's own counts (``read``) plus the lookups by
    account (``by_account``, counted by the owner)."""

    def __init__(self) -> None:
        self.read: Callable[[], CardLookupCounts] | None = None
        self.by_account = dict.fromkeys(CRM_FAILURES, 0)

    def collect(self) -> Iterator[Metric]:
        crm = self.read() if self.read is not None else None
        by_number = {"timeout": crm.timeouts, "error": crm.errors} if crm else {}
        failures = CounterMetricFamily(
            "hotline_crm_lookup_failures",
            "CRM lookups that failed, by reason (timeout, error); the caller goes on unknown.",
            labels=["reason"],
        )
        for reason in CRM_FAILURES:
            failures.add_metric([reason], by_number.get(reason, 0) + self.by_account[reason])
        yield failures


# -- the SQL writer, read at scrape time ---------------------------------------------------
class WriterFigures(Protocol):
    """What the metrics read of the SQL writer (``callcenter.storage.WriterHealth``)."""

    @property
    def db_up(self) -> bool: ...
    @property
    def pending(self) -> int: ...
    @property
    def oldest_pending_s(self) -> float: ...
    @property
    def applied(self) -> int: ...
    @property
    def replayed(self) -> int: ...
    @property
    def set_aside(self) -> dict[str, int]: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def journal(self) -> str | None: ...


#: the refusals the SQL writer sets aside (``callcenter.storage``: the ``StorageError``
#: codes a write can meet, a database constraint, a journal entry that does not decode):
#: exported from the start at 0, so an alert's ``increase()`` sees the first one
WRITER_REFUSALS = ("duplicate_outcome", "unknown_call", "unknown_agent", "constraint",
                   "bad_write")  # fmt: skip


class WriterCollector(Collector):
    """The writer's figures, read when ``/metrics`` is scraped."""

    def __init__(self, figures: Callable[[], WriterFigures]) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        f = self.figures()
        yield GaugeMetricFamily(
            "hotline_writer_database_up",
            "1 when the SQL writer's last attempt reached the database.",
            value=1 if f.db_up else 0,
        )
        yield GaugeMetricFamily(
            "hotline_writer_pending",
            "Writes submitted and not yet in the database (waiting in the local journal).",
            value=f.pending,
        )
        yield GaugeMetricFamily(
            "hotline_writer_oldest_pending_seconds",
            "Age of the oldest write not yet in the database (0 when none).",
            value=f.oldest_pending_s,
        )
        yield CounterMetricFamily(
            "hotline_writer_applied", "Writes applied to the database.", value=f.applied
        )
        yield CounterMetricFamily(
            "hotline_writer_replayed",
            "Writes applied from the journal after a database outage or a restart.",
            value=f.replayed,
        )
        failed = CounterMetricFamily(
            "hotline_writer_failed",
            "Writes the database refused for good, kept aside in the journal with their "
            "error, by error code.",
            labels=["code"],
        )
        for code in sorted(set(WRITER_REFUSALS) | set(f.set_aside)):
            failed.add_metric([code], f.set_aside.get(code, 0))
        yield failed


class FanoutCollector(Collector):
    """The fan-out link's figures (``RedisFanout.health``), read when scraped; zeros
    while no fan-out is configured."""

    def __init__(self, health: Callable[[], Mapping[str, object] | None]) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        h = self.health() or {}
        yield GaugeMetricFamily(
            "hotline_fanout_connected",
            "1 while the live fan-out's link to Redis is up (0 down, or none configured).",
            value=1 if h.get("up") else 0,
        )
        yield CounterMetricFamily(
            "hotline_fanout_reconnects",
            "Times the fan-out's link to Redis came back after it was up and went down.",
            value=int(h.get("reconnects", 0)),  # type: ignore[call-overload]
        )
        messages = CounterMetricFamily(
            "hotline_fanout_messages",
            "Live messages published to and received from the other web nodes, and dropped "
            "(the outbox full while Redis was away).",
            labels=["direction"],
        )
        for direction in ("published", "received", "dropped"):
            messages.add_metric([direction], int(h.get(direction, 0)))  # type: ignore[call-overload]
        yield messages
