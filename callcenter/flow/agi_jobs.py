"""The AGI line of a caller in AsyncAGI (core rule 3): one command in flight, the next ones
waiting in the outbox, replies and failures, retries.

Each function is a method of :class:`~.core.CallFlow` (assigned in its class body):
the core is one state machine; its parts live here by concern."""

from __future__ import annotations

from typing import TYPE_CHECKING

import acd
from callcenter.ami.agi import parse_agi_result
from callcenter.facts import RecordCallEvent
from ivr import prompt_result
from ivr.events import (
    PlayPrompt,
    PromptResult,
    RecordMessage,
)

from .call import AgiJob, Call, Purpose
from .effects import SendAgi
from .inputs import (
    AgiFailed,
    AgiReplied,
    AgiTrouble,
)
from .state import Stage
from .terms import (
    AGI_REENTRY_S,
    MAX_AGI_TRIES,
)

if TYPE_CHECKING:
    from .core import CallFlow


def queue_agi(self: CallFlow, call: Call, job: AgiJob) -> None:
    call.outbox.append(job)
    self._pump(call)


def pump(self: CallFlow, call: Call) -> None:
    """Send the next AGI command if the channel is in AsyncAGI and none is in flight
    (and, at a sensitive node, once the recording is muted)."""
    if self._guard(call):
        return  # the sensitive node's commands wait for the mute
    if call.pending is not None or not call.outbox or call.stage is Stage.ENDED:
        return
    if not call.in_agi:
        if call.call_id not in self._agi_deadlines:
            self._agi_deadlines[call.call_id] = self._now.mono + AGI_REENTRY_S
        return
    self._agi_deadlines.pop(call.call_id, None)
    job = call.outbox.pop(0)
    job.command_id = f"{call.call_id}/{next(self._seq)}"
    call.pending = job
    if job.purpose is Purpose.IVR_ASK:
        call.music_on = False  # a prompt ends the hold music (22)
    self._out.append(SendAgi(call.node, call.call_id, call.channel, job.command,
                             job.command_id))  # fmt: skip


def agi_replied(self: CallFlow, ev: AgiReplied) -> None:
    call = self.calls.get(ev.call_id)
    if call is None or call.pending is None or call.pending.command_id != ev.command_id:
        return  # a reply to a command of a dead session or a lost job: nothing waits
    job, call.pending = call.pending, None
    self._job_done(call, job, ev.text)
    self._pump(call)


def job_done(self: CallFlow, call: Call, job: AgiJob, text: str | None) -> None:
    """A job ended: with its reply ``text``, or given up (None)."""
    if job.purpose in (Purpose.IVR_ASK, Purpose.SURVEY):
        cmd = job.ivr_command
        result = prompt_result(cmd, text) if text is not None else PromptResult(status="failed")
        if isinstance(cmd, RecordMessage):
            self._message_recorded(call, cmd, job.file, text)
        elif result.status == "failed" and cmd.prompt:
            self._write(RecordCallEvent(call.call_id, self._now.wall, "prompt_failed",
                                        {"prompt": cmd.prompt, "reply": text}))  # fmt: skip
            if isinstance(cmd, PlayPrompt):
                call.in_agi = False  # STREAM FILE failure ends AsyncAGI (13)
        if self._in_ivr(call) and call.ivr is not None:
            now = self._now
            self._ivr_commands(call, call.ivr.on_result(result, now.mono, now.wall))
        if job.purpose is Purpose.SURVEY and call.survey is not None and not call.survey.done:
            self._survey_commands(call, call.survey.on_result(result))
    elif job.purpose is Purpose.CONSENT:
        self._consent_done(call, text)
    elif job.purpose is Purpose.MUSIC_ON:
        call.music_on = text is not None
    elif job.purpose is Purpose.HOLD:
        # result=55 is "7" (transcript 15); None when nothing was pressed
        digit = parse_agi_result(text).digit if text else None
        if digit:
            self._write(RecordCallEvent(call.call_id, self._now.wall, "digit_on_hold",
                                        {"digit": digit}))  # fmt: skip
        if call.stage in (Stage.HOLDING, Stage.OFFERED):
            self._acd(acd.HoldSliceDone(call.call_id))


def agi_failed(self: CallFlow, ev: AgiFailed) -> None:
    call = self.calls.get(ev.call_id)
    if call is None or call.pending is None or call.pending.command_id != ev.command_id:
        return
    job, call.pending = call.pending, None
    if ev.trouble is not AgiTrouble.LINK_LOST:
        job.tries += 1  # a dropped link is not the command's fault: no try used
    if ev.trouble is not AgiTrouble.TIMEOUT:
        call.in_agi = False  # back when AsyncAGIStart or the resync says so
    if job.tries >= MAX_AGI_TRIES:
        self._log("error", f"call {call.call_id}: AGI {job.command!r} failed "
                           f"{job.tries} times ({ev.trouble.value}); given up", call)  # fmt: skip
        self._job_done(call, job, None)
    else:
        self.counters["agi_retries"] += 1
        call.outbox.insert(0, job)
    self._pump(call)
