"""The IVR's commands carried out for a caller (at arrival and on a visit), its voicemail and
callback nodes, transfers, the route into a queue (consent prompt, CRM tier), the CRM answers.

Each function is a method of :class:`~.core.CallFlow` (assigned in its class body):
the core is one state machine; its parts live here by concern."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import acd
from callcenter.ami.agi import parse_agi_result
from callcenter.facts import (
    RecordCallbackRequest,
    RecordCallEvent,
    RecordCallUpdate,
)
from ivr import (
    IvrSession,
    agi_command,
    record_command,
    trail_path,
)
from ivr.agi import VOICEMAIL_FORMAT
from ivr.events import (
    AwaitCustomer,
    AwaitQueues,
    CollectDigits,
    CustomerKnown,
    Hangup,
    LookupAccount,
    LookupResult,
    PlayPrompt,
    PromptFailed,
    QueueState,
    RecordMessage,
    RequestCallback,
    RouteToQueue,
    SetLanguage,
    Transfer,
)
from recordings.policy import DEFAULT_POLICY

from .call import AgiJob, Call, Purpose
from .effects import (
    CountIvr,
    HangupLeg,
    LookupCardByAccount,
    RedirectCall,
    SaveVoicemail,
)
from .inputs import (
    AccountLooked,
    CardFound,
)
from .state import Stage, Step, next_stage

if TYPE_CHECKING:
    from .core import CallFlow


def start_ivr(self: CallFlow, call: Call) -> None:
    card = call.card
    known = CustomerKnown(card.tier, card.is_vip) if card is not None else None
    call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number, customer=known,
                          customer_pending=call.card_pending)  # fmt: skip
    self._ivr_commands(call, call.ivr.start(self._now.mono, self._now.wall))


def ivr_commands(self: CallFlow, call: Call, commands: list[Any]) -> None:
    trail = call.ivr.trail if call.ivr is not None else ()
    flow = call.ivr.definition.name if call.ivr is not None else ""
    for step in trail[call.trail_counted :]:
        if step.what == "enter":
            self._out.append(CountIvr(step.node, "entry", flow))
    call.trail_counted = len(trail)
    for cmd in commands:
        if isinstance(cmd, RouteToQueue) and call.stage is Stage.VISITING:
            self._visit_over(call)
        elif isinstance(cmd, RouteToQueue):
            self._route(call, cmd)
        elif isinstance(cmd, SetLanguage):
            call.language = cmd.language
            self._queue_agi(call, AgiJob(agi_command(cmd) or "NOOP", Purpose.IVR_SIDE))
        elif isinstance(cmd, Transfer):
            self._transfer(call, cmd)
        elif isinstance(cmd, Hangup):
            self._store_trail(call, "hangup")
            self._queue_agi(call, AgiJob("HANGUP", Purpose.HANGUP))
        elif isinstance(cmd, PromptFailed):
            # GET DATA of a missing prompt: result=-1 at once, still in AsyncAGI (17)
            self.counters["prompt_failures"] += 1
            how = "reading the digit with no prompt" if cmd.listening else "a miss"
            self._log("warning", f"call {call.call_id}: prompt {cmd.prompt} of menu "
                                 f"{cmd.node} failed ({cmd.failures} in a row); {how}",
                      call)  # fmt: skip
        elif isinstance(cmd, (PlayPrompt, CollectDigits)):
            job = AgiJob(agi_command(cmd) or "NOOP", Purpose.IVR_ASK, ivr_command=cmd)
            self._queue_agi(call, job)
        elif isinstance(cmd, RecordMessage):
            self._record_message(call, cmd)
        elif isinstance(cmd, RequestCallback):
            self._request_callback(call, cmd)
        elif isinstance(cmd, AwaitCustomer):
            pass  # the lookup asked at arrival answers within its budget: _card_found
        elif isinstance(cmd, LookupAccount):
            self._out.append(LookupCardByAccount(call.call_id, cmd.account, cmd.timeout_s))
        elif isinstance(cmd, AwaitQueues) and call.ivr is not None:
            now = self._now
            states = {q: self._queue_state(q) for q in cmd.queues}
            self._ivr_commands(call, call.ivr.on_queues(states, now.mono, now.wall))


def record_message(self: CallFlow, call: Call, cmd: RecordMessage) -> None:
    """A voicemail: RECORD FILE (17) into a file named by the call id, the node and a
    sequence number (never caller text); the row follows once it ended (_job_done)."""
    name = f"{call.call_id.replace(':', '-')}-{cmd.node}-{next(self._seq)}"
    path = f"{self.voicemail_dir}/{name}"
    job = AgiJob(record_command(cmd, path), Purpose.IVR_ASK, ivr_command=cmd, file=path)
    self._queue_agi(call, job)


def message_recorded(
    self: CallFlow, call: Call, cmd: RecordMessage, path: str, text: str | None
) -> None:
    """RECORD FILE ended (by '#', time, silence, hang-up or failure): the shell reads the
    file and stores its row when there is one (a caller who hangs up keeps the message)."""
    card = call.card
    flow = call.ivr.definition.name if call.ivr is not None else self.ivr.name
    file = f"{path}.{VOICEMAIL_FORMAT}"
    self._write(RecordCallEvent(call.call_id, self._now.wall, "voicemail",
                                {"node": cmd.node, "file": file, "reply": text}))  # fmt: skip
    self._out.append(SaveVoicemail(
        call.call_id, self._now.wall, file, VOICEMAIL_FORMAT, flow, cmd.node, cmd.queue,
        call.caller_number or None, card.customer_id if card is not None else None,
    ))  # fmt: skip


def request_callback(self: CallFlow, call: Call, cmd: RequestCallback) -> None:
    """A callback request: stored ``pending`` (issue 12 dials them), counted, in events."""
    card = call.card
    flow = call.ivr.definition.name if call.ivr is not None else self.ivr.name
    wall = self._now.wall
    self._write(RecordCallbackRequest(
        call.call_id, wall, cmd.number, cmd.queue, flow, cmd.node,
        own_number=cmd.own_number,
        customer_id=card.customer_id if card is not None else None,
    ))  # fmt: skip
    self._write(RecordCallEvent(call.call_id, wall, "callback_requested",
                                {"node": cmd.node, "queue": cmd.queue,
                                 "own_number": cmd.own_number}))  # fmt: skip
    self._out.append(CountIvr(cmd.node, "callback", flow))


def queue_state(self: CallFlow, queue: str) -> QueueState:
    """A queue's state now, as an IVR condition asks it (the ACD's live figures)."""
    try:
        stats = self.acd.queue_stats(queue, self._now.mono)
    except acd.AcdError:
        return QueueState()  # a queue the ACD does not know has nobody
    ready = stats.agents_by_state.get(acd.AgentState.READY, 0)
    return QueueState(ready, stats.waiting, stats.longest_wait_s)


def transfer(self: CallFlow, call: Call, cmd: Transfer) -> None:
    """A transfer node: the caller leaves the hotline by an AMI Redirect (07); its
    outcome comes when its channel hangs up there (``ivr_hangup``)."""
    self._store_trail(call, "transfer")
    call.outbox.clear()
    self._write(RecordCallEvent(call.call_id, self._now.wall, "transferred",
                                {"context": cmd.context, "exten": cmd.exten}))  # fmt: skip
    self._out.append(RedirectCall(call.node, call.call_id, call.channel, cmd.context,
                                  cmd.exten))  # fmt: skip
    leg = self._agent_leg(call) if call.stage is Stage.VISITING else None
    if leg is not None:
        self._out.append(HangupLeg(call.node, leg))  # nobody to come back to


def store_trail(self: CallFlow, call: Call, end: str) -> None:
    """The caller's path through the IVR, stored once its session ended (secrets masked)."""
    if call.ivr is not None:
        self._write(RecordCallEvent(call.call_id, self._now.wall, "ivr_trail", {
            "end": end,
            "path": trail_path(call.ivr.trail),
            "variables": call.ivr.variables,
            "trail": [step.as_dict() for step in call.ivr.trail],
        }))  # fmt: skip


