"""``callcenter probe``: rounds of test calls, their reports, optional metrics.

A round places ``calls`` calls, the i-th starting ``i / rate`` seconds after
the round began (calls overlap; at most `SipEngine.max_calls` at once). One
report line per call as it finishes, a summary line per round. With
``serve_metrics`` the probe serves ``/metrics`` and starts a round every
``interval`` seconds until SIGINT/SIGTERM.

Exit status: 0 every call succeeded, 1 some did not, 2 the probe could not run
(bad script, no pjsua2, SIP address in use).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .call import run_call
from .metrics import ProbeMetrics
from .pjcall import PJSUA2_MISSING
from .report import CallReport, summarize, summary_line
from .script import DEFAULT_SCRIPT, Step
from .sip import SipEngine, SipError


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """Everything ``callcenter probe`` was asked to do."""

    uri: str
    script: tuple[Step, ...] = DEFAULT_SCRIPT
    calls: int = 1
    rate: float = 1.0
    json: bool = False
    serve_metrics: tuple[str, int] | None = None
    interval: float = 60.0
    bind: tuple[str, int] = ("127.0.0.1", 0)
    timeout: float = 30.0
    log_level: int = 0


def main(options: ProbeOptions) -> int:
    """Run the probe; returns the exit status."""
    if PJSUA2_MISSING is not None:
        print(f"callcenter probe: {PJSUA2_MISSING}", file=sys.stderr)
        return 2
    return asyncio.run(_main(options))


async def probe_round(
    engine: SipEngine, options: ProbeOptions, done: Callable[[CallReport], None], first: int = 1
) -> list[CallReport]:
    """Place ``options.calls`` calls at ``options.rate`` per second; ``done`` sees each report."""
    loop = asyncio.get_running_loop()
    slots = asyncio.Semaphore(engine.max_calls)
    began = loop.time()

    async def one(i: int) -> CallReport:
        await asyncio.sleep(max(0.0, began + i / options.rate - loop.time()))
        async with slots:
            report = await run_call(
                engine,
                options.uri,
                options.script,
                number=first + i,
                answer_timeout=options.timeout,
            )
        done(report)
        return report

    return list(await asyncio.gather(*(one(i) for i in range(options.calls))))


async def _main(options: ProbeOptions) -> int:
    host, port = options.bind
    engine = SipEngine(host, port, options.log_level)
    try:
        await engine.start()
    except SipError as exc:
        print(f"callcenter probe: cannot start SIP on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    try:
        if options.serve_metrics is not None:
            return await _serve(engine, options)
        reports = await probe_round(engine, options, _printer(options))
        _print_summary(options, reports)
        return 0 if all(r.result == "success" for r in reports) else 1
    finally:
        await engine.close()


def _printer(
    options: ProbeOptions, also: Callable[[CallReport], None] | None = None
) -> Callable[[CallReport], None]:
    def done(report: CallReport) -> None:
        if also is not None:
            also(report)
        text = json.dumps(report.as_json()) if options.json else report.line()
        print(text, flush=True)

    return done


def _print_summary(options: ProbeOptions, reports: list[CallReport]) -> None:
    summary = summarize(reports)
    print(json.dumps(summary) if options.json else summary_line(summary), flush=True)


async def _serve(engine: SipEngine, options: ProbeOptions) -> int:
    assert options.serve_metrics is not None
    metrics = ProbeMetrics()
    host, port = options.serve_metrics
    try:
        runner, bound = await metrics.serve(host, port)
    except OSError as exc:
        print(f"callcenter probe: cannot serve metrics on {host}:{port}: {exc}", file=sys.stderr)
        return 2
    print(f"probe metrics on http://{host}:{bound}/metrics", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    placed = 0
    try:
        while not stop.is_set():
            began = loop.time()
            work = asyncio.ensure_future(
                probe_round(engine, options, _printer(options, metrics.record), placed + 1)
            )
            halt = asyncio.ensure_future(stop.wait())
            await asyncio.wait({work, halt}, return_when=asyncio.FIRST_COMPLETED)
            halt.cancel()
            if not work.done():  # stopped mid-round: let the calls hang up
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
                break
            reports = work.result()
            placed += len(reports)
            _print_summary(options, reports)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    stop.wait(), max(0.0, began + options.interval - loop.time())
                )
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        await runner.cleanup()
    return 0
