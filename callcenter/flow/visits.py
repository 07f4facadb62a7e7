"""Recordings and IVR visits (core rules 7 and 9): when a recording starts, its mutes (by a
person, or by a sensitive IVR node), a caller sent to an IVR node mid-call and back.

Each function is a method of :class:`~.core.CallFlow` (assigned in its class body):
the core is one state machine; its parts live here by concern."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from callcenter.facts import (
    RecordCallEvent,
    RecordRecording,
)
from ivr import IvrSession
from ivr.events import CustomerKnown
from recordings.policy import DEFAULT_POLICY, RecordingPolicy

from .call import Call, LiveRecording
from .effects import (
    CountRecordingMissing,
    FinishRecording,
    RedirectCall,
    RejoinAgent,
    SetRecordingMute,
    StartRecording,
)
from .inputs import (
    MuteRecording,
    RecordingFailed,
    RecordingMuted,
    RecordingStarted,
    RecordOnDemand,
    SendToIvr,
)
from .state import Stage, Step, next_stage
from .terms import int_id

if TYPE_CHECKING:
    from .core import CallFlow


def record_if_bridged(self: CallFlow, call: Call) -> None:
    if call.recording_asked or call.stage is not Stage.TALKING or not call.bridged:
        return
    call.recording_asked = True
    policy = self.recording.get(call.queue or "", DEFAULT_POLICY)
    if not policy.records_at_bridge(call.call_id):
        self._write(RecordCallEvent(call.call_id, self._now.wall, "recording_skipped",
                                    {"mode": policy.mode.value}))  # fmt: skip
        return
    if policy.consent_prompt is not None and not call.consent_played:
        self._write(RecordCallEvent(call.call_id, self._now.wall, "recording_skipped",
                                    {"mode": policy.mode.value, "why": "no_consent"}))  # fmt: skip
        return
    self._start_recording(call, policy)


def start_recording(self: CallFlow, call: Call, policy: RecordingPolicy) -> None:
    call.recording_sent = True
    name = policy.file_name(node=call.node, linkedid=call.linkedid, call_id=call.call_id,
                            queue=call.queue or "", agent=call.agent_id or "",
                            day=self._now.wall.date())  # fmt: skip
    self._out.append(StartRecording(call.node, call.call_id, call.channel, call.linkedid,
                                    name, policy.legs))  # fmt: skip


def record_on_demand(self: CallFlow, ev: RecordOnDemand) -> None:
    call = self.calls.get(ev.call_id)
    if call is None or not call.connected() or not call.bridged or call.recording_sent:
        self._log("warning", f"call {ev.call_id}: no talking call to record on demand")
        return
    if call.recording is not None:
        return  # recorded already (adopted after a restart)
    policy = self.recording.get(call.queue or "", DEFAULT_POLICY)
    if policy.consent_prompt is not None and not call.consent_played:
        self._log("warning", f"call {ev.call_id}: not recorded on demand: the caller did "
                             "not hear the consent prompt", call)  # fmt: skip
        return
    call.recording_asked = True
    self._write(RecordCallEvent(call.call_id, self._now.wall, "recording_asked",
                                {"by": ev.by}))  # fmt: skip
    self._start_recording(call, policy)


def recording_started(self: CallFlow, ev: RecordingStarted) -> None:
    call = self.calls.get(ev.call_id)
    facts: dict[str, Any] = {}
    if call is not None:
        policy = self.recording.get(call.queue or "", DEFAULT_POLICY)
        facts = {"queue": call.queue, "agent_id": int_id(call.agent_id),
                 "caller_number": call.caller_number or None,
                 "customer_id": call.card.customer_id if call.card is not None else None,
                 "format": policy.format,
                 "retain_until": policy.retain_until(ev.started_at)}  # fmt: skip
    self._write(RecordRecording(ev.call_id, ev.path, ev.started_at,
                                mixmonitor_id=ev.mixmonitor_id, **facts))  # fmt: skip
    rec = LiveRecording(ev.path, ev.started_at, ev.mixmonitor_id)
    if call is not None:
        call.recording = rec
        self._guard(call)  # a caller sent to a sensitive node before MixMonitor answered
    else:  # the call ended while MixMonitor was answering: complete it now
        self._out.append(FinishRecording(ev.call_id, rec.path, rec.started_at,
                                         rec.mixmonitor_id))  # fmt: skip


def mute_recording(self: CallFlow, ev: MuteRecording) -> None:
    call = self.calls.get(ev.call_id)
    rec = call.recording if call is not None else None
    if call is None or rec is None:
        self._log("warning", f"call {ev.call_id}: no recording running to (un)mute")
        return
    if rec.mute_pending:
        return  # asked already
    if rec.muted is ev.muted:
        if ev.muted:
            rec.ivr_mute = None  # the person's mute now: the IVR will not lift it
        return  # already so
    if not ev.muted and self._sensitive(call):
        self._log("warning", f"call {ev.call_id}: unmute refused: the caller is keying "
                             f"at sensitive IVR node {call.ivr.node if call.ivr else ''}",
                  call)  # fmt: skip
        return
    rec.ivr_mute = None
    rec.mute_pending = True
    self._out.append(SetRecordingMute(call.node, call.call_id, call.channel,
                                      rec.mixmonitor_id, ev.muted, ev.by))  # fmt: skip


def recording_muted(self: CallFlow, ev: RecordingMuted) -> None:
    call = self.calls.get(ev.call_id)
    rec = call.recording if call is not None else None
    if call is None or rec is None:
        return
    rec.mute_pending = False
    if rec.ivr_mute is not None and ev.by == rec.ivr_mute and ev.muted is rec.muted:
        # Asterisk refused the IVR's change (the shell reports the state unchanged)
        if not rec.muted:  # the mute was refused: the node goes on, said loud
            rec.ivr_mute_refused = True
            self._log("error", f"call {ev.call_id}: the recording could not be muted for "
                               f"{ev.by}: the digits keyed there may be in it", call)  # fmt: skip
        rec.ivr_mute = None  # an unmute refused: stays muted, by nobody's hand
        self._pump(call)
        return
    offset = max(0.0, (ev.at - rec.started_at).total_seconds())
    if ev.muted and not rec.muted:
        rec.mutes.append((offset, None))
    elif not ev.muted and rec.muted and rec.mutes:
        rec.mutes[-1] = (rec.mutes[-1][0], offset)
    rec.muted = ev.muted
    if not ev.muted:
        rec.ivr_mute = None
    self._write(RecordCallEvent(ev.call_id, ev.at, "recording_muted" if ev.muted else
                                "recording_unmuted", {"by": ev.by, "offset_s": offset}))  # fmt: skip
    self._pump(call)  # a sensitive node's commands may wait for this mute


def recording_failed(self: CallFlow, ev: RecordingFailed) -> None:
    self._log("error", f"call {ev.call_id}: no recording: {ev.why}", self.calls.get(ev.call_id))
    self._out.append(CountRecordingMissing(ev.call_id))


def send_to_ivr(self: CallFlow, ev: SendToIvr) -> None:
    """Rule 9: the caller to ``ev.node`` of the IVR, the agent leg to wait."""
    call = self.calls.get(ev.call_id)
    leg = self._agent_leg(call) if call is not None else None
    if call is None or not call.connected() or not call.bridged or leg is None:
        self._log("warning", f"call {ev.call_id}: no talking call to send to the IVR")
        return
    if ev.node not in self.ivr.visits:
        self._log("warning", f"call {ev.call_id}: {ev.node!r} is not one of the IVR's "
                             "visits", call)  # fmt: skip
        return
    call.stage = next_stage(call.call_id, call.stage, Step.VISIT)
    call.visit_node = ev.node
    call.outbox.clear()
    self._write(RecordCallEvent(call.call_id, self._now.wall, "sent_to_ivr",
                                {"node": ev.node, "by": ev.by}))  # fmt: skip
    context = call.context or min(self.entry_contexts)
    self._out.append(RedirectCall(call.node, call.call_id, call.channel, context, "s",
                                  leg, self.agent_wait_context))  # fmt: skip


def start_visit(self: CallFlow, call: Call) -> None:
    """The visiting caller is in AsyncAGI: its IVR session starts at the node."""
    node, call.visit_node = call.visit_node, None
    card = call.card
    known = CustomerKnown(card.tier, card.is_vip) if card is not None else None
    call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number, customer=known,
                          language=call.language)  # fmt: skip
    call.trail_counted = 0
    self._ivr_commands(call, call.ivr.start(self._now.mono, self._now.wall, node=node))


def visit_over(self: CallFlow, call: Call) -> None:
    """The visit's IVR routed to a queue (its end): back to the waiting agent."""
    self._store_trail(call, "visit")
    call.outbox.clear()
    self._guard(call)  # the IVR is done: a sensitive mute is lifted first
    leg = self._agent_leg(call)
    if leg is not None:
        self._out.append(RejoinAgent(call.node, call.call_id, call.channel, leg))