def route(self: CallFlow, call: Call, cmd: RouteToQueue) -> None:
    self._store_trail(call, "fallback" if cmd.fallback else "queue")
    call.stage = next_stage(call.call_id, call.stage, Step.QUEUE)
    call.queue = cmd.queue
    call.language = cmd.language
    call.selections = {s.node: s.digits for s in cmd.selections}
    card = call.card
    priority, skills = self._tier(card.tier if card is not None else None, cmd.queue)
    wall = self._now.wall
    self._write(RecordCallUpdate(call.call_id, language=cmd.language, queue=cmd.queue,
                                 queued_at=wall,
                                 ivr_selections=tuple(f"{n}={d}" for n, d in
                                                      call.selections.items())))  # fmt: skip
    self._write(RecordCallEvent(call.call_id, wall, "queued",
                                {"queue": cmd.queue, "priority": priority}))  # fmt: skip
    policy = self.recording.get(cmd.queue, DEFAULT_POLICY)
    if policy.announces(call.call_id) and policy.consent_prompt is not None:
        # recordings rule 4: the announcement before the queue, so before any recording
        call.after_consent = (cmd.queue, priority, skills)
        command = f'STREAM FILE {policy.consent_prompt} ""'
        self._queue_agi(call, AgiJob(command, Purpose.CONSENT))
        return
    self._enqueue(call, cmd.queue, priority, None, skills)


