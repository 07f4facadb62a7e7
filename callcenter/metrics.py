"""Prometheus metrics of one controller, in a registry of its own.

No global registry: each ``Metrics`` owns a ``CollectorRegistry``, so tests and
several controllers in one process never share counters. The controller calls
the small methods below at state changes (a call ended, a link went down); what
is a figure of *now* (callers waiting, the longest wait, agents by state, the
writer's backlog) is read from its owner when ``/metrics`` is scraped
(``callcenter.scraped``), so the event loop pays nothing for it between scrapes.
``/metrics`` serves ``render()``.

Labels are bounded: ``queue`` and ``node`` come from the config, ``outcome``
from ``acd.Outcome``, ``state`` from ``acd.AgentState`` (as the pages name it),
``flow`` and ``node`` of the IVR from the IVR file; never a caller or a call id.
Every combination is exported from the start (0), so an alert rule has data
before the first call: ``Metrics(queues=..., nodes=...)``, ``know_queues``,
``know_ivr``. docs/metrics.md lists every name (tests/test_metrics_reference.py).
"""

from __future__ import annotations

import platform
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as _CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from acd import Outcome, kpis
from callcenter.scraped import (
    AGENT_STATES,
    CardLookupCounts,
    CrmFailureCollector,
    FanoutCollector,
    FloorCollector,
    FloorNow,
    QueueGoalsCollector,
    QueueNow,
    WriterCollector,
    WriterFigures,
    read_floor,
)
from ivr import IvrDefinition

__all__ = [
    "AGENT_STATES",
    "CONTENT_TYPE",
    "NO_QUEUE",
    "OUTCOMES",
    "FloorNow",
    "Metrics",
    "QueueNow",
    "WriterFigures",
    "read_floor",
]

#: The Content-Type of ``render()``'s output.
CONTENT_TYPE = _CONTENT_TYPE

#: How a call can end (the ``outcome`` label): ``acd.Outcome``, the one definition.
OUTCOMES = frozenset(o.value for o in Outcome)

#: The ``queue`` label of a call that ended before it reached a queue (``ivr_hangup``);
#: an empty label value is, to Prometheus, the label absent.
NO_QUEUE = ""

#: Hotline waits: a few seconds is good, 20 s is the usual SL threshold, ten
#: minutes is about when callers stop waiting.
WAIT_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)

#: Conversations: from a quick answer to an hour.
TALK_BUCKETS = (15, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600)

#: After-call work: none (``wrap_up_s: 0``) to ten minutes.
WRAP_UP_BUCKETS = (0.5, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600)

#: Event-loop lag: under a millisecond is healthy, a second is an outage.
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

#: CRM lookups: a cached card in microseconds, SQL in milliseconds, the timeout (1 s
#: by default) at the top.
CRM_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)

#: Screen-pops: written to the agent's socket within milliseconds when all is well.
POP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

#: Routing decisions: the core's CPU time for one input, tens of microseconds.
DECISION_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)

#: Screen-pops sent and not yet written to a socket, kept to time their delivery.
POPS_TIMED = 4096


def _version() -> str:
    try:
        return version("hotline")
    except PackageNotFoundError:  # run from a tree that was never installed
        return "unknown"


