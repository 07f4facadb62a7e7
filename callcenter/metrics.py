"""Prometheus metrics of one controller, in a registry of its own.

No global registry: each ``Metrics`` owns a ``CollectorRegistry``, so tests and
several controllers in one process never share counters. The controller calls
the small methods below; ``/metrics`` serves ``render()``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST as _CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from acd import Outcome

#: The Content-Type of ``render()``'s output.
CONTENT_TYPE = _CONTENT_TYPE

#: How a call can end (the ``outcome`` label): ``acd.Outcome``, the one definition.
OUTCOMES = frozenset(o.value for o in Outcome)

#: Agent states always exported (zero when nobody is in them).
AGENT_STATES = ("ready", "ringing", "talking", "wrapup", "paused", "offline")

#: Hotline waits: a few seconds is good, 20 s is the usual SL threshold, ten
#: minutes is about when callers stop waiting.
WAIT_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)

#: Event-loop lag: under a millisecond is healthy, a second is an outage.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


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


class _WriterCollector(Collector):
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
        for code, count in sorted(f.set_aside.items()):
            failed.add_metric([code], count)
        yield failed


class Metrics:
    """The controller's Prometheus metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.calls = Counter(
            "hotline_calls", "Calls that ended, by outcome.", ["outcome"], registry=r
        )
        self.waiting = Gauge("hotline_calls_waiting", "Callers queued right now.", registry=r)
        self.agents = Gauge("hotline_agents", "Agents by state.", ["state"], registry=r)
        self.wait = Histogram(
            "hotline_wait_seconds",
            "Time callers spent queued before answer or abandon.",
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.ami = Gauge(
            "hotline_ami_connected", "1 when the AMI link to the node is up.", ["node"], registry=r
        )
        self.screen_pops = Counter(
            "hotline_screen_pops", "Screen-pops that reached an agent's open desktop.", registry=r
        )
        self.recordings = Counter("hotline_recordings", "Recordings started.", registry=r)
        self.recordings_missing = Counter(
            "hotline_recordings_missing",
            "Bridged calls whose MixMonitor could not be started (an error to alert on).",
            registry=r,
        )
        self.loop_lag = Histogram(
            "hotline_event_loop_lag_seconds",
            "How late the asyncio event loop woke a sleeping task.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.ivr_entries = Counter(
            "hotline_ivr_entries",
            "Callers who entered an IVR node, by flow and node (names from the IVR file).",
            ["flow", "node"],
            registry=r,
        )
        self.ivr_dropoffs = Counter(
            "hotline_ivr_dropoffs",
            "Callers who hung up while at an IVR node, by flow and node.",
            ["flow", "node"],
            registry=r,
        )
        self.ivr_voicemails = Counter(
            "hotline_ivr_voicemails",
            "Voicemails stored (a file with a message) from an IVR voicemail node, by flow"
            " and node.",
            ["flow", "node"],
            registry=r,
        )
        self.ivr_callbacks = Counter(
            "hotline_ivr_callbacks",
            "Callback requests made at an IVR callback node, by flow and node.",
            ["flow", "node"],
            registry=r,
        )
        self.survey_answers = Counter(
            "hotline_survey_answers",
            "Post-call survey answers, by queue, question (csat, nps, ces) and score.",
            ["queue", "question", "score"],
            registry=r,
        )
        for state in AGENT_STATES:
            self.agents.labels(state=state).set(0)
        self._writer: Callable[[], WriterFigures] | None = None

    def watch_writer(self, figures: Callable[[], WriterFigures]) -> None:
        """Export the SQL writer's figures (``StoreWriter.health``) at each scrape."""
        first = self._writer is None
        self._writer = figures
        if first:  # the registry reads the collector once now, to learn its names
            self.registry.register(_WriterCollector(lambda: self._current_writer()))

    def _current_writer(self) -> WriterFigures:
        assert self._writer is not None
        return self._writer()

    def writer_health(self) -> dict[str, Any] | None:
        """The writer's figures for ``/healthz``; None when no writer is watched."""
        if self._writer is None:
            return None
        f = self._writer()
        return {
            "database_up": f.db_up,
            "pending_writes": f.pending,
            "oldest_pending_s": round(f.oldest_pending_s, 3),
            "replayed": f.replayed,
            "failed": sum(f.set_aside.values()),
            "last_error": None if f.db_up else f.last_error,
            "journal": f.journal,
        }

    # -- what the controller calls

    def call_outcome(self, outcome: str, wait_s: float | None = None) -> None:
        """Count an ended call; ``wait_s`` is its queue wait (``None``: never queued)."""
        if outcome not in OUTCOMES:
            raise ValueError(
                f"unknown call outcome {outcome!r}; expected one of {sorted(OUTCOMES)}"
            )
        self.calls.labels(outcome=outcome).inc()
        if wait_s is not None:
            self.wait.observe(max(0.0, wait_s))

    def set_waiting(self, n: int) -> None:
        self.waiting.set(n)

    def set_agents(self, counts: Mapping[str, int]) -> None:
        """Set the agents-by-state gauge; states missing from ``counts`` become 0."""
        for state in set(AGENT_STATES) | set(counts):
            self.agents.labels(state=state).set(counts.get(state, 0))

    def ami_state(self, node: str, up: bool) -> None:
        self.ami.labels(node=node).set(1 if up else 0)

    def screen_pop_delivered(self) -> None:
        self.screen_pops.inc()

    def recording_started(self) -> None:
        self.recordings.inc()

    def recording_missing(self) -> None:
        self.recordings_missing.inc()

    def ivr_entry(self, flow: str, node: str) -> None:
        """A caller entered IVR node ``node`` of ``flow`` (names from the IVR file: bounded)."""
        self.ivr_entries.labels(flow=flow, node=node).inc()

    def ivr_dropoff(self, flow: str, node: str) -> None:
        """A caller hung up while at IVR node ``node`` of ``flow``."""
        self.ivr_dropoffs.labels(flow=flow, node=node).inc()

    def ivr_voicemail(self, flow: str, node: str) -> None:
        """A voicemail left at node ``node`` of ``flow`` was stored."""
        self.ivr_voicemails.labels(flow=flow, node=node).inc()

    def ivr_callback(self, flow: str, node: str) -> None:
        """A caller asked for a callback at node ``node`` of ``flow``."""
        self.ivr_callbacks.labels(flow=flow, node=node).inc()

    def survey_answer(self, queue: str, question: str, score: int) -> None:
        """One survey answer (queue from the config, question csat/nps/ces, score 0-10)."""
        self.survey_answers.labels(queue=queue, question=question, score=str(score)).inc()

    def loop_lag_observed(self, lag_s: float) -> None:
        self.loop_lag.observe(max(0.0, lag_s))

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