def consent_done(self: CallFlow, call: Call, text: str | None) -> None:
    """The consent prompt ended (``text`` its reply, None: given up): into the queue."""
    result = parse_agi_result(text).result if text else None
    played = result is not None and result >= 0
    if text and not played:
        call.in_agi = False  # STREAM FILE failure ends AsyncAGI (13)
    call.consent_played = played
    policy = self.recording.get(call.queue or "", DEFAULT_POLICY)
    self._write(RecordCallEvent(call.call_id, self._now.wall, "recording_consent",
                                {"prompt": policy.consent_prompt, "played": played}))  # fmt: skip
    waiting, call.after_consent = call.after_consent, None
    if waiting is not None and call.stage is Stage.HOLDING:
        queue, priority, skills = waiting
        self._enqueue(call, queue, priority, None, skills)


def tier(self: CallFlow, tier: str | None, queue: str) -> tuple[int, Mapping[str, int] | None]:
    """A caller's base priority and required skills by its CRM tier (None: the queue's)."""
    priority, extra = self.tiers.get(tier or "", (0, {}))
    if not extra:
        return priority, None
    skills = dict(next((q.skills for q in self.acd.config.queues if q.name == queue), {}))
    for name, level in extra.items():
        skills[name] = max(level, skills.get(name, 0))
    return priority, skills


def enqueue(self: CallFlow, call: Call, queue: str, priority: int, entered_at: float | None,
    skills: Mapping[str, int] | None = None,
) -> None:  # fmt: skip
    call.in_acd = True
    customer = str(call.card.customer_id) if call.card is not None else None
    self._acd(acd.CallQueued(call.call_id, queue, call.caller_number or "anonymous",
                             priority=priority, customer_id=customer,
                             entered_at=entered_at, skills=skills))  # fmt: skip


def card_found(self: CallFlow, ev: CardFound) -> None:
    call = self.calls.get(ev.call_id)
    if call is not None:
        call.card_pending = False
        call.card = ev.card or call.card
        if self._in_ivr(call) and call.ivr is not None:
            card = call.card  # an IVR condition on the tier may be waiting for it
            known = CustomerKnown(card.tier, card.is_vip) if card else CustomerKnown()
            now = self._now
            self._ivr_commands(call, call.ivr.on_customer(known, now.mono, now.wall))
    if ev.card is None:
        return
    # written even when the caller already left: the row knows who called
    self._write(RecordCallUpdate(ev.call_id, customer_id=ev.card.customer_id))


def account_looked(self: CallFlow, ev: AccountLooked) -> None:
    """A lookup node's answer: a customer found by account becomes the call's card."""
    call = self.calls.get(ev.call_id)
    if call is None or not self._in_ivr(call) or call.ivr is None:
        return
    card = ev.card
    if card is not None:
        call.card = card
        self._write(RecordCallUpdate(ev.call_id, customer_id=card.customer_id))
        result = LookupResult("found", CustomerKnown(card.tier, card.is_vip))
    else:
        result = LookupResult("timed_out" if ev.timed_out else "not_found")
    now = self._now
    self._ivr_commands(call, call.ivr.on_lookup(result, now.mono, now.wall))