class Metrics:
    """The controller's Prometheus metrics.

    ``queues`` and ``nodes``: the config's names, each exported from the start.
    """

    def __init__(self, *, queues: Iterable[str] = (), nodes: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        #: the queues whose series exist (config order; a reload adds, never removes)
        self.queues: list[str] = []
        self._writer: Callable[[], WriterFigures] | None = None
        self._ever_up: set[str] = set()
        self._up: dict[str, bool] = {}
        self._pops: OrderedDict[str, float] = OrderedDict()
        #: labelled children of the per-call families, by (family, label values)
        self._children: dict[tuple[Any, ...], Any] = {}

        # -- calls
        self.calls = Counter(
            "hotline_calls", "Calls that ended, by queue and outcome.", ["queue", "outcome"],
            registry=r,
        )  # fmt: skip
        self.wait = Histogram(
            "hotline_wait_seconds",
            "Time callers spent queued before answer or leaving, by queue (queued calls only).",
            ["queue"],
            buckets=WAIT_BUCKETS,
            registry=r,
        )
        self.talk = Histogram(
            "hotline_talk_seconds",
            "Answer to end of conversation of answered calls, by queue.",
            ["queue"],
            buckets=TALK_BUCKETS,
            registry=r,
        )
        self.wrap_up = Histogram(
            "hotline_wrap_up_seconds",
            "After-call work: an agent's time in wrap-up after a call of the queue.",
            ["queue"],
            buckets=WRAP_UP_BUCKETS,
            registry=r,
        )
        self.decision = Histogram(
            "hotline_routing_decision_seconds",
            "CPU time the call-flow core and the ACD took over one input that led to an offer.",
            buckets=DECISION_BUCKETS,
            registry=r,
        )
        self._floor = FloorCollector(self.queues)
        self._goals = QueueGoalsCollector(self.queues)
        r.register(self._floor)
        r.register(self._goals)
        self._fanout: Callable[[], Mapping[str, Any]] | None = None
        r.register(FanoutCollector(self.fanout_health))

        # -- the PBX links
        self.ami = Gauge(
            "hotline_ami_connected", "1 when the AMI link to the node is up.", ["node"], registry=r
        )
        self.ami_reconnects = Counter(
            "hotline_ami_reconnects",
            "Times the AMI link to the node came back after it was up and went down.",
            ["node"],
            registry=r,
        )

        # -- agents' desktops
        self.screen_pops = Counter(
            "hotline_screen_pops", "Screen-pops that reached an agent's open desktop.", registry=r
        )
        self.screen_pop_latency = Histogram(
            "hotline_screen_pop_seconds",
            "From the offer (the agent's phone starts ringing) to the screen-pop written to "
            "the agent's open desktop.",
            buckets=POP_BUCKETS,
            registry=r,
        )

        # -- recordings
        self.recordings = Counter("hotline_recordings", "Recordings started.", registry=r)
        self.recordings_missing = Counter(
            "hotline_recordings_missing",
            "Bridged calls whose MixMonitor could not be started (an error to alert on).",
            registry=r,
        )

        # -- CRM lookups
        self.crm_latency = Histogram(
            "hotline_crm_lookup_seconds",
            "How long a caller's CRM lookup took (by number or by account), cache hits "
            "included, failures and timeouts included.",
            buckets=CRM_BUCKETS,
            registry=r,
        )
        self._crm = CrmFailureCollector()
        r.register(self._crm)

        # -- the process
        self.loop_lag = Histogram(
            "hotline_event_loop_lag_seconds",
            "How late the asyncio event loop woke a sleeping task.",
            buckets=LAG_BUCKETS,
            registry=r,
        )
        Gauge(
            "hotline_build_info",
            "1, labelled with the controller's version and Python's.",
            ["version", "python"],
            registry=r,
        ).labels(version=_version(), python=platform.python_version()).set(1)

        # -- the IVR
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

        for outcome in sorted(OUTCOMES):
            self.calls.labels(queue=NO_QUEUE, outcome=outcome)
        self.know_queues(queues)
        for node in nodes:
            self.ami.labels(node=node).set(0)
            self.ami_reconnects.labels(node=node)

    # -- what exists ------------------------------------------------------------------------
    def know_queues(self, names: Iterable[str]) -> None:
        """Export every per-queue series of these queues (0 until counted): a queue's
        alerts have data before its first call. A reload's new queues come this way."""
        for name in names:
            if name in self.queues:
                continue
            self.queues.append(name)
            for outcome in sorted(OUTCOMES):
                self.calls.labels(queue=name, outcome=outcome)
            self.wait.labels(queue=name)
            self.talk.labels(queue=name)
            self.wrap_up.labels(queue=name)

    def know_ivr(self, ivr: IvrDefinition) -> None:
        """Export the IVR's per-node counters (0 until counted): entries and drop-offs
        for every node, voicemails and callbacks for the nodes of those types."""
        for name, node in ivr.nodes.items():
            self.ivr_entries.labels(flow=ivr.name, node=name)
            self.ivr_dropoffs.labels(flow=ivr.name, node=name)
            if node.type == "voicemail":
                self.ivr_voicemails.labels(flow=ivr.name, node=name)
            elif node.type == "callback":
                self.ivr_callbacks.labels(flow=ivr.name, node=name)

    def watch_floor(self, figures: Callable[[], FloorNow]) -> None:
        """Read callers waiting, the longest wait and agents by state from ``figures``
        at each scrape (:func:`read_floor` over the controller's ACD)."""
        self._floor.read = figures

    def watch_targets(self, targets: Callable[[], Mapping[str, kpis.QueueTargets]]) -> None:
        """Read the queues' targets, by queue name, from ``targets`` (the running config's
        ``queue_targets()``) at each scrape."""
        self._goals.targets = targets

    def watch_service_level(self, levels: Callable[[], Mapping[str, float | None]]) -> None:
        """Read each queue's service level over the last 30 minutes from ``levels`` (the
        wallboard's figure, ``callcenter.app.recent_service_levels``) at each scrape."""
        self._goals.service_levels = levels

    def watch_writer(self, figures: Callable[[], WriterFigures]) -> None:
        """Export the SQL writer's figures (``StoreWriter.health``) at each scrape."""
        first = self._writer is None
        self._writer = figures
        if first:  # the registry reads the collector once now, to learn its names
            self.registry.register(WriterCollector(lambda: self._current_writer()))

    def _current_writer(self) -> WriterFigures:
        assert self._writer is not None
        return self._writer()

    def watch_fanout(self, health: Callable[[], Mapping[str, Any]]) -> None:
        """Export the live fan-out's figures (``RedisFanout.health``) at each scrape."""
        self._fanout = health

    def fanout_health(self) -> Mapping[str, Any] | None:
        """The fan-out's figures for ``/healthz``; None when no fan-out is configured."""
        return None if self._fanout is None else self._fanout()

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

    # -- what the controller calls ------------------------------------------------------------
    def call_outcome(
        self,
        outcome: str,
        wait_s: float | None = None,
        *,
        queue: str = NO_QUEUE,
        talk_s: float | None = None,
    ) -> None:
        """Count an ended call of ``queue``; ``wait_s`` is its queue wait (``None``: never
        queued), ``talk_s`` its conversation (answered calls).

        A caller who hung up in the IVR never queued: no wait is observed for it, whatever
        ``wait_s`` says (a zero wait would flatter the service level)."""
        if outcome not in OUTCOMES:
            raise ValueError(
                f"unknown call outcome {outcome!r}; expected one of {sorted(OUTCOMES)}"
            )
        self._child(self.calls, queue, outcome).inc()
        if wait_s is not None and outcome != Outcome.IVR_HANGUP.value:
            self._child(self.wait, queue).observe(max(0.0, wait_s))
        if talk_s is not None:
            self._child(self.talk, queue).observe(max(0.0, talk_s))

    def wrap_up_ended(self, queue: str, seconds: float) -> None:
        """An agent's wrap-up after a call of ``queue`` ended after ``seconds``."""
        self._child(self.wrap_up, queue).observe(max(0.0, seconds))

    def _child(self, family: Any, *labels: str) -> Any:
        """``family.labels(*labels)``, kept: prometheus_client checks and locks on each
        ``labels()`` call (about 8 us; the kept child: a dict lookup)."""
        key = (id(family), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    def routing_decision(self, seconds: float) -> None:
        """The core took ``seconds`` over an input that led to an offer."""
        self.decision.observe(seconds)

    def ami_state(self, node: str, up: bool) -> None:
        """The link to ``node`` is up or down; down then up again counts a reconnect."""
        if up and not self._up.get(node, False) and node in self._ever_up:
            self.ami_reconnects.labels(node=node).inc()
        self._up[node] = up
        if up:
            self._ever_up.add(node)
        self.ami.labels(node=node).set(1 if up else 0)

    def screen_pop_sent(self, call_id: str) -> None:
        """A screen-pop for ``call_id`` went to an open desktop with the offer (timed from
        now until it is written to the socket; at most ``POPS_TIMED`` are kept)."""
        self._pops[call_id] = time.monotonic()
        if len(self._pops) > POPS_TIMED:
            self._pops.popitem(last=False)

    def screen_pop_delivered(self, call_id: str | None = None) -> None:
        """A screen-pop reached an agent's open desktop (written to its socket)."""
        self.screen_pops.inc()
        sent = self._pops.get(call_id) if call_id is not None else None
        if sent is not None:
            self.screen_pop_latency.observe(time.monotonic() - sent)

    def crm_lookup(self, seconds: float) -> None:
        """A caller's CRM lookup took ``seconds`` (found, not found or failed)."""
        self.crm_latency.observe(seconds)

    def crm_account_failure(self, reason: str) -> None:
        """A lookup by account failed (``reason``: "timeout" or "error"); the lookups by
        number count their own (:meth:`watch_crm`)."""
        self._crm.by_account[reason] += 1

    def watch_crm(self, figures: Callable[[], CardLookupCounts]) -> None:
        """Read the card lookup's failures (``crm_bridge.CrmLookup``) at each scrape."""
        self._crm.read = figures

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
