"""Bridges, the agent leaving, after-call and hang-ups: how a call ends (core rules 6 and 7).

Each function is a method of :class:`~.core.CallFlow` (assigned in its class body):
the core is one state machine; its parts live here by concern."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import acd
from acd import Outcome
from callcenter.facts import (
    RecordCallEvent,
    RecordCallUpdate,
    RecordSurvey,
)
from callcenter.tracker import (
    GONE_AT_RESYNC,
    Bridged,
    ChannelHungUp,
)
from ivr import (
    SurveyDone,
    SurveySession,
    agi_command,
)
from ivr.events import (
    CallerHangup,
    CollectDigits,
    Hangup,
    PlayPrompt,
)

from .call import AgiJob, Call, Purpose
from .effects import (
    CountIvr,
    CountSurvey,
    FinishRecording,
    HangupLeg,
    StopRecording,
)
from .state import Stage, Step, next_stage
from .terms import (
    int_id,
    unqueued_outcome,
)

if TYPE_CHECKING:
    from .core import CallFlow


def bridged(self: CallFlow, node: str, de: Bridged, call: Call | None) -> None:
    leg_call = self.calls.get(self.legs.get(de.uniqueid, ""))
    if leg_call is not None:
        offer = leg_call.offer_of(de.uniqueid)
        if offer is not None:
            offer.bridged = True
            if offer.fate_unknown:
                self._offer_answered(leg_call, offer)  # its OriginateResponse was lost
        return
    if call is None or de.uniqueid != call.uniqueid:
        return
    call.bridged = True
    call.in_agi = False
    call.pending = None  # Bridge() loses the caller's running AGI command (21)
    call.outbox.clear()
    call.music_on = False  # and stops its music (21)
    self._agi_deadlines.pop(call.call_id, None)
    unknown = [o for o in call.offers if o.fate_unknown and not o.pick]
    if call.stage is Stage.OFFERED and len(unknown) == 1:
        self._offer_answered(call, unknown[0])
    elif call.stage is Stage.VISITING:
        call.stage = next_stage(call.call_id, call.stage, Step.REJOIN)
        self._write(RecordCallEvent(call.call_id, self._now.wall, "back_to_agent",
                                    {"agent": call.agent_id}))  # fmt: skip
    self._record_if_bridged(call)


def back_from_agent(self: CallFlow, call: Call) -> None:
    """The caller is in the after-call context (its AsyncAGIStart, or a resync found
    it parked there: its agent left while the link was down). A caller gets there
    only through the ``F()`` of the Bridge its answered offer ran, so an offer still
    open was answered (a ring-all leg bridges only once picked, and a pick is an
    answer the ACD already knows)."""
    plain = [o for o in call.offers if not o.pick]
    if call.stage is Stage.OFFERED and len(plain) == 1:
        self._offer_answered(call, plain[0])
    if call.stage is Stage.TALKING:
        self._agent_left(call)


def agent_left(self: CallFlow, call: Call) -> None:
    call.stage = next_stage(call.call_id, call.stage, Step.AGENT_LEFT)
    rec = call.recording
    if rec is not None and not rec.stopped:
        rec.stopped = True  # the survey and the hang-up are not the call's recording
        self._out.append(StopRecording(call.node, call.call_id, call.channel,
                                       rec.mixmonitor_id))  # fmt: skip
    if call.in_acd:
        self._acd(acd.CallEnded(call.call_id))
    elif call.outcome is None:
        self._outcome(call, Outcome.ANSWERED, call.queue or "", None)
    self._after_call(call)


def after_call(self: CallFlow, call: Call) -> None:
    """Back from the agent (or overflowed): the survey when the IVR has one for the
    call's queue and an agent answered, then the hang-up."""
    call.outbox.clear()
    survey = self.ivr.survey
    if (survey is not None and call.survey is None and call.queue
            and call.outcome == Outcome.ANSWERED.value and survey.questions(call.queue)):  # fmt: skip
        language = call.language or self.ivr.default_language
        call.survey = SurveySession(self.ivr, call.queue, language)
        self._survey_commands(call, call.survey.start())
        return
    self._queue_agi(call, AgiJob("HANGUP", Purpose.HANGUP))


