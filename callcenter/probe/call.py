"""One probe call on the event loop: place it, walk the script, report.

Times are monotonic seconds measured from the moment pjsua2 sent the INVITE:
``time_to_answer`` ends at the 200 OK, ``time_to_agent`` at the start of the
first of the windows that satisfied the agent rule (`audio.AgentRule`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import Any

from .audio import AgentRule, AgentWatch, Ear
from .report import CallReport
from .script import Dtmf, Hangup, Step, Tone, Wait, WaitAgent, step_label
from .sip import SipEngine, SipError

DIGIT_SECONDS = 0.25  #: an RFC 4733 digit (pjsua: 160 ms) plus its gap, waited after `dtmf`
END_GRACE = 3.0  #: how long to wait for pjsua to confirm a hangup


class ProbeCall:
    """The event-loop side of one call: what the pjsua2 thread reported."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.answered: asyncio.Future[bool] = loop.create_future()
        self.ended: asyncio.Future[None] = loop.create_future()
        self.ear = Ear()
        self.code: int | None = None
        self.reason = ""
        self.answered_at: float | None = None
        self.provisional: int | None = None  #: the last 1xx (180, 183) seen
        self.responded = False  #: any response to the INVITE (100 Trying included)
        self.hanging_up = False  #: we sent BYE/CANCEL: what follows is not the far end

    def on_state(self, state: str, code: int, reason: str, at: float) -> None:
        if state == "early" and code:
            self.provisional = code
        elif state in ("connecting", "confirmed") and not self.answered.done():
            self.code, self.reason, self.answered_at = code, reason, at
            self.answered.set_result(True)
        elif state == "disconnected":
            if not self.answered.done():
                self.code, self.reason = (code or None), reason
                self.answered.set_result(False)
            if not self.ended.done():
                self.ended.set_result(None)

    def on_response(self, code: int) -> None:
        self.responded = True

    def on_audio(self, end: float, pcm: bytes) -> None:
        if not (self.ended.done() or self.hanging_up):
            self.ear.feed(end, pcm)


async def run_call(
    engine: SipEngine,
    uri: str,
    script: tuple[Step, ...],
    *,
    number: int,
    answer_timeout: float,
) -> CallReport:
    """Place one call to ``uri`` and run ``script``; never raises for call failures."""
    report = CallReport(call=number, uri=uri, started_at=time.time())
    report.digits_sent = "".join(s.digits for s in script if isinstance(s, Dtmf))
    call = ProbeCall()
    try:
        sent = await engine.call(call, uri)
    except SipError as exc:
        report.failure = f"cannot call {uri}: {exc}"
        return report
    try:
        await _answer(engine, call, report, answer_timeout)
        if report.answered:
            await _walk(engine, call, report, script, sent)
    finally:
        if not call.ended.done():
            await _hang_up(engine, call)
        report.duration = time.monotonic() - sent
        report.rms, report.hz = call.ear.overall()
    if call.answered_at is not None:
        report.time_to_answer = call.answered_at - sent
    return report


async def _answer(engine: SipEngine, call: ProbeCall, report: CallReport, timeout: float) -> None:
    try:
        answered = await asyncio.wait_for(asyncio.shield(call.answered), timeout)
    except TimeoutError:
        responded = call.responded
        await _hang_up(engine, call)  # CANCEL (or, with no response yet, a local 487)
        report.result = "unanswered"
        if not responded:
            # Nothing came back: report what pjsip itself reports when Timer B
            # (32 s) expires, not the 487 it makes up for the local CANCEL.
            report.code, report.reason = 408, "Request Timeout"
            report.failure = f"no SIP response within {timeout:g} s"
            return
        report.code, report.reason = call.code, call.reason
        report.failure = f"no answer within {timeout:g} s" + (
            f" (ringing: {call.provisional})" if call.provisional else ""
        )
        return
    report.code, report.reason = call.code, call.reason
    report.answered = answered
    if not answered:
        report.result = "unanswered"
        report.failure = (
            f"{call.code} {call.reason}" if call.code else f"call failed: {call.reason}"
        )


async def _walk(
    engine: SipEngine, call: ProbeCall, report: CallReport, script: tuple[Step, ...], sent: float
) -> None:
    report.result = "success"
    for number, step in enumerate(script, start=1):
        if isinstance(step, Hangup):
            break
        start = call.ear.mark()
        heard: float | None = None
        if isinstance(step, Wait):
            await _listen(call, step.seconds)
        elif isinstance(step, Dtmf):
            report.digits_accepted += await engine.dtmf(call, step.digits)
            await _listen(call, DIGIT_SECONDS * len(step.digits))
        elif isinstance(step, Tone):
            await engine.tone(call, step.hz)
            await _listen(call, step.seconds)
            await engine.tone(call, None)
        elif isinstance(step, WaitAgent):
            heard = await _wait_agent(call, step)
            if heard is not None and report.time_to_agent is None:
                # never before the answer (the windows' clock is the media thread's)
                report.time_to_agent = max(heard, call.answered_at or heard) - sent
        report.segments.append(call.ear.segment(number, step_label(step), start))
        if call.ended.done():
            report.result = "dropped"
            report.failure = f"the far end hung up during step {number} ({step_label(step)})"
            return
        if isinstance(step, WaitAgent) and heard is None:
            report.result = "no_agent"
            report.failure = f"no agent heard within {step.seconds:g} s ({_why_not(call)})"
            return
    await _hang_up(engine, call)


async def _hang_up(engine: SipEngine, call: ProbeCall) -> None:
    """Hang up and give pjsua `END_GRACE` seconds to confirm."""
    call.hanging_up = True
    await engine.hangup(call)
    try:
        await asyncio.wait_for(asyncio.shield(call.ended), END_GRACE)
    except TimeoutError:
        pass


async def _listen(call: ProbeCall, seconds: float) -> None:
    """Sleep ``seconds`` unless the call ends first."""
    try:
        await asyncio.wait_for(asyncio.shield(call.ended), seconds)
    except TimeoutError:
        pass


async def _wait_agent(call: ProbeCall, step: WaitAgent) -> float | None:
    rule = AgentRule(hz=step.hz)
    if step.min_rms is not None:
        rule = replace(rule, min_rms=step.min_rms)
    found: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    hold = call.ear.level_before(rule.hold_seconds)

    def heard(at: float) -> None:
        if not found.done():
            found.set_result(at)

    call.ear.watch = AgentWatch(rule, hold, heard)
    ended: asyncio.Future[Any] = asyncio.ensure_future(asyncio.shield(call.ended))
    try:
        done, _ = await asyncio.wait(
            {found, ended}, timeout=step.seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ended.cancel()
    return found.result() if found in done else None


def _why_not(call: ProbeCall) -> str:
    watch = call.ear.watch
    if watch is None:
        return "nothing heard"
    what = f" with {watch.rule.hz:g} Hz" if watch.rule.hz else ""
    return (
        f"loudest 100 ms RMS {watch.loudest:.0f}{what}, needed {watch.threshold:.0f}"
        f" (hold level {watch.hold_rms:.0f})"
    )