def agent_leg(call: Call) -> str | None:
    """The Uniqueid of the leg of the agent the call is connected to (None: none)."""
    leg = next((o.leg for o in call.live_offers() if o.agent_id == call.agent_id), None)
    return leg if call.agent_id is not None else None


def in_ivr(self: CallFlow, call: Call) -> bool:
    """An IVR session drives the call now (at arrival, or a visit mid-call)."""
    in_stage = call.stage is Stage.IVR or call.stage is Stage.VISITING
    return in_stage and call.ivr is not None and not call.ivr.done


def sensitive(self: CallFlow, call: Call) -> bool:
    return self._in_ivr(call) and call.ivr is not None and call.ivr.sensitive


def guard(self: CallFlow, call: Call) -> bool:
    """Mute the running recording while the caller is at a sensitive node, lift the
    IVR's mute once it left; True while the node's commands must wait for the mute."""
    rec = call.recording
    if rec is None or rec.stopped:
        return False
    want = self._sensitive(call)
    if not want:
        rec.ivr_mute_refused = False
    if rec.mute_pending:
        return want  # a change is on its way: the answer pumps again
    if want and not rec.muted and not rec.ivr_mute_refused:
        rec.mute_pending = True
        rec.ivr_mute = f"ivr:{call.ivr.node if call.ivr is not None else ''}"
        self._out.append(SetRecordingMute(call.node, call.call_id, call.channel,
                                          rec.mixmonitor_id, True, rec.ivr_mute))  # fmt: skip
        return True
    if not want and rec.muted and rec.ivr_mute is not None:
        rec.mute_pending = True
        self._out.append(SetRecordingMute(call.node, call.call_id, call.channel,
                                          rec.mixmonitor_id, False, rec.ivr_mute))  # fmt: skip
    return False
