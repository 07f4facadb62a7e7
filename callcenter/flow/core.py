"""The hotline's calls as one pure state machine: inputs and ``now`` in, effects out.

Rules (everything that decides what a call does lives in this package: the
frame here, its parts by concern in :mod:`.adoption`, :mod:`.agi_jobs`,
:mod:`.ivr_steps`, :mod:`.offers`, :mod:`.visits` and :mod:`.bridges`, each
function a method of :class:`CallFlow`; one object, one state):

1. Pure. :meth:`CallFlow.handle` takes one input (:mod:`.inputs`) and an
   :class:`~.inputs.Instant`; it returns effects (:mod:`.effects`) for the
   shell to carry out, whose results come back as inputs. No socket,
   database, clock, task or ``asyncio`` object. The IVR sessions and the ACD
   are pure cores too; this one feeds them and turns their commands into
   effects.
2. A call's stage moves only through :data:`~.state.TRANSITIONS`.
3. One AGI command in flight per caller (``Call.pending``); the next wait in
   ``Call.outbox`` and go only while the channel sits in AsyncAGI
   (``Call.in_agi``). Leaving AsyncAGI (a failed ``STREAM FILE``: 13), a
   bridge (the caller's pending command is lost: 21), a refused command or a
   dropped link put the command back at the head of the outbox; it goes again
   when the channel is back in AsyncAGI, at most ``MAX_AGI_TRIES`` times.
4. Hold is ``SET MUSIC ON`` + ``WAIT FOR DIGIT`` slices: the channel stays
   ``AGI`` (drivable after a restart: 15) and every prompt or bridge ends the
   music, so it is switched on again before the next slice (22).
5. Resync is an input (:class:`~.inputs.LinkResynced`): each listed channel is
   placed from facts a real Asterisk reports (parked in AsyncAGI, in a bridge
   with an agent leg, a ringing leg: 15, 21). Unknown callers are adopted
   with what SQL knows (:class:`~.effects.LoadCall`): IVR callers start the
   IVR again, queued ones return at their old place and priority, talking
   ones stay talking with their agent ON_CALL. Ringing legs nobody waits for
   are hung up. Calls a dead run left open are settled.
6. Every call that entered gets exactly one outcome (``_outcome``): the
   ACD's once queued (``answered`` whatever link drops happened around the
   answer, judged from the bridge when the ``OriginateResponse`` was lost),
   ``ivr_hangup`` if it left in the IVR, ``lost`` if it died with its PBX.
7. The recording starts once the agent answered *and* the caller is in the
   bridge (its ``BridgeEnter``), never before: Asterisk swaps the caller's
   channel while ``Bridge()`` pulls it in. Whether it starts then, and its
   file name and legs, is the queue's :class:`~recordings.RecordingPolicy`
   (a call not recorded by policy gets a ``recording_skipped`` call event).
   It runs until the caller hangs up or the agent leaves (``StopRecording``),
   an IVR visit included.
8. A call of a ring-all queue holds one offer per ringing agent
   (``Call.offers``). Its legs do not bridge themselves: an answered leg waits,
   unbridged, in the ring-all context; the first answer the core hears is the
   one picked (:class:`~.effects.PickLeg`: a ``Redirect`` to its ``Bridge()``),
   every other leg is hung up (the ACD's ``CancelOffer``, or at once when it
   answers after the pick), so no second agent can pull the caller away. A
   cancelled leg's failure is never reported: those agents are READY again.
   After a resync a leg of ours found waiting there is an answer; a dead run's
   legs are hung up and its caller rings again from its place in line.
9. An IVR visit (:class:`~.inputs.SendToIvr`): the talking caller is
   redirected to its AsyncAGI context and runs the IVR from the node given,
   while the agent leg waits in ``agent_wait_context``; when that IVR routes
   to a queue (its end) the caller is bridged with the agent again
   (``RejoinAgent``). While the caller is at a ``sensitive`` input node
   (:attr:`ivr.IvrSession.sensitive`) a running recording is muted, and the
   node's AGI commands wait until Asterisk answered the mute; the IVR's mute
   is lifted as soon as the caller left the node (:meth:`CallFlow._guard`),
   never by a person meanwhile.
10. A restart during an IVR visit: a caller adopted parked in an entry context
   whose agent leg (same Linkedid) waits in ``agent_wait_context`` is bridged
   back with that agent at once (:meth:`CallFlow._found_visiting` says why);
   its agent is ON_CALL with it. An agent leg waiting there for a caller who
   is gone is hung up (the agent is free again); a caller SQL saw sent to an
   IVR node mid-call, answered, found parked with no agent leg waiting, lost
   its agent meanwhile and ends like any answered call (after-call).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import acd
from acd import Outcome
from callcenter.facts import (
    RecordCallStarted,
    RecordOutcome,
    call_key,
)
from callcenter.tracker import (
    AgiEnded,
    AgiStarted,
    Bridged,
    ChannelHungUp,
    DigitPressed,
    DomainEvent,
    LinkedidGone,
    Listed,
    ParkedInAgi,
    Unbridged,
)
from ivr import IvrDefinition
from recordings.policy import RecordingPolicy

from . import adoption, agi_jobs, bridges, ivr_steps, offers, visits
from .call import Call, Where
from .effects import (
    CountOutcome,
    Effect,
    Log,
    LookupCard,
    Write,
)
from .inputs import (
    AccountLooked,
    AgentCommand,
    AgiFailed,
    AgiReplied,
    CallRowLoaded,
    CardFound,
    Input,
    Instant,
    LinkLost,
    LinkResynced,
    MuteRecording,
    OfferEnded,
    OpenCallsLoaded,
    PbxEvent,
    RecordingFailed,
    RecordingMuted,
    RecordingStarted,
    RecordOnDemand,
    SendToIvr,
    Timer,
)
from .state import FlowError, Stage
from .terms import (
    AGI_REENTRY_S,
    CLOSED_KEPT,
    DEFAULT_TIERS,
    MAX_AGI_TRIES,
    PAGE_STATE,
    Tiers,
    int_id,
)

__all__ = ["AGI_REENTRY_S", "DEFAULT_TIERS", "MAX_AGI_TRIES", "PAGE_STATE", "CallFlow", "Tiers"]


class CallFlow:
    """Every live call of the hotline, the IVR sessions and the ACD, as one core."""

    def __init__(
        self,
        *,
        ivr: IvrDefinition,
        acd_core: acd.Acd,
        entry_contexts: Iterable[str],
        after_call_context: str,
        moh_class: str = "default",
        run_id: str = "0",
        ring_all_context: str = "agent-ring-all",
        tiers: Tiers = DEFAULT_TIERS,
        recording: Mapping[str, RecordingPolicy] | None = None,
        agent_wait_context: str = "hotline-agent-wait",
        voicemail_dir: str = "/var/spool/asterisk/voicemail/hotline",
    ) -> None:
        self.ivr = ivr
        #: where an agent leg waits while its caller visits the IVR (``s``, priority 1)
        self.agent_wait_context = agent_wait_context
        #: where RECORD FILE writes voicemails, as Asterisk sees it (absolute)
        self.voicemail_dir = voicemail_dir.rstrip("/")
        #: queue -> its recording policy (a queue not listed: DEFAULT_POLICY); replaced
        #: on a live reload
        self.recording: dict[str, RecordingPolicy] = dict(recording or {})
        self.acd = acd_core
        #: replaced on a live reload (the controller's ``reload``)
        self.tiers = tiers
        self.entry_contexts = frozenset(entry_contexts)
        self.after_call_context = after_call_context
        #: where a ring-all leg waits once answered, and bridges when picked (``PickLeg``)
        self.ring_all_context = ring_all_context
        self.moh_class = moh_class
        self.run_id = run_id
        self.calls: dict[str, Call] = {}
        #: agent leg Uniqueid -> call id, while the offer lives
        self.legs: dict[str, str] = {}
        self.counters = {
            "calls": 0,
            "outcomes": 0,
            "screen_pops_sent": 0,
            "agi_retries": 0,
            "prompt_failures": 0,
            "adopted": 0,
        }
        self._seq = itertools.count(1)
        #: call id -> when to try AGI work anyway (no AsyncAGIStart seen)
        self._agi_deadlines: dict[str, float] = {}
        self._out: list[Effect] = []
        self._at: Instant | None = None
        #: nodes whose PBX restarted at the last resync (calls gone there are lost)
        self._restarted: set[str] = set()
        #: call ids this core wrote an outcome for, newest last (bounded)
        self._closed: dict[str, None] = {}
        #: while a resync is applied: SQL's rows of the listed calls, and the adopted calls
        self._resync_rows: dict[str, CallRowLoaded] | None = None
        self._adoptions: list[Call] = []

    # -- the core's interface -------------------------------------------------------
    def handle(self, event: Input, at: Instant) -> list[Effect]:
        """Apply one input at ``at``; return the effects to carry out, in order."""
        self._at = at
        self._out = []
        try:
            self._dispatch(event)
        except FlowError as exc:
            self._log("error", str(exc))
        return self._out

    def reconfigure(
        self,
        config: acd.AcdConfig,
        tiers: Tiers,
        at: Instant,
        recording: Mapping[str, RecordingPolicy] | None = None,
    ) -> list[Effect]:
        """Take new queues, rules, agents' routing data, tiers and recording policies live
        (a config reload; ``recording`` None keeps the policies).

        Waiting callers keep their place (``acd.Acd.reconfigure``); new callers get the
        new tiers, calls bridged from now on the new recording policy. Raises
        :class:`acd.AcdError` with nothing changed when the ACD refuses (a queue dropped
        while it holds a call, an agent dropped while logged in).
        """
        self._at = at
        self._out = []
        commands = self.acd.reconfigure(config, at.mono)
        self.tiers = tiers
        if recording is not None:
            self.recording = dict(recording)
        self._acd_commands(commands)
        return self._out

    def next_timer(self) -> float | None:
        """The earliest deadline (the shell's monotonic clock) for :meth:`on_timer`."""
        deadlines = [d for d in (self.acd.next_timer(), *self._agi_deadlines.values()) if d]
        return min(deadlines) if deadlines else None

    def wall_time(self, mono: float, at: Instant) -> float:
        """A monotonic-clock time as epoch seconds (what the pages show)."""
        return at.wall.timestamp() - (at.mono - mono)

    # -- dispatch -------------------------------------------------------------------
    def _dispatch(self, event: Input) -> None:
        match event:
            case PbxEvent():
                self._pbx(event.node, event.event)
            case AgiReplied():
                self._agi_replied(event)
            case AgiFailed():
                self._agi_failed(event)
            case OfferEnded():
                self._offer_ended(event)
            case CardFound():
                self._card_found(event)
            case AccountLooked():
                self._account_looked(event)
            case CallRowLoaded():
                self._row_loaded(event)
            case OpenCallsLoaded():
                self._open_calls(event)
            case RecordingStarted():
                self._recording_started(event)
            case RecordingFailed():
                self._recording_failed(event)
            case MuteRecording():
                self._mute_recording(event)
            case RecordOnDemand():
                self._record_on_demand(event)
            case SendToIvr():
                self._send_to_ivr(event)
            case RecordingMuted():
                self._recording_muted(event)
            case LinkLost():
                self._link_lost(event)
            case LinkResynced():
                self._resynced(event)
            case AgentCommand():
                self._agent_command(event.event)
            case Timer():
                self._timer()

    def _pbx(self, node: str, de: DomainEvent, restarted: bool = False) -> None:
        call = self.calls.get(call_key(node, de.call_id))
        match de:
            case AgiStarted():
                self._agi_started(node, de, call)
            case ParkedInAgi():
                self._parked(node, de, call)
            case Listed():
                self._listed(node, de, call)
            case Bridged():
                self._bridged(node, de, call)
            case Unbridged():
                if call is not None and de.uniqueid == call.uniqueid:
                    call.bridged = False
                    if call.stage is Stage.TALKING:
                        self._agent_left(call)
            case AgiEnded():
                if call is not None and de.uniqueid == call.uniqueid:
                    call.in_agi = False
            case ChannelHungUp():
                self._hung_up(node, de, call, restarted)
            case DigitPressed() | LinkedidGone():
                pass

    # -- arrivals and AsyncAGI ----------------------------------------------------------
    def _agi_started(self, node: str, de: AgiStarted, call: Call | None) -> None:
        if call is not None:
            if de.uniqueid != call.uniqueid:
                return
            call.in_agi = True
            if de.env.context == self.after_call_context:
                self._back_from_agent(call)
            elif call.stage is Stage.VISITING and call.visit_node is not None:
                self._start_visit(call)
            self._pump(call)
            return
        if de.env.context in self.entry_contexts:
            call = self._new_call(node, de.call_id, de.channel, de.uniqueid,
                                  de.env.callerid, de.env.calleridname)  # fmt: skip
            call.in_agi = True
            call.context = de.env.context
            self._write(RecordCallStarted(call.call_id, call.linkedid, node, call.started_at,
                                          caller_number=call.caller_number or None,
                                          caller_name=call.caller_name or None))  # fmt: skip
            self._start_ivr(call)
        elif de.env.context == self.after_call_context:
            # A caller of a dead run's call, back from its agent: adopt it to close it.
            call = self._adopting(node, de.call_id, de.channel, de.uniqueid,
                                  de.env.callerid, de.env.calleridname, Where.AFTER_CALL)  # fmt: skip
            call.in_agi = True

    def _new_call(
        self, node: str, linkedid: str, channel: str, uniqueid: str, number: str, name: str,
        *, lookup: bool = True,
    ) -> Call:  # fmt: skip
        number = "" if number in ("", "unknown", "<unknown>") else number
        call = Call(
            call_id=call_key(node, linkedid),
            node=node,
            linkedid=linkedid,
            channel=channel,
            uniqueid=uniqueid,
            caller_number=number,
            caller_name="" if name in ("unknown", "<unknown>") else name,
            started_at=self._now.wall,
        )
        self.calls[call.call_id] = call
        self.counters["calls"] += 1
        if number and lookup:
            call.card_pending = True
            self._out.append(LookupCard(call.call_id, number))
        return call

    # -- the timer -------------------------------------------------------------------
    def _timer(self) -> None:
        now = self._now.mono
        for call_id, when in list(self._agi_deadlines.items()):
            if when <= now:
                del self._agi_deadlines[call_id]
                call = self.calls.get(call_id)
                if call is not None and call.stage is not Stage.TALKING and not call.bridged:
                    call.in_agi = True  # no AsyncAGIStart seen: try anyway, the error tells
                    self._pump(call)
        self._acd_commands(self.acd.on_timer(now))

    # -- outcomes -------------------------------------------------------------------------
    def _outcome(self, call: Call, outcome: Outcome, queue: str, wait_s: float | None,
                 agent_id: str | None = None) -> None:  # fmt: skip
        if call.outcome is not None:
            self._log("error", f"call {call.call_id}: second outcome {outcome.value} refused "
                               f"(has {call.outcome})", call)  # fmt: skip
            return
        call.outcome = outcome.value
        self._settle(call.call_id, outcome, queue, wait_s, agent_id)

    def _settle(self, call_id: str, outcome: Outcome, queue: str, wait_s: float | None,
                agent_id: str | None) -> None:  # fmt: skip
        self._write(RecordOutcome(call_id, queue, outcome.value, wait_s or 0.0, self._now.wall,
                                  int_id(agent_id)))  # fmt: skip
        self._closed[call_id] = None
        if len(self._closed) > CLOSED_KEPT:
            del self._closed[next(iter(self._closed))]
        self._out.append(CountOutcome(outcome.value, wait_s))
        self.counters["outcomes"] += 1

    # -- helpers -------------------------------------------------------------------------
    @property
    def _now(self) -> Instant:
        assert self._at is not None, "handle() sets the time"
        return self._at

    def _write(self, row: Any) -> None:
        self._out.append(Write(row))

    def _log(self, level: str, text: str, call: Call | None = None) -> None:
        if call is None:
            self._out.append(Log(level, text))
        else:
            self._out.append(Log(level, text, call.call_id, call.node, call.agent_id))

    # -- what the modules of this package do, as its methods (see each module) ----------
    _adopting = adoption.adopting
    _parked = adoption.parked
    _listed = adoption.listed
    _parked_where = adoption.parked_where
    _row_loaded = adoption.row_loaded
    _found_visiting = adoption.found_visiting
    _ago = adoption.ago
    _open_calls = adoption.open_calls
    _settle_row = adoption.settle_row
    _link_lost = adoption.link_lost
    _resynced = adoption.resynced
    _legs_after_resync = adoption.legs_after_resync
    _queue_agi = agi_jobs.queue_agi
    _pump = agi_jobs.pump
    _agi_replied = agi_jobs.agi_replied
    _job_done = agi_jobs.job_done
    _agi_failed = agi_jobs.agi_failed
    _bridged = bridges.bridged
    _back_from_agent = bridges.back_from_agent
    _agent_left = bridges.agent_left
    _after_call = bridges.after_call
    _survey_commands = bridges.survey_commands
    _hung_up = bridges.hung_up
    _caller_gone = bridges.caller_gone
    _forget = bridges.forget
    _start_ivr = ivr_steps.start_ivr
    _ivr_commands = ivr_steps.ivr_commands
    _record_message = ivr_steps.record_message
    _message_recorded = ivr_steps.message_recorded
    _request_callback = ivr_steps.request_callback
    _queue_state = ivr_steps.queue_state
    _transfer = ivr_steps.transfer
    _store_trail = ivr_steps.store_trail
    _route = ivr_steps.route
    _consent_done = ivr_steps.consent_done
    _tier = ivr_steps.tier
    _enqueue = ivr_steps.enqueue
    _card_found = ivr_steps.card_found
    _account_looked = ivr_steps.account_looked
    _offer = offers.offer
    _ring_all = offers.ring_all
    _offer_ended = offers.offer_ended
    _offer_answered = offers.offer_answered
    _offer_failed = offers.offer_failed
    _drop_offer = offers.drop_offer
    _acd = offers.to_acd
    _acd_commands = offers.acd_commands
    _hold = offers.hold
    _cancel = offers.cancel
    _connected = offers.connected
    _acd_outcome = offers.acd_outcome
    _overflow = offers.overflow
    _pause_ended = offers.pause_ended
    _agent_state = offers.agent_state
    _agent_command = offers.agent_command
    _record_if_bridged = visits.record_if_bridged
    _start_recording = visits.start_recording
    _record_on_demand = visits.record_on_demand
    _recording_started = visits.recording_started
    _mute_recording = visits.mute_recording
    _recording_muted = visits.recording_muted
    _recording_failed = visits.recording_failed
    _send_to_ivr = visits.send_to_ivr
    _start_visit = visits.start_visit
    _visit_over = visits.visit_over
    _agent_leg = staticmethod(visits.agent_leg)
    _in_ivr = visits.in_ivr
    _sensitive = visits.sensitive
    _guard = visits.guard
