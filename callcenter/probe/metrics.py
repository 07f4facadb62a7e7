"""Prometheus metrics of the probe (``--serve-metrics``), in their own registry.

An operator alerts on ``time() - hotline_probe_last_success_timestamp_seconds``
growing, or on ``rate(hotline_probe_calls_total{result!="success"}[10m])``.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from .report import RESULTS, CallReport

_SECONDS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)


class ProbeMetrics:
    """Counters and histograms fed with every `CallReport`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.calls = Counter("hotline_probe_calls", "Probe calls by result", ["result"], registry=r)
        self.codes = Counter(
            "hotline_probe_sip_code",
            "Final SIP status of the probe's INVITEs (none: no final response)",
            ["code"],
            registry=r,
        )
        self.answer = Histogram(
            "hotline_probe_time_to_answer_seconds",
            "INVITE sent to 200 OK",
            buckets=_SECONDS,
            registry=r,
        )
        self.agent = Histogram(
            "hotline_probe_time_to_agent_seconds",
            "INVITE sent to an agent heard (wait_agent)",
            buckets=_SECONDS,
            registry=r,
        )
        self.rms = Gauge(
            "hotline_probe_audio_rms",
            "RMS (16-bit full scale 32767) of the audio heard by the last answered probe call",
            registry=r,
        )
        self.last_success = Gauge(
            "hotline_probe_last_success_timestamp_seconds",
            "When the last successful probe call started (epoch seconds; 0: never)",
            registry=r,
        )
        for result in RESULTS:
            self.calls.labels(result)

    def record(self, report: CallReport) -> None:
        """Count one finished call."""
        self.calls.labels(report.result).inc()
        self.codes.labels("none" if report.code is None else str(report.code)).inc()
        if report.time_to_answer is not None:
            self.answer.observe(report.time_to_answer)
        if report.time_to_agent is not None:
            self.agent.observe(report.time_to_agent)
        if report.answered:
            self.rms.set(report.rms)
        if report.result == "success":
            self.last_success.set(report.started_at)

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)

    async def serve(self, host: str, port: int) -> tuple[web.AppRunner, int]:
        """Serve ``/metrics`` on ``host:port`` (0: any); returns the runner and the port."""

        async def metrics(_: web.Request) -> web.Response:
            response = web.Response(body=self.render())
            response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
            return response

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        return runner, int(runner.addresses[0][1])