def survey_commands(self: CallFlow, call: Call, commands: list[Any]) -> None:
    for cmd in commands:
        if isinstance(cmd, SurveyDone):
            answers = cmd.as_dict()
            self._write(RecordSurvey(call.call_id, self._now.wall, call.queue or "",
                                     int_id(call.agent_id), answers.get("csat"),
                                     answers.get("nps"), answers.get("ces")))  # fmt: skip
            self._out.append(CountSurvey(call.queue or "", answers))
        elif isinstance(cmd, Hangup):
            self._queue_agi(call, AgiJob("HANGUP", Purpose.HANGUP))
        elif isinstance(cmd, (PlayPrompt, CollectDigits)):
            job = AgiJob(agi_command(cmd) or "NOOP", Purpose.SURVEY, ivr_command=cmd)
            self._queue_agi(call, job)


def hung_up(
    self: CallFlow, node: str, de: ChannelHungUp, call: Call | None, restarted: bool
) -> None:
    leg_call_id = self.legs.pop(de.uniqueid, None)
    if leg_call_id is not None:
        leg_call = self.calls.get(leg_call_id)
        offer = leg_call.offer_of(de.uniqueid) if leg_call is not None else None
        if leg_call is None or offer is None:
            return
        if offer.fate_unknown and not offer.cancelled:
            self._offer_failed(leg_call, offer, acd.OfferFailure.NO_ANSWER)
        elif offer.picked and not offer.bridged and leg_call.stage is Stage.TALKING:
            # The picked ring-all agent hung up before its Bridge() pulled the caller
            # in: the caller, still parked in AsyncAGI, goes on as after any call.
            self._log("warning", f"call {leg_call.call_id}: agent {offer.agent_id} "
                                 "hung up before the bridge", leg_call)  # fmt: skip
            self._agent_left(leg_call)
        elif leg_call.stage is Stage.VISITING and offer.agent_id == leg_call.agent_id:
            self._agent_left(leg_call)  # hung up while waiting: no way back
        return
    if call is None or de.uniqueid != call.uniqueid:
        return
    lost = de.cause_txt == GONE_AT_RESYNC and restarted
    self._caller_gone(call, lost, de.cause_txt)


def caller_gone(self: CallFlow, call: Call, lost: bool, why: str) -> None:
    stage = call.stage
    wall = self._now.wall
    call.lost = lost
    call.stage = next_stage(call.call_id, stage, Step.HANG_UP)
    call.pending = None
    call.outbox.clear()
    self._agi_deadlines.pop(call.call_id, None)
    if stage is Stage.ADOPTING:
        call.gone = True  # settled when its row arrives (_row_loaded)
        return
    if stage is Stage.VISITING:
        leg = self._agent_leg(call)
        if leg is not None:
            self._out.append(HangupLeg(call.node, leg))  # the waiting agent
        if call.in_acd:
            self._acd(acd.CallEnded(call.call_id))
    if stage in (Stage.IVR, Stage.VISITING) and call.ivr is not None and not call.ivr.done:
        call.ivr.on_result(CallerHangup(), self._now.mono)
        self._out.append(CountIvr(call.ivr.node or "", "dropoff", call.ivr.definition.name))
        self._store_trail(call, "abandoned")
    if call.survey is not None and not call.survey.done:
        self._survey_commands(call, call.survey.on_result(CallerHangup()))
    if call.in_acd:
        reason = acd.LeaveReason.LOST if lost else acd.LeaveReason.HANGUP
        self._acd(acd.CallLeft(call.call_id, reason))
    if call.outcome is None:
        self._outcome(call, unqueued_outcome(stage, call.queue, lost), call.queue or "", None)
    self._write(RecordCallUpdate(call.call_id, ended_at=wall))
    self._write(RecordCallEvent(call.call_id, wall, "hangup", {"why": why}))
    self._forget(call)


def forget(self: CallFlow, call: Call) -> None:
    if call.recording is not None:
        rec = call.recording
        self._out.append(FinishRecording(call.call_id, rec.path, rec.started_at,
                                         rec.mixmonitor_id, tuple(rec.mutes)))  # fmt: skip
    for offer in call.offers:
        self.legs.pop(offer.leg, None)
    self._agi_deadlines.pop(call.call_id, None)
    self.calls.pop(call.call_id, None)
