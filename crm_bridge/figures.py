"""The CRM backend's figures for ``/metrics``: its failed requests by reason, the
breaker's state, the webhook's failures. Registered on the registry the controller's
``Metrics`` owns (no global registry), so the CRM bridge needs nothing of the
controller's. The lookups' latency and the lookups that failed (what callers saw)
are the controller's metrics (``hotline_crm_lookup_seconds``,
``hotline_crm_lookup_failures_total``, ``callcenter.metrics``)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from crm_bridge.breaker import BreakerState
from crm_bridge.card import FAILURE_REASONS

__all__ = ["CrmFigures"]


class CrmFigures:
    """``hotline_crm_failures_total{reason}``, ``hotline_crm_breaker_state``,
    ``hotline_crm_webhook_failures_total`` on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.failures = Counter(
            "hotline_crm_failures",
            "Failed CRM requests by reason (each attempt of a retried lookup counts;"
            " breaker_open counts lookups not asked).",
            ["reason"],
            registry=registry,
        )
        for reason in FAILURE_REASONS:
            self.failures.labels(reason=reason)
        self.breaker = Gauge(
            "hotline_crm_breaker_state",
            "The CRM circuit breaker: 0 closed, 1 half-open (a probe may go), 2 open.",
            registry=registry,
        )

        self.webhook_failures = Counter(
            "hotline_crm_webhook_failures",
            "Screen-pop webhooks that failed (refused, an error status, too slow).",
            registry=registry,
        )

    def watch_breaker(self, state: Callable[[], BreakerState]) -> None:
        """Read the breaker's state at each scrape."""
        self.breaker.set_function(lambda: float(state().value))

    def failed(self, reason: str) -> None:
        self.failures.labels(reason=reason).inc()

    def webhook_failed(self) -> None:
        self.webhook_failures.inc()
