"""The hotline's calls as one pure state machine: inputs and ``now`` in, effects out.

Rules (everything that decides what a call does lives here):

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
   IVR again, queued ones return at their last place (rule 20), talking
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
11. Position and wait announcements (:mod:`.announce`): a HOLDING caller of a
   queue with an :class:`~.announce.AnnouncePolicy` is told its figure (the
   ACD's position and estimated wait, read at that instant) at the policy's
   instants, each hold slice cut to end at the next one; an unchanged figure is
   not said again. The prompts stop the music (22), so ``SET MUSIC ON`` goes again
   before the next slice. A caller offered or bridged hears none (a bridge drops
   the outbox: 21); an adopted caller's clock starts again from its entry.
12. Overflow (:mod:`.overflow`): a call the ACD overflows (``OverflowCall``, after
   its ``timeout`` outcome: past ``max_wait_s``, the queue at ``max_length``, no
   agent to join or left: ``acd.core`` rule 10) goes to the queue's
   target: another queue with its entry time kept (never one it overflowed from;
   its ``queued`` event names it, so a restart puts the caller back there: 18),
   an IVR node (voicemail, callback, any), or a message and the hang-up. A call
   sent on to a queue keeps one outcome, that queue's (the timeout is not
   recorded: SQL keeps one outcome per call); any other keeps ``timeout``.
13. The queued callback (:mod:`.callback`): a HOLDING caller of a queue with a
   :class:`~.callback.CallbackPolicy` is offered it (once); ``1`` during the music or
   the offer starts the dialog (its commands replace the hold; an unconfirmed dialog
   gives the hold back). Confirmed, the caller is told goodbye and hung up, and the
   call stays in the ACD as a virtual caller (``CALLBACK``): its entry and priority are
   the caller's, its hang-up is no abandon. Offered, the agent leg is rung into
   ``callback_context`` (AsyncAGI); once there it is the call's channel: the whisper
   and the number, then the customer's Originate bridges onto it, and from the
   customer's answer on the call is any answered call (``callback_completed``). An
   attempt that reached nobody (no answer, busy, failed, or the agent gone first)
   releases the agent (its visit's ``answered`` is not the call's outcome) and puts
   the virtual caller back at its place after ``retry_s``; the last attempt, or a
   queue timeout, ends it ``failed`` (``callback_failed``).
   An IVR ``callback`` node's request (reached in the menus or by an overflow to a
   ``callback`` node) is the same virtual caller: once the caller's channel is gone
   while still in the IVR (the flow's hang-up after the node, or the caller's), the
   call enters the node's queue (its entry then, its tier's priority) and is dialled
   back as above; its request row (the node's) keeps the attempts and its end. A
   call that overflowed already has its ``timeout`` outcome: its callback's end is
   told by the request row and events only. A flow that routes the caller on to a
   queue after the node leaves the request ``pending``, never dialled.
14. Transfer to a queue (:class:`~.inputs.TransferCall`, blind): the talking call's agent
   hands the caller on. The agent leg is ``BlindTransfer``red to ``s`` of the caller's
   entry context (transcript 07 B: the caller leaves the bridge and runs that dialplan,
   so it enters AsyncAGI again; the agent leg hangs up). The agent's visit ends at once
   (``CallEnded``: wrap-up, and the call's one outcome, ``answered`` in the queue it was
   answered in), a ``transferred`` call event says from where to where (the reports'
   transfer rate), and the same call id is queued in the target queue: it holds, is
   offered with the same screen-pop (plus who transferred it) and, answered, talks to the
   next agent (who then owns the call row). What happens to it later (answered again,
   abandoned) is a ``transfer_outcome`` call event, never a second outcome. A restart
   while it waits there (SQL holds the outcome already, and a ``transferred`` event with
   no ``transfer_outcome`` after it: ``CallRowLoaded.transferred_to``) puts it back at its
   last place (rule 20: the target queue, its wait from the transfer on); a restart while it
   talks to the next agent keeps that agent on call in the ACD (``acd.CallResumed`` in
   the target queue, from the ``transfer_answered`` event on), and the visit's end is its
   ``transfer_outcome``.
   A transfer to a named agent (``TransferCall.agent``, in the call's queue or the one
   given) is the same, except that the caller is queued held for that agent alone
   (``acd.CallQueued.preferred_agent`` with ``preferred_wait_s`` =
   ``AGENT_TRANSFER_WAIT_S``, ACD rule 12): offered to it at once if READY, else when it
   becomes READY; after that wait, or if the agent logs out or lets it ring out, the
   caller is the queue's as any other. A restart keeps that hold until the same deadline
   (rule 20). Refused (nothing changes) when that agent is
   unknown, the transferring agent, logged out, or not of that queue. The
   ``transferred`` event says ``to_agent``.
15. A transfer made from the agent's phone (:class:`~callcenter.tracker.PhoneTransfer`,
   the agent leg the transferer, a talking caller the transferee: 07 B, C): a
   ``transferred`` call event (``by: phone``); the caller has left the hotline, so no
   survey and no ``HANGUP`` follow, the call ends when its channel hangs up wherever
   it went. Blind, its ``BridgeLeave`` ends the agent's visit as any agent leaving;
   attended, the caller stays in its bridge (the consulted party joins it: 07 C), so
   the agent's visit ends at the ``AttendedTransfer`` (wrap-up, the one outcome).
16. A supervisor's move (:class:`~.inputs.MoveWaiting`) is the ACD's ``MoveCall``;
   its refusal (``acd.AcdError``) leaves :meth:`CallFlow.handle` with nothing changed.
   A call moved to another queue holds on as it was (the next slice is the new
   queue's), takes that queue's announcements, recording policy and overflow, and is
   written with it (``calls.queue``, a ``moved`` call event with who moved it, and its
   ``queued`` event: 18): it keeps one outcome, the queue's it leaves from.
17. Sticky agent (:mod:`.sticky`): a caller is queued with the agent who last answered
   its number within its queue's ``sticky_days`` (``CallQueued.preferred_agent``) when
   the queue's ``sticky_wait_s`` is set; each answer of a caller's first visit in a
   sticky queue feeds that index (``last_served``).
18. A callback scheduled from the desk (:class:`~.inputs.ScheduleCallback`: an agent set a
   date and time on the call's disposition form) is a ``callback_requests`` row of node
   ``desk`` keyed by that (source) call, written when it is scheduled, and nothing the
   ACD sees until it is due: its due time is one of :meth:`CallFlow.next_timer`'s. Due,
   it is a call of its own (:func:`~.callback.scheduled_call_id`, the source call has its
   outcome): a virtual caller of rule 13 entering the source call's queue then (its
   entry, priority 0), preferred for the agent who set it when the queue is sticky
   (rule 17), dialled agent first (the pop says who scheduled it and their note), then
   the customer, with the queue's retries, ending ``callback_completed`` or
   ``callback_failed``. One per source call (:meth:`CallFlow.schedule_refused`). A
   restart reads the pending rows again: one not due yet waits on, one due meanwhile
   enters at once, one whose call was in line is adopted as rule 13's.
19. Attended transfer to a named agent (:mod:`.consult`; :class:`~.inputs.ConsultAgent`):
   the talking call's agent consults agent X (READY, of the call's queue; refused with nothing
   changed as a transfer to X would be, or ``agent_busy`` when X is not READY, or
   ``consulting`` when a consultation is under way); or a queue's next READY agent but
   the call's, as the ACD would route (:meth:`CallFlow.consult_pick`, ``acd.Acd.next_ready``;
   ``no_agent_ready`` when none is). ``Atxfer`` of the agent's leg rings
   X's phone (:func:`.consult.phone_of`, 07 C; a phone homed on another node through the
   caller's node's trunk to it, as an agent leg) while the caller hears music on hold; the
   ACD holds X OFFERED for the call (``acd.ConsultStarted``, ACD rule 14: never offered
   another call) and X's desk gets the call's screen-pop as for an offer. The first
   channel of the call to enter a bridge that is neither the caller nor a known leg is
   X's leg: X answered. The agent completes it (:class:`~.inputs.EndConsult`, X must
   have answered: its leg hangs up, 07 C; the last such channel to enter a bridge is X's
   leg) and at the ``AttendedTransfer`` naming its leg
   the call is X's: the ACD ends the first visit (wrap-up, the call's one outcome,
   ``answered``) and X is ON_CALL with it; ``transferred`` (``mode: attended``) and
   ``transfer_answered`` call events are written as for rule 14, and X's end is the call's
   ``transfer_outcome``. Cancelled (``CancelAtxfer``), or X's leg hanging up first (no
   answer, busy: a failed offer by its cause, ACD agent rule 4; hung up after answering:
   freed), the caller is back with its agent (Asterisk returns the agent's leg to the
   caller's bridge) and X is freed. The caller hanging up meanwhile frees X.
20. Every (re-)queue writes one ``queued`` call event with the call's
   :class:`~.place.Place` (queue, base priority, the entry the ACD keeps, the agent it
   is held for and until when): the IVR's route (before a consent prompt), an overflow
   to a queue, a supervisor's move, a transfer to a queue or a named agent, an IVR
   callback node's request or a desk-scheduled callback (18) entering. A restart puts
   an adopted waiting caller (and a dead run's virtual caller) back at its last
   ``queued`` event's place, held for the same agent until the same deadline
   (``CallRowLoaded.place``), and writes none.
21. A node's link lost (:class:`~.inputs.LinkLost`) parks every call of that node the
   ACD holds (``acd.CallParked``, ACD rule 15): no agent is offered a caller no Originate
   can reach (each try cost the agent an offer timeout and counted as its failure, and
   a node down long paused every agent of the floor). The node's resync unparks those
   still there, in their old place; a restarted node's were closed by then.
22. While an agent's phone rings with the call (OFFERED), the caller's wait is not fed:
   a hold slice (``WAIT FOR DIGIT``), an announcement and the callback offer stay in
   the outbox and go once the offer is over (the caller hears the music, which
   ``SET MUSIC ON`` still starts; keys pressed meanwhile are not read). An AGI command
   that reaches Asterisk after the answering agent's ``Bridge()`` took the caller is
   queued there and runs when the caller re-enters AGI in the after-call context
   (transcript 21): a slice sent while the phone rang could play its silence before
   the survey or the hang-up and take the caller's first key; an announcement would
   tell a caller who just talked to an agent where it stands in line.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import heapq
import itertools
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import acd
from acd import Outcome
from callcenter.ami.agi import parse_agi_result
from callcenter.ami.errors import RemoteProtocolError
from callcenter.facts import (
    RecordAgentState,
    RecordCallbackProgress,
    RecordCallbackRequest,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
    RecordPause,
    RecordRecording,
    RecordSurvey,
    call_key,
)
from callcenter.tracker import (
    GONE_AT_RESYNC,
    AgiEnded,
    AgiStarted,
    Bridged,
    ChannelHungUp,
    DigitPressed,
    DomainEvent,
    LinkedidGone,
    Listed,
    ParkedInAgi,
    PhoneTransfer,
    Unbridged,
)
from ivr import (
    IvrDefinition,
    IvrSession,
    SurveyDone,
    SurveySession,
    agi_command,
    prompt_result,
    readable_trail,
    record_command,
    trail_path,
)
from ivr.agi import VOICEMAIL_FORMAT
from ivr.events import (
    AwaitCustomer,
    AwaitQueues,
    CallerHangup,
    CollectDigits,
    CustomerKnown,
    Hangup,
    LookupAccount,
    LookupResult,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    QueueState,
    RecordMessage,
    RequestCallback,
    RouteToQueue,
    SetLanguage,
    Transfer,
)
from recordings.policy import DEFAULT_POLICY, RecordingPolicy

from . import announce
from .announce import AnnouncePolicy
from .call import AgiJob, Call, Callback, LiveRecording, Offer, Purpose, Where
from .callback import DESK_NODE, CallbackPolicy, Dialog, scheduled_call_id, scheduled_source
from .consult import Consult, failure_of, phone_of
from .effects import (
    AtxferLeg,
    BlindTransferLeg,
    CancelAtxferLeg,
    CountIvr,
    CountRecordingMissing,
    CountSurvey,
    Effect,
    FinishRecording,
    HangupLeg,
    LoadCall,
    LoadOpenCalls,
    Log,
    LookupCard,
    LookupCardByAccount,
    Originate,
    PickLeg,
    Push,
    RedirectCall,
    RejoinAgent,
    SaveVoicemail,
    SendAgi,
    SetRecordingMute,
    StartRecording,
    StopRecording,
    Write,
)
from .homes import PhoneHomes
from .inputs import (
    AccountLooked,
    AgentCommand,
    AgiFailed,
    AgiReplied,
    AgiTrouble,
    CallRowLoaded,
    CardFound,
    ConsultAgent,
    ConsultRefused,
    EndConsult,
    Input,
    Instant,
    LinkLost,
    LinkResynced,
    MoveWaiting,
    MuteRecording,
    OfferEnded,
    OfferResult,
    OpenCallsLoaded,
    PbxEvent,
    RecordingFailed,
    RecordingMuted,
    RecordingStarted,
    RecordOnDemand,
    ScheduleCallback,
    SendToIvr,
    Timer,
    TransferCall,
)
from .overflow import HANG_UP, OverflowTarget
from .place import Place
from .state import FlowError, Stage, Step, next_stage
from .sticky import LastServed

#: how often one AGI command is sent before the core gives up on it
MAX_AGI_TRIES = 6
#: how many closed call ids the core remembers (a dead run's open calls read at start)
CLOSED_KEPT = 100_000
#: a call with AGI work waits this long for AsyncAGIStart, then tries anyway
AGI_REENTRY_S = 4.0
#: a caller transferred to a named agent waits this long for that agent alone (ACD rule
#: 12), then for any agent of its queue (rule 14)
AGENT_TRANSFER_WAIT_S = 60.0
#: an announcement due this close after a hold slice's end is said at that end
ANNOUNCE_EARLY_S = 0.5
#: what feeds a caller's wait and takes time or keys: held back while an agent's phone
#: rings (rule 22; ``SET MUSIC ON`` goes: it ends at once and the caller hears the music)
_WAIT_JOBS = frozenset({Purpose.HOLD, Purpose.ANNOUNCE, Purpose.CALLBACK_OFFER})
#: agent legs we originate: ``hl-<run>-<agent>-<n>``; the agent is read back at a resync
LEG_ID = re.compile(r"^hl-(?P<run>[0-9a-z]+)-(?P<agent>[^-]+)-(?P<n>\d+)$")

#: CRM tier -> (base priority, skills required besides the queue's) of its callers
Tiers = Mapping[str, tuple[int, Mapping[str, int]]]
#: the tiers when none are given: VIP customers first (``acd.tiers`` in the config)
DEFAULT_TIERS: Tiers = {"vip": (1, {})}

#: the pages' names for the ACD's agent states
PAGE_STATE = {
    acd.AgentState.READY: "ready",
    acd.AgentState.OFFERED: "ringing",
    acd.AgentState.ON_CALL: "talking",
    acd.AgentState.WRAP_UP: "wrapup",
    acd.AgentState.PAUSED: "paused",
    acd.AgentState.LOGGED_OUT: "offline",
}

_OFFER_FAILURES = {
    OfferResult.NO_ANSWER: acd.OfferFailure.NO_ANSWER,
    OfferResult.BUSY: acd.OfferFailure.BUSY,
    OfferResult.UNREACHABLE: acd.OfferFailure.UNREACHABLE,
    OfferResult.FAILED: acd.OfferFailure.FAILED,
}


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
        announcements: Mapping[str, AnnouncePolicy] | None = None,
        overflow: Mapping[str, OverflowTarget] | None = None,
        callbacks: Mapping[str, CallbackPolicy] | None = None,
        callback_context: str = "hotline-callback",
        consult_context: str = "hotline-consult",
        homes: PhoneHomes | None = None,
    ) -> None:
        self.ivr = ivr
        #: where ``Atxfer`` rings a non-Local agent device (rule 19: ``.consult.phone_of``)
        self.consult_context = consult_context
        #: which node each agent's phone is on; a leg to another node's phone leaves the
        #: caller's node through its trunk there (docs/architecture.md, "Several PBXs")
        self.homes = homes if homes is not None else PhoneHomes()
        #: queue -> its queued callback (rule 13; a queue not listed offers none);
        #: replaced on a live reload
        self.callbacks: dict[str, CallbackPolicy] = dict(callbacks or {})
        #: where a callback's agent leg runs AsyncAGI (whisper, then the customer)
        self.callback_context = callback_context
        #: a callback's agent leg (Uniqueid) -> its call id, from its Originate on
        self._callback_legs: dict[str, str] = {}
        #: queue -> where its callers go when they overflow (rule 12; not listed: hang
        #: up); replaced on a live reload
        self.overflow: dict[str, OverflowTarget] = dict(overflow or {})
        #: queue -> its position and wait announcements (rule 11; a queue not listed
        #: has none); replaced on a live reload
        self.announcements: dict[str, AnnouncePolicy] = dict(announcements or {})
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
        #: rule 17: who last answered each number (seeded from SQL by the controller)
        self.last_served = LastServed()
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
        #: (deadline, call id) of ``_agi_deadlines``, earliest first; an entry whose
        #: deadline is no longer the call's is dropped when it comes to the top
        self._agi_heap: list[tuple[float, str]] = []
        #: the calls holding a queued callback (``call.callback``), by call id
        self._with_callback: dict[str, Call] = {}
        #: callbacks scheduled from the desk, not due yet (rule 18): source call id ->
        #: (due on the monotonic clock, the request)
        self._scheduled: dict[str, tuple[float, ScheduleCallback]] = {}
        self._out: list[Effect] = []
        self._at: Instant | None = None
        #: nodes whose PBX restarted at the last resync (calls gone there are lost)
        self._restarted: set[str] = set()
        #: call ids this core wrote an outcome for, newest last (bounded)
        self._closed: dict[str, None] = {}
        #: while a resync is applied: SQL's rows of the listed calls, and the adopted calls
        self._resync_rows: dict[str, CallRowLoaded] | None = None
        self._adoptions: list[Call] = []
        #: who moves the call the ACD's ``CallMoved`` is about (rule 16), while it is handled
        self._moved_by = ""

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
        """The earliest deadline (the shell's monotonic clock) for :meth:`on_timer`.

        Asked after every input: it reads no list of every live call (at 200 calls/s
        the controller holds ~500, and a scan of them per input was the loop's
        largest cost once it fell behind): the AGI re-entry deadlines' earliest is the
        top of a heap, the callbacks' dues are read from the calls that hold one."""
        heap, agi = self._agi_heap, self._agi_deadlines
        while heap and agi.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)  # that call's deadline was met or dropped
        dues = [c.callback.due for c in self._with_callback.values()
                if c.callback is not None and c.callback.due is not None]  # fmt: skip
        dues.extend(due for due, _ in self._scheduled.values())  # rule 18
        deadlines = [d for d in (self.acd.next_timer(), heap[0][0] if heap else None, *dues)
                     if d]  # fmt: skip
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
            case ScheduleCallback():
                self._schedule_callback(event)
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
            case TransferCall():
                self._transfer_call(event)
            case ConsultAgent():
                self._consult(event)
            case EndConsult():
                self._end_consult(event)
            case ConsultRefused():
                self._consult_refused(event)
            case MoveWaiting():
                self._move_waiting(event)
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
        if call is None and (leg := getattr(de, "uniqueid", None)) in self._callback_legs:
            call = self.calls.get(self._callback_legs[leg])  # a callback's agent leg
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
            case PhoneTransfer():
                self._phone_transfer(call, de)
            case DigitPressed() | LinkedidGone():
                pass

    # -- arrivals and AsyncAGI ----------------------------------------------------------
    def _agi_started(self, node: str, de: AgiStarted, call: Call | None) -> None:
        if call is not None:
            if de.env.context == self.callback_context and de.uniqueid != call.uniqueid:
                self._callback_agent_in(call, de)
                return
            if de.uniqueid != call.uniqueid:
                return
            call.in_agi = True
            if de.env.context == self.after_call_context and not self._left_before_transfer(call):
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
            call.crm_status = "pending"
            self._out.append(LookupCard(call.call_id, number))
        return call

    def _adopting(
        self, node: str, linkedid: str, channel: str, uniqueid: str, number: str, name: str,
        where: Where,
    ) -> Call:  # fmt: skip
        # The card is looked up once SQL said whether the call's row exists (its update
        # must not overtake the row): see _row_loaded.
        call = self._new_call(node, linkedid, channel, uniqueid, number, name, lookup=False)
        call.stage = Stage.ADOPTING
        call.where = where
        self.counters["adopted"] += 1
        if self._resync_rows is None:
            self._out.append(LoadCall(call.call_id))
        else:
            self._adoptions.append(call)  # decided once the whole listing is read
        return call

    def _parked(self, node: str, de: ParkedInAgi, call: Call | None) -> None:
        if call is not None:
            if de.uniqueid == call.uniqueid:
                call.in_agi = True
                call.bridged = False
                if de.context == self.after_call_context:
                    self._back_from_agent(call)
                self._pump(call)
            return
        where = self._parked_where(de.context)
        if where is None:
            self._log("info", f"{de.channel} waits in AsyncAGI in {de.context!r}: not ours")
            return
        call = self._adopting(node, de.call_id, de.channel, de.uniqueid,
                              de.caller_number, de.caller_name, where)  # fmt: skip
        call.in_agi = True
        call.context = de.context

    def _listed(self, node: str, de: Listed, call: Call | None) -> None:
        leg = LEG_ID.match(de.uniqueid)
        if leg is not None:
            return  # agent legs are judged once the whole listing is in (_legs_after_resync)
        if call is not None:
            if de.uniqueid == call.uniqueid:
                call.in_agi = False
                call.bridged = bool(de.bridge_id)
            return
        if de.bridge_id and de.context in self.entry_contexts | {self.after_call_context}:
            # Application empty and BridgeId set: a caller talking (transcript 21).
            talking = self._adopting(node, de.call_id, de.channel, de.uniqueid,
                                     de.caller_number, de.caller_name, Where.TALKING)  # fmt: skip
            talking.bridged = True
            talking.context = de.context if de.context in self.entry_contexts else ""

        elif de.uniqueid == de.call_id and (where := self._parked_where(de.context)):
            # A caller of ours between two applications (Answer, the [hotline-safe] loop):
            # adopted all the same, its commands wait for its AsyncAGIStart.
            self._adopting(node, de.call_id, de.channel, de.uniqueid,
                           de.caller_number, de.caller_name, where)  # fmt: skip

    def _parked_where(self, context: str) -> Where | None:
        """Where a caller of ours outside a bridge is, by its context (None: not ours)."""
        if context in self.entry_contexts:
            return Where.PARKED
        if context == self.after_call_context:
            return Where.AFTER_CALL
        return None

    def _start_ivr(self, call: Call) -> None:
        card = call.card
        known = CustomerKnown(card.tier, card.is_vip) if card is not None else None
        call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number, customer=known,
                              customer_pending=call.card_pending)  # fmt: skip
        self._ivr_commands(call, call.ivr.start(self._now.mono, self._now.wall))

    def _ivr_commands(self, call: Call, commands: list[Any]) -> None:
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

    def _record_message(self, call: Call, cmd: RecordMessage) -> None:
        """A voicemail: RECORD FILE (17) into a file named by the call id, the node and a
        sequence number (never caller text); the row follows once it ended (_job_done)."""
        name = f"{call.call_id.replace(':', '-')}-{cmd.node}-{next(self._seq)}"
        path = f"{self.voicemail_dir}/{name}"
        job = AgiJob(record_command(cmd, path), Purpose.IVR_ASK, ivr_command=cmd, file=path)
        self._queue_agi(call, job)

    def _message_recorded(
        self, call: Call, cmd: RecordMessage, path: str, text: str | None
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

    def _request_callback(self, call: Call, cmd: RequestCallback) -> None:
        """A callback request: stored ``pending``, counted, in events; the call becomes its
        virtual caller once the caller left the IVR (rule 13, ``_node_callback_in_line``)."""
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
        call.callback_request = (cmd.node, cmd.queue, cmd.number)  # dialled once gone (13)

    def _node_callback_in_line(self, call: Call) -> None:
        """The caller who left an IVR callback node's request is gone from the IVR: the call
        becomes that request's virtual caller in the node's queue (rule 13)."""
        assert call.callback_request is not None
        node, queue, number = call.callback_request
        call.callback_request = None
        now = self._now
        if call.ivr is not None and not call.ivr.done:
            call.ivr.on_result(CallerHangup(), now.mono)
            self._store_trail(call, "hangup")
        call.stage = next_stage(call.call_id, call.stage, Step.CALLBACK_CONFIRMED)
        call.pending, call.outbox, call.in_agi, call.music_on = None, [], False, False
        self._agi_deadlines.pop(call.call_id, None)
        call.queue = queue
        card = call.card
        priority, _ = self._tier(card.tier if card is not None else None, queue)
        call.callback = Callback(number=number, entered_at=now.mono, priority=priority,
                                 node=node)  # fmt: skip
        self._with_callback[call.call_id] = call
        if call.outcome is None:  # an overflowed call's row keeps its queue and outcome
            self._write(RecordCallUpdate(call.call_id, queue=queue, queued_at=now.wall))
        self._queued(call, self._callback_place(call, queue, priority, now.wall, None))
        self._write(RecordCallEvent(call.call_id, now.wall, "callback_queued",
                                    {"queue": queue, "number": number, "node": node}))  # fmt: skip
        self._callback_back_in_line(call)

    def _queue_state(self, queue: str) -> QueueState:
        """A queue's state now, as an IVR condition asks it (the ACD's live figures)."""
        try:
            stats = self.acd.queue_stats(queue, self._now.mono)
        except acd.AcdError:
            return QueueState()  # a queue the ACD does not know has nobody
        ready = stats.agents_by_state.get(acd.AgentState.READY, 0)
        return QueueState(ready, stats.waiting, stats.longest_wait_s)

    def _transfer(self, call: Call, cmd: Transfer) -> None:
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

    def _store_trail(self, call: Call, end: str) -> None:
        """The caller's path through the IVR, stored once its session ended (secrets masked)."""
        if call.ivr is not None:
            self._write(RecordCallEvent(call.call_id, self._now.wall, "ivr_trail", {
                "end": end,
                "path": trail_path(call.ivr.trail),
                "variables": call.ivr.variables,
                "trail": [step.as_dict() for step in call.ivr.trail],
            }))  # fmt: skip

    def _route(self, call: Call, cmd: RouteToQueue) -> None:
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
        place = self._place(call, cmd.queue, priority, wall, "ivr")
        policy = self.recording.get(cmd.queue, DEFAULT_POLICY)
        if policy.announces(call.call_id) and policy.consent_prompt is not None:
            # recordings rule 4: the announcement before the queue, so before any recording;
            # its place is written now (a restart meanwhile puts the caller in line)
            self._queued(call, place)
            call.after_consent = (place, skills)
            command = f'STREAM FILE {policy.consent_prompt} ""'
            self._queue_agi(call, AgiJob(command, Purpose.CONSENT))
            return
        self._enqueue(call, place, skills)

    def _consent_done(self, call: Call, text: str | None) -> None:
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
            place, skills = waiting  # in the ACD from now on, held until the same deadline
            self._enqueue(call, dataclasses.replace(place, entered_at=self._now.wall), skills,
                          record=False)  # fmt: skip

    def _tier(self, tier: str | None, queue: str) -> tuple[int, Mapping[str, int] | None]:
        """A caller's base priority and required skills by its CRM tier (None: the queue's)."""
        priority, extra = self.tiers.get(tier or "", (0, {}))
        if not extra:
            return priority, None
        skills = dict(next((q.skills for q in self.acd.config.queues if q.name == queue), {}))
        for name, level in extra.items():
            skills[name] = max(level, skills.get(name, 0))
        return priority, skills

    def _place(
        self, call: Call, queue: str, priority: int, entered: dt.datetime, why: str,
        to_agent: str | None = None,
    ) -> Place:  # fmt: skip
        """Rule 20: where the call goes in line, held for ``to_agent`` (a transfer to a
        named agent) ``AGENT_TRANSFER_WAIT_S`` from its entry, else for its sticky agent
        (rule 17) its queue's ``sticky_wait_s``, else for nobody."""
        agent = to_agent or self._sticky(call, queue)
        if agent is None:
            return Place(queue, priority, entered, why)
        if to_agent is not None:
            wait = AGENT_TRANSFER_WAIT_S
        else:
            config = self.acd.queue_config(queue)
            assert config is not None  # _sticky found it sticky
            wait = config.sticky_wait_s
        return Place(queue, priority, entered, why, agent, entered + dt.timedelta(seconds=wait))

    def _callback_place(
        self, call: Call, queue: str, priority: int, entered: dt.datetime, by: str | None
    ) -> Place:
        """A callback's place (rule 20): held for the agent who scheduled it (18) in a
        sticky queue, as ``_callback_back_in_line`` queues it, else for nobody."""
        config = self.acd.queue_config(queue)
        if by is None or config is None or not config.sticky_wait_s:
            return Place(queue, priority, entered, "callback")
        until = entered + dt.timedelta(seconds=config.sticky_wait_s)
        return Place(queue, priority, entered, "callback", by, until)

    def _queued(self, call: Call, place: Place) -> None:
        """Rule 20: the ``queued`` call event of a (re-)queue, the place a restart reads."""
        self._write(RecordCallEvent(call.call_id, self._now.wall, "queued", place.data()))

    def _enqueue(
        self, call: Call, place: Place, skills: Mapping[str, int] | None = None,
        *, record: bool = True,
    ) -> None:  # fmt: skip
        """Into the ACD at ``place`` (its entry, priority and hold); ``record``: its
        ``queued`` event first (rule 20; not for a place SQL holds already)."""
        if record:
            self._queued(call, place)
        call.in_acd = True
        card = call.card
        customer = (None if card is None
                    else str(card.customer_id if card.customer_id is not None
                             else card.external_id))  # fmt: skip
        self._acd(acd.CallQueued(call.call_id, place.queue, call.caller_number or "anonymous",
                                 priority=place.priority, customer_id=customer,
                                 entered_at=self._ago(place.entered_at), skills=skills,
                                 preferred_agent=place.held_for,
                                 preferred_wait_s=place.hold_s))  # fmt: skip

    def _wall(self, mono: float) -> dt.datetime:
        """A monotonic instant (never in the future) on the wall clock, as SQL keeps it."""
        return self._now.wall - dt.timedelta(seconds=max(0.0, self._now.mono - mono))

    def _sticky(self, call: Call, queue: str) -> str | None:
        """Rule 17: the agent who last answered the caller, if its queue is sticky."""
        config = self.acd.queue_config(queue)
        if config is None or not config.sticky_wait_s or not call.caller_number:
            return None
        return self.last_served.agent_for(call.caller_number, self._now.wall.timestamp(),
                                          config.sticky_days)  # fmt: skip

    # -- AGI ----------------------------------------------------------------------------
    def _queue_agi(self, call: Call, job: AgiJob) -> None:
        call.outbox.append(job)
        self._pump(call)

    def _pump(self, call: Call) -> None:
        """Send the next AGI command if the channel is in AsyncAGI and none is in flight
        (and, at a sensitive node, once the recording is muted)."""
        if self._guard(call):
            return  # the sensitive node's commands wait for the mute
        if call.pending is not None or not call.outbox or call.stage is Stage.ENDED:
            return
        if call.stage is Stage.OFFERED and call.outbox[0].purpose in _WAIT_JOBS:
            return  # rule 22: the phone rings; the wait goes on when the offer is over
        if not call.in_agi:
            if call.call_id not in self._agi_deadlines:
                due = self._agi_deadlines[call.call_id] = self._now.mono + AGI_REENTRY_S
                heapq.heappush(self._agi_heap, (due, call.call_id))
            return
        self._agi_deadlines.pop(call.call_id, None)
        job = call.outbox.pop(0)
        job.command_id = f"{call.call_id}/{next(self._seq)}"
        call.pending = job
        if job.purpose in (Purpose.IVR_ASK, Purpose.ANNOUNCE, Purpose.CALLBACK_OFFER,
                           Purpose.CALLBACK):  # fmt: skip
            call.music_on = False  # a prompt ends the hold music (22)
        self._out.append(SendAgi(call.node, call.call_id, call.channel, job.command,
                                 job.command_id))  # fmt: skip

    def _agi_replied(self, ev: AgiReplied) -> None:
        call = self.calls.get(ev.call_id)
        if call is None or call.pending is None or call.pending.command_id != ev.command_id:
            return  # a reply to a command of a dead session or a lost job: nothing waits
        job, call.pending = call.pending, None
        self._job_done(call, job, ev.text)
        self._pump(call)

    def _job_done(self, call: Call, job: AgiJob, text: str | None) -> None:
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
        elif job.purpose is Purpose.ANNOUNCE:
            if text is None or not _agi_ok(text):
                self._announce_failed(call, job, text)
        elif job.purpose is Purpose.MUSIC_ON:
            call.music_on = text is not None
        elif job.purpose is Purpose.HOLD:
            # result=55 is "7" (transcript 15); None when nothing was pressed
            digit = parse_agi_result(text).digit if text else None
            if digit:
                self._write(RecordCallEvent(call.call_id, self._now.wall, "digit_on_hold",
                                            {"digit": digit}))  # fmt: skip
            if digit == "1" and self._callback_dialog(call):
                return  # the dialog holds the caller; the hold goes on when it ends
            if call.stage in (Stage.HOLDING, Stage.OFFERED):
                self._acd(acd.HoldSliceDone(call.call_id))
        elif job.purpose is Purpose.CALLBACK_OFFER:
            # cut by the caller's 1: result=49 (17, 22); a failed STREAM FILE ends AGI (13)
            cut = parse_agi_result(text).result if text else None
            if cut is not None and cut < 0:
                call.in_agi = False
            elif cut == ord("1"):
                held = call.outbox  # the music and the slice that followed the offer
                call.outbox = [j for j in held
                               if j.purpose not in (Purpose.HOLD, Purpose.MUSIC_ON)]  # fmt: skip
                if not self._callback_dialog(call):
                    call.outbox = held
        elif job.purpose is Purpose.CALLBACK:
            self._callback_reply(call, job, text)
        elif job.purpose is Purpose.WHISPER:
            if call.stage in (Stage.CALLBACK, Stage.DIALING) and job.ivr_command == "last":
                self._dial_customer(call)

    def _agi_failed(self, ev: AgiFailed) -> None:
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

    def _timer(self) -> None:
        now = self._now.mono
        for call_id, when in list(self._agi_deadlines.items()):
            if when <= now:
                del self._agi_deadlines[call_id]
                call = self.calls.get(call_id)
                if call is not None and call.stage is not Stage.TALKING and not call.bridged:
                    call.in_agi = True  # no AsyncAGIStart seen: try anyway, the error tells
                    self._pump(call)
        for call in list(self.calls.values()) if self._with_callback else ():
            if call.callback is not None and call.callback.due is not None:
                if call.callback.due <= now:
                    self._callback_back_in_line(call)
        for source, (due, request) in list(self._scheduled.items()):
            if due <= now:
                del self._scheduled[source]
                self._scheduled_due(request)
        self._acd_commands(self.acd.on_timer(now))

    # -- bridges, the agent leaving, hang-ups ---------------------------------------------
    def _bridged(self, node: str, de: Bridged, call: Call | None) -> None:
        leg_call = self.calls.get(self.legs.get(de.uniqueid, ""))
        if leg_call is not None:
            offer = leg_call.offer_of(de.uniqueid)
            if offer is not None:
                offer.bridged = True
                if offer.fate_unknown:
                    self._offer_answered(leg_call, offer)  # its OriginateResponse was lost
            return
        if call is not None and call.consult is not None and de.uniqueid != call.uniqueid:
            self._consult_answered(call, de.uniqueid)  # rule 19
            return
        if call is None or de.uniqueid != call.uniqueid:
            return
        call.bridged = True
        call.in_agi = False
        call.pending = None  # Bridge() loses the caller's running AGI command (21)
        call.outbox.clear()
        call.music_on = False  # and stops its music (21)
        self._agi_deadlines.pop(call.call_id, None)
        self._customer_answered_unseen(call)
        unknown = [o for o in call.offers if o.fate_unknown and not o.pick]
        if call.stage is Stage.OFFERED and len(unknown) == 1:
            self._offer_answered(call, unknown[0])
        elif call.stage is Stage.VISITING:
            call.stage = next_stage(call.call_id, call.stage, Step.REJOIN)
            self._write(RecordCallEvent(call.call_id, self._now.wall, "back_to_agent",
                                        {"agent": call.agent_id}))  # fmt: skip
        self._record_if_bridged(call)

    def _back_from_agent(self, call: Call) -> None:
        """The caller is in the after-call context (its AsyncAGIStart, or a resync found
        it parked there: its agent left while the link was down). A caller gets there
        only through the ``F()`` of the Bridge its answered offer ran, so an offer still
        open was answered (a ring-all leg bridges only once picked, and a pick is an
        answer the ACD already knows)."""
        plain = [o for o in call.offers if not o.pick]
        if call.stage is Stage.OFFERED and len(plain) == 1:
            self._offer_answered(call, plain[0])
        self._customer_answered_unseen(call)
        if call.stage is Stage.TALKING:
            self._agent_left(call)

    def _agent_left(self, call: Call) -> None:
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

    def _after_call(self, call: Call) -> None:
        """Back from the agent (or overflowed): the survey when the IVR has one for the
        call's queue and an agent answered, then the hang-up (after an overflow's message,
        if any: ``_overflow``)."""
        call.outbox = [j for j in call.outbox if j.purpose is Purpose.ANNOUNCE]
        if call.left_hotline:
            call.outbox = []  # rule 15: transferred away from the phone, nothing to say
            return
        survey = self.ivr.survey
        if (survey is not None and call.survey is None and call.queue and call.callback is None
                and call.outcome == Outcome.ANSWERED.value and survey.questions(call.queue)):  # fmt: skip
            language = call.language or self.ivr.default_language
            call.survey = SurveySession(self.ivr, call.queue, language)
            self._survey_commands(call, call.survey.start())
            return
        self._queue_agi(call, AgiJob("HANGUP", Purpose.HANGUP))

    def _survey_commands(self, call: Call, commands: list[Any]) -> None:
        for cmd in commands:
            if isinstance(cmd, SurveyDone):
                answers = cmd.as_dict()
                self._write(RecordSurvey(call.call_id, self._now.wall, call.queue or "",
                                         _int(call.agent_id), answers.get("csat"),
                                         answers.get("nps"), answers.get("ces")))  # fmt: skip
                self._out.append(CountSurvey(call.queue or "", answers))
            elif isinstance(cmd, Hangup):
                self._queue_agi(call, AgiJob("HANGUP", Purpose.HANGUP))
            elif isinstance(cmd, (PlayPrompt, CollectDigits)):
                job = AgiJob(agi_command(cmd) or "NOOP", Purpose.SURVEY, ivr_command=cmd)
                self._queue_agi(call, job)

    def _hung_up(self, node: str, de: ChannelHungUp, call: Call | None, restarted: bool) -> None:
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
        cb = call.callback if call is not None else None
        if call is not None and cb is not None and call.stage is Stage.DIALING \
                and de.uniqueid == cb.agent_leg != call.uniqueid:  # fmt: skip
            # the agent hung up before its leg reached the callback context
            self._callback_attempt_over(call, "agent_gone", counted=False)
            return
        if call is not None and call.consult is not None and de.uniqueid != call.uniqueid:
            self._consult_leg_gone(call, de)  # rule 19
            return
        if call is None or de.uniqueid != call.uniqueid:
            return
        if call.stage is Stage.CALLBACK:
            return  # the caller asked to be called back and left: its place is kept
        if call.stage is Stage.DIALING:
            self._callback_attempt_over(call, "agent_gone", counted=False)
            return
        lost = de.cause_txt == GONE_AT_RESYNC and restarted
        if call.stage is Stage.IVR and call.callback_request is not None and not lost:
            self._node_callback_in_line(call)  # rule 13: its request is dialled back
            return
        self._caller_gone(call, lost, de.cause_txt)

    def _caller_gone(self, call: Call, lost: bool, why: str) -> None:
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
        if call.consult is not None:  # rule 19: the consulted agent is free
            self._consult_over(call, None, "caller_gone")
        if call.in_acd:
            reason = acd.LeaveReason.LOST if lost else acd.LeaveReason.HANGUP
            self._acd(acd.CallLeft(call.call_id, reason))
        if call.outcome is None:
            self._outcome(call, _unqueued(stage, call.queue, lost), call.queue or "", None)
        self._write(RecordCallUpdate(call.call_id, ended_at=wall))
        self._write(RecordCallEvent(call.call_id, wall, "hangup", {"why": why}))
        self._forget(call)

    def _forget(self, call: Call) -> None:
        if call.recording is not None:
            rec = call.recording
            self._out.append(FinishRecording(call.call_id, rec.path, rec.started_at,
                                             rec.mixmonitor_id, tuple(rec.mutes)))  # fmt: skip
        for offer in call.offers:
            self.legs.pop(offer.leg, None)
            self._callback_legs.pop(offer.leg, None)
        if call.callback is not None and call.callback.agent_leg is not None:
            self._callback_legs.pop(call.callback.agent_leg, None)
        self._agi_deadlines.pop(call.call_id, None)
        self._with_callback.pop(call.call_id, None)
        self.calls.pop(call.call_id, None)

    # -- outcomes -------------------------------------------------------------------------
    def _outcome(self, call: Call, outcome: Outcome, queue: str, wait_s: float | None,
                 agent_id: str | None = None, talk_s: float | None = None) -> None:  # fmt: skip
        if call.outcome is not None:
            self._log("error", f"call {call.call_id}: second outcome {outcome.value} refused "
                               f"(has {call.outcome})", call)  # fmt: skip
            return
        call.outcome = outcome.value
        self._settle(call.call_id, outcome, queue, wait_s, agent_id, talk_s)

    def _settle(self, call_id: str, outcome: Outcome, queue: str, wait_s: float | None,
                agent_id: str | None, talk_s: float | None = None) -> None:  # fmt: skip
        self._write(RecordOutcome(call_id, queue, outcome.value, wait_s or 0.0, self._now.wall,
                                  _int(agent_id), talk_s))  # fmt: skip
        self._closed[call_id] = None
        if len(self._closed) > CLOSED_KEPT:
            del self._closed[next(iter(self._closed))]
        self.counters["outcomes"] += 1

    # -- offers ---------------------------------------------------------------------------
    def _offer(self, cmd: acd.OfferCall) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        if call.stage is Stage.CALLBACK:
            self._offer_callback_call(call, cmd)
            return
        if call.callback is not None and call.callback.dialog is not None:
            # an agent came free during the dialog: the caller talks now, no callback
            call.callback = None
            self._with_callback.pop(call.call_id, None)
            call.outbox = [j for j in call.outbox if j.purpose is not Purpose.CALLBACK]
        pick = self._ring_all(cmd.queue)
        if not (pick and call.stage is Stage.OFFERED):  # ring-all: its next legs
            call.stage = next_stage(call.call_id, call.stage, Step.OFFER)
        leg = f"hl-{self.run_id}-{cmd.agent_id}-{next(self._seq)}"
        call.offers.append(Offer(cmd.agent_id, leg, pick=pick))
        call.agent_id = None if pick else cmd.agent_id  # ring-all: known at the answer
        self.legs[leg] = call.call_id
        # The screen-pop goes out with the Originate, while the agent's phone rings.
        self._screen_pop(call, cmd.agent_id, call.caller_number,
                         transfers=[{"agent": a, "queue": q} for a, q in call.transfers])
        number = "".join(c for c in call.caller_number if c.isdigit() or c == "+")
        self._out.append(Originate(call.node, call.call_id, cmd.agent_id,
                                   self.homes.dial(call.node, cmd.device),
                                   call.channel, self.after_call_context, number,
                                   cmd.timeout_s, leg,
                                   self.ring_all_context if pick else None))  # fmt: skip

    def _screen_pop(self, call: Call, agent_id: str, number: str, **extra: Any) -> None:
        """The desk's pop for an offer of ``call`` to ``agent_id``: who calls (``number``:
        the caller, or a callback's customer), the CRM card, what the IVR learnt, and
        ``extra`` (a transfer's history, a callback's number and attempt)."""
        self.counters["screen_pops_sent"] += 1
        self._out.append(Push(agent_id, {
            "type": "screen_pop",
            "call_id": call.call_id,
            "caller_number": number,
            "card": call.card_json(),
            "crm": call.crm_status,
            "ivr": self.ivr_facts(call),
            **extra,
        }))  # fmt: skip

    def ivr_facts(self, call: Call) -> dict[str, Any]:
        """What the IVR learnt of the caller, for the desk: language, choices, queue, the
        one-line path, the entries, and the trail as readable steps (``ivr.readable``)."""
        session = call.ivr
        return {"language": call.language, "selections": call.selections,
                "queue": call.queue,
                "path": trail_path(session.trail) if session is not None else "",
                "entries": session.variables if session is not None else {},
                "steps": readable_trail(session.definition, session.trail)
                if session is not None else []}  # fmt: skip

    def _ring_all(self, queue: str) -> bool:
        """Whether ``queue`` rings all its agents at once (its legs wait to be picked)."""
        return any(q.name == queue and q.strategy is acd.Strategy.RING_ALL
                   for q in self.acd.config.queues)  # fmt: skip

    def _offer_ended(self, ev: OfferEnded) -> None:
        call = self.calls.get(ev.call_id)
        if call is not None and call.callback is not None and call.callback.customer_leg == ev.leg:
            self._customer_result(call, ev.result)
            return
        offer = call.offer_of(ev.leg) if call is not None else None
        if call is None or offer is None or offer.cancelled:
            if ev.result is OfferResult.ANSWERED:
                # Answered after we withdrew the offer: end that agent leg.
                node = call.node if call is not None else ev.call_id.split(":", 1)[0]
                self._out.append(HangupLeg(node, ev.leg))
            return
        if ev.result is OfferResult.ANSWERED:
            self._offer_answered(call, offer)
        elif ev.result is OfferResult.UNKNOWN:
            offer.fate_unknown = True  # judged from the bridge after the resync
        else:
            self._offer_failed(call, offer, _OFFER_FAILURES[ev.result])

    def _offer_answered(self, call: Call, offer: Offer) -> None:
        offer.fate_unknown = False
        if offer.pick:
            if offer.picked:
                return
            if call.stage is not Stage.OFFERED or any(o.picked for o in call.offers):
                # Another leg of the ring-all was picked first: this one never bridges.
                self._drop_offer(call, offer)
                self._out.append(HangupLeg(call.node, offer.leg))
                return
            # The first answer wins: only this leg is sent to its Bridge(), so no second
            # agent can pull the caller away; the ACD cancels the others (CancelOffer).
            offer.picked = True
            call.agent_id = offer.agent_id
            self._out.append(PickLeg(call.node, call.call_id, offer.leg, self.ring_all_context))
        self._acd(acd.OfferAnswered(call.call_id, offer.agent_id))

    def _offer_failed(self, call: Call, offer: Offer, why: acd.OfferFailure) -> None:
        offer.fate_unknown = False
        self._drop_offer(call, offer)
        self._acd(acd.OfferFailed(call.call_id, offer.agent_id, why))

    def _drop_offer(self, call: Call, offer: Offer) -> None:
        """The offer is over; the call holds again once none rings (its stage first: the
        ACD may offer it again at once)."""
        if offer in call.offers:
            call.offers.remove(offer)
        self.legs.pop(offer.leg, None)  # any later report of the leg is stale
        if call.stage is Stage.OFFERED and not call.live_offers():
            call.stage = next_stage(call.call_id, call.stage, Step.OFFER_OVER)
            self._pump(call)  # rule 22: the wait held back while the phone rang

    # -- the ACD ------------------------------------------------------------------------
    def _acd(self, event: Any) -> None:
        try:
            commands = self.acd.handle(event, self._now.mono)
        except acd.AcdError as exc:
            self._log("error", f"ACD refused {event!r}: {exc}")
            return
        self._acd_commands(commands)

    def _acd_commands(self, commands: Iterable[Any]) -> None:
        for cmd in commands:
            match cmd:
                case acd.HoldCaller():
                    self._hold(cmd)
                case acd.OfferCall():
                    self._offer(cmd)
                case acd.CancelOffer():
                    self._cancel(cmd)
                case acd.CallConnected():
                    self._connected(cmd)
                case acd.CallOutcome():
                    self._acd_outcome(cmd)
                case acd.OverflowCall():
                    self._overflow(cmd)
                case acd.AgentStateChanged():
                    self._agent_state(cmd)
                case acd.PauseEnded():
                    self._pause_ended(cmd)
                case acd.WrapUpExtended():
                    self._wrap_up_extended(cmd)
                case acd.CallMoved():
                    self._call_moved(cmd)

    def _hold(self, cmd: acd.HoldCaller) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None or call.stage not in (Stage.HOLDING, Stage.OFFERED):
            return
        jobs = [*call.outbox, *([call.pending] if call.pending else [])]
        if any(j.purpose in (Purpose.HOLD, Purpose.MUSIC_ON) for j in jobs):
            return
        seconds = cmd.seconds
        policy = self.announcements.get(call.queue or "")
        if policy is not None and call.stage is Stage.HOLDING:
            seconds = min(seconds, self._announce(call, policy))
        if call.stage is Stage.HOLDING:
            seconds = min(seconds, self._offer_callback(call))
        if not call.music_on:
            call.outbox.append(AgiJob(f"SET MUSIC ON {self.moh_class}", Purpose.MUSIC_ON))
        ms = max(1000, round(seconds * 1000))
        self._queue_agi(call, AgiJob(f"WAIT FOR DIGIT {ms}", Purpose.HOLD))

    def _announce(self, call: Call, policy: AnnouncePolicy) -> float:
        """Rule 11: tell the caller its figure if due and changed; seconds to the next."""
        now = self._now.mono
        view = self.acd.call(call.call_id, now)
        if view is None:
            return policy.every_s
        if call.announce_at is None:
            call.announce_at = now - view.wait_s + policy.first_after_s
        if now + ANNOUNCE_EARLY_S < call.announce_at:
            return call.announce_at - now
        call.announce_at = now + policy.every_s
        told = announce.figure(policy, view.position, view.ewt_s)
        said = announce.lines(policy, told, call.language or self.ivr.default_language)
        if told != call.told and said:
            call.told = told
            call.outbox += [AgiJob(line, Purpose.ANNOUNCE) for line in said]
            call.music_on = False  # the prompts end the music (22): on again after them
            self._write(RecordCallEvent(call.call_id, self._now.wall, "announced",
                                        {"position": told[0], "wait_s": told[1]}))  # fmt: skip
        return policy.every_s

    def _announce_failed(self, call: Call, job: AgiJob, text: str | None) -> None:
        """An announcement's prompt failed: a STREAM FILE of a missing file ends AsyncAGI
        (13); the rest of this announcement goes (the music and the slice follow)."""
        self._write(RecordCallEvent(call.call_id, self._now.wall, "prompt_failed",
                                    {"prompt": job.command, "reply": text}))  # fmt: skip
        if job.command.startswith("STREAM FILE"):
            call.in_agi = False
        call.outbox = [j for j in call.outbox if j.purpose is not Purpose.ANNOUNCE]

    def _cancel(self, cmd: acd.CancelOffer) -> None:
        call = self.calls.get(cmd.call_id)
        c = call.consult if call is not None else None
        if call is not None and c is not None and c.agent_id == cmd.agent_id:
            # rule 19: the consulted agent paused or logged out: the consultation goes
            if c.ending is None:
                c.ending = "cancel"
                self._out.append(CancelAtxferLeg(call.node, call.call_id, c.transferer))
            self._out.append(Push(cmd.agent_id, {"type": "call_ended", "call_id": call.call_id}))
            return
        offer = next((o for o in call.offers if o.agent_id == cmd.agent_id), None) if call else None
        if call is None or offer is None:
            return
        offer.cancelled = True
        self._drop_offer(call, offer)
        self._out.append(Push(cmd.agent_id, {"type": "call_ended", "call_id": call.call_id}))
        self._out.append(HangupLeg(call.node, offer.leg))

    def _connected(self, cmd: acd.CallConnected) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        call.stage = next_stage(call.call_id, call.stage, Step.CONNECT)
        call.agent_id = cmd.agent_id
        if call.stage is Stage.DIALING:
            self._callback_agent_answered(call)
            return
        call.outbox.clear()
        if call.transfers:  # rule 14: the call's answer and wait stay the first agent's
            self._write(RecordCallUpdate(call.call_id, agent_id=_int(cmd.agent_id)))
            self._write(RecordCallEvent(call.call_id, self._now.wall, "transfer_answered",
                                        {"agent": cmd.agent_id, "queue": call.queue,
                                         "wait_s": cmd.wait_s}))  # fmt: skip
        else:
            self._write(RecordCallUpdate(call.call_id, answered_at=self._now.wall,
                                         agent_id=_int(cmd.agent_id), wait_s=cmd.wait_s))  # fmt: skip
            config = self.acd.queue_config(call.queue or "")
            if call.caller_number and config is not None and config.sticky_wait_s:  # rule 17
                self.last_served.served(call.caller_number, cmd.agent_id,
                                        self._now.wall.timestamp())  # fmt: skip
        self._record_if_bridged(call)

    def _acd_outcome(self, cmd: acd.CallOutcome) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            self._settle(cmd.call_id, cmd.outcome, cmd.queue, cmd.wait_s, cmd.agent_id,
                         cmd.talk_s)  # fmt: skip
            return
        call.in_acd = False
        if call.callback is not None and call.callback.swallow_outcome:
            call.callback.swallow_outcome = False
            return  # rule 13: an attempt that reached nobody; the call goes on
        if call.stage is Stage.CALLBACK:
            if cmd.outcome is Outcome.TIMEOUT:  # failed: no queue figure (acd.core rule 13)
                self._acd(acd.TimeoutDropped(call.call_id, cmd.queue))
            self._callback_failed(call, cmd.outcome.value, cmd.wait_s)
            return
        if cmd.outcome is Outcome.TIMEOUT and self._requeues(call, cmd.queue):
            self._acd(acd.TimeoutDropped(call.call_id, cmd.queue))  # counted in the next one
            return  # rule 12: its visit to the next queue gives the call's one outcome
        if call.outcome is not None and call.transfers:
            # rule 14: a visit after a transfer is told by an event, not a second outcome
            self._write(RecordCallEvent(call.call_id, self._now.wall, "transfer_outcome",
                                        {"queue": cmd.queue, "outcome": cmd.outcome.value,
                                         "agent": cmd.agent_id, "wait_s": cmd.wait_s,
                                         "talk_s": cmd.talk_s}))  # fmt: skip
        else:
            if call.callback is not None and call.callback.number is not None:
                self._callback_completed(call)
                if call.outcome is not None:
                    return  # an overflowed call's: its timeout stays the one outcome
            self._outcome(call, cmd.outcome, cmd.queue, cmd.wait_s, cmd.agent_id, cmd.talk_s)
        if call.agent_id is not None:
            self._out.append(Push(call.agent_id, {"type": "call_ended",
                                                  "call_id": call.call_id}))  # fmt: skip

    def _requeues(self, call: Call, queue: str) -> bool:
        """The call overflowing from ``queue`` goes on to another queue (rule 12)."""
        target = self.overflow.get(queue, HANG_UP)
        return target.kind == "queue" and target.target not in (call.overflowed | {queue})

    def _overflow(self, cmd: acd.OverflowCall) -> None:
        """Rule 12: the call leaves its queue for the queue's overflow target."""
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        target = self.overflow.get(cmd.queue, HANG_UP)
        call.overflowed.add(cmd.queue)
        if target.kind == "queue" and target.target in call.overflowed:
            target = HANG_UP  # never back into a queue it overflowed from: no loop
        self._log("warning", f"call {cmd.call_id} waited {cmd.wait_s:.0f} s in {cmd.queue}: "
                             f"overflow ({cmd.reason}) to {target.kind} {target.target or ''}",
                   call)  # fmt: skip
        self._write(RecordCallEvent(call.call_id, self._now.wall, "overflow",
                                    {"queue": cmd.queue, "reason": cmd.reason,
                                     "to": target.kind, "target": target.target}))  # fmt: skip
        if target.kind == "queue" and target.target is not None:
            # its hold goes on as it was (the music, a slice in the outbox or in flight):
            # the next queue's HoldCaller finds them, its HoldSliceDone comes from them
            call.stage = next_stage(call.call_id, call.stage, Step.REQUEUE)
            call.queue = target.target
            card = call.card
            priority, skills = self._tier(card.tier if card is not None else None, target.target)
            # SQL's row names the queue it waits in now (queued_at, its first entry, stays);
            # its queued event, its place: a restart puts it back there with its wait (20)
            self._write(RecordCallUpdate(call.call_id, queue=target.target))
            entered = self._wall(self._now.mono - cmd.wait_s)
            self._enqueue(call, self._place(call, target.target, priority, entered, "overflow"),
                          skills)  # fmt: skip
            return
        call.outbox.clear()
        if target.kind in ("voicemail", "callback", "ivr") and target.target is not None:
            call.stage = next_stage(call.call_id, call.stage, Step.OVERFLOW_IVR)
            card = call.card
            known = CustomerKnown(card.tier, card.is_vip) if card is not None else None
            call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number, customer=known,
                                  language=call.language)  # fmt: skip
            call.trail_counted = 0
            now = self._now
            self._ivr_commands(call, call.ivr.start(now.mono, now.wall, node=target.target))
            return
        call.stage = next_stage(call.call_id, call.stage, Step.OVERFLOW)
        if target.target is not None:  # the message, then the hang-up
            self._queue_agi(call, AgiJob(f'STREAM FILE {target.target} ""', Purpose.ANNOUNCE))
        self._after_call(call)

    # -- the queued callback (rule 13) --------------------------------------------------
    def _offer_callback(self, call: Call) -> float:
        """Offer the callback (once) when the caller's wait or estimate reached the policy's;
        the seconds until the wait reaches ``offer_after_s`` (the hold slice ends then)."""
        policy = self.callbacks.get(call.queue or "")
        if policy is None or call.callback_offered:
            return math.inf
        view = self.acd.call(call.call_id, self._now.mono)
        if view is None:
            return math.inf
        if not policy.offered(view.wait_s, view.ewt_s):
            after = policy.offer_after_s
            return math.inf if after is None else max(after - view.wait_s, 0.0)
        call.callback_offered = True
        prompt = policy.offer.replace("{language}", self._language(call))
        call.outbox.append(AgiJob(f'STREAM FILE {prompt} "1"', Purpose.CALLBACK_OFFER))
        call.music_on = False  # the prompt ends the music (22): on again after it
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_offered",
                                    {"queue": call.queue, "wait_s": round(view.wait_s, 1)}))  # fmt: skip
        return math.inf

    def _language(self, call: Call) -> str:
        return call.language or self.ivr.default_language

    def _callback_dialog(self, call: Call) -> bool:
        """The caller pressed 1 while offered the callback: its dialog starts (False: no
        callback offered to this caller, or it is not holding)."""
        policy = self.callbacks.get(call.queue or "")
        if (policy is None or not call.callback_offered or call.stage is not Stage.HOLDING
                or call.callback is not None):  # fmt: skip
            return False
        name = f"{self.voicemail_dir}/callback-{call.call_id.replace(':', '-')}-name"
        dialog = Dialog(policy, call.caller_number, self._language(call), name)
        call.callback = Callback(dialog=dialog)
        self._with_callback[call.call_id] = call
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_dialog",
                                    {"queue": call.queue}))  # fmt: skip
        self._callback_commands(call, dialog.start())
        return True

    def _callback_commands(self, call: Call, commands: list[Any]) -> None:
        for cmd in commands:
            self._queue_agi(call, AgiJob(cmd.text, Purpose.CALLBACK, ivr_command=cmd.ask))

    def _callback_reply(self, call: Call, job: AgiJob, text: str | None) -> None:
        """A dialog command's reply: the dialog's next commands, or its end."""
        cb = call.callback
        if cb is None or cb.dialog is None:
            return  # the dialog was dropped (an agent came free): nothing waits
        if text is not None and job.command.startswith("STREAM FILE"):
            result = parse_agi_result(text).result
            if result is not None and result < 0:
                call.in_agi = False  # STREAM FILE failure ends AsyncAGI (13)
        if job.ivr_command is None:
            return
        dialog = cb.dialog
        self._callback_commands(call, dialog.on_reply(job.ivr_command, text))
        if not dialog.done:
            return
        cb.dialog = None
        if dialog.confirmed and call.stage is Stage.HOLDING:
            cb.number, cb.name_file = dialog.number, dialog.name_file
            self._callback_confirmed(call)
            return
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_declined", {}))
        call.callback = None
        self._with_callback.pop(call.call_id, None)
        if call.stage in (Stage.HOLDING, Stage.OFFERED):
            self._acd(acd.HoldSliceDone(call.call_id))  # the hold goes on

    def _callback_confirmed(self, call: Call) -> None:
        """The caller hangs up; the call keeps its place as a virtual caller."""
        cb = call.callback
        assert cb is not None and cb.number is not None
        view = self.acd.call(call.call_id, self._now.mono)
        if view is not None:
            cb.entered_at, cb.priority = self._now.mono - view.wait_s, view.priority
        call.stage = next_stage(call.call_id, call.stage, Step.CALLBACK_CONFIRMED)
        call.outbox = [AgiJob("HANGUP", Purpose.HANGUP)]
        self._pump(call)
        card = call.card
        wall = self._now.wall
        self._write(RecordCallbackRequest(
            call.call_id, wall, cb.number, call.queue or "",
            call.ivr.definition.name if call.ivr is not None else self.ivr.name,
            "queued", own_number=cb.number == call.caller_number,
            customer_id=card.customer_id if card is not None else None, name_file=cb.name_file,
        ))  # fmt: skip
        self._write(RecordCallEvent(call.call_id, wall, "callback_queued",
                                    {"queue": call.queue, "number": cb.number,
                                     "name_file": cb.name_file}))  # fmt: skip

    def _offer_callback_call(self, call: Call, cmd: acd.OfferCall) -> None:
        """The virtual caller reached an agent: ring the agent into the callback context."""
        cb = call.callback
        assert cb is not None and cb.number is not None
        leg = f"hl-{self.run_id}-{cmd.agent_id}-{next(self._seq)}"
        call.offers.append(Offer(cmd.agent_id, leg))
        call.agent_id = cmd.agent_id
        self.legs[leg] = call.call_id
        self._callback_legs[leg] = call.call_id
        pop: dict[str, Any] = {"number": cb.number, "name_file": cb.name_file,
                               "attempt": cb.attempts + 1}  # fmt: skip
        if cb.node == DESK_NODE:
            pop |= {"scheduled_by": cb.scheduled_by, "note": cb.note or ""}
        self._screen_pop(call, cmd.agent_id, cb.number, callback=pop)
        self._out.append(Originate(call.node, call.call_id, cmd.agent_id,
                                   self.homes.dial(call.node, cmd.device), "",
                                   self.after_call_context, cb.number, cmd.timeout_s, leg,
                                   self.callback_context))  # fmt: skip

    def _callback_agent_in(self, call: Call, de: AgiStarted) -> None:
        """The agent leg entered the callback context: it is the call's channel now; the
        agent hears the whisper and the number (17), then the customer is dialled."""
        cb = call.callback
        offer = call.offer_of(de.uniqueid)
        # its OriginateResponse may come first (then the ACD connected it: agent_leg)
        ours = (offer is not None and not offer.cancelled) or (
            cb is not None and de.uniqueid == cb.agent_leg)  # fmt: skip
        if cb is None or cb.number is None or not ours:
            self._out.append(HangupLeg(call.node, de.uniqueid))
            return
        cb.agent_leg = de.uniqueid
        call.channel, call.uniqueid = de.channel, de.uniqueid
        call.in_agi, call.bridged, call.music_on = True, False, False
        call.pending, call.outbox = None, []
        policy = self.callbacks.get(call.queue or "", CallbackPolicy())
        whisper = policy.whisper.replace("{language}", self._language(call))
        call.outbox.append(AgiJob(f'STREAM FILE {whisper} ""', Purpose.WHISPER))
        self._queue_agi(call, AgiJob(f'SAY DIGITS {cb.number.lstrip("+")} ""', Purpose.WHISPER,
                                     ivr_command="last"))  # fmt: skip

    def _callback_agent_answered(self, call: Call) -> None:
        """The ACD connected the agent: its leg is the call's channel, not an offer."""
        cb = call.callback
        for offer in [o for o in call.offers if o.agent_id == call.agent_id]:
            call.offers.remove(offer)
            self.legs.pop(offer.leg, None)
            if cb is not None:
                cb.agent_leg = offer.leg
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_agent",
                                    {"agent": call.agent_id}))  # fmt: skip

    def _dial_customer(self, call: Call) -> None:
        cb = call.callback
        assert cb is not None and cb.number is not None and call.agent_id is not None
        policy = self.callbacks.get(call.queue or "", CallbackPolicy())
        cb.attempts += 1
        cb.customer_leg = f"cb-{self.run_id}-{next(self._seq)}"
        self._callback_progress(call, "pending")
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_attempt",
                                    {"attempt": cb.attempts, "agent": call.agent_id}))  # fmt: skip
        self._out.append(Originate(call.node, call.call_id, call.agent_id,
                                   policy.dial.replace("{number}", cb.number), call.channel,
                                   self.after_call_context, cb.number,
                                   policy.customer_timeout_s, cb.customer_leg))  # fmt: skip

    def _customer_answered_unseen(self, call: Call) -> None:
        """The agent's channel of a callback entered a bridge or came back through the
        customer's ``F()`` before the customer's ``OriginateResponse`` was read: only the
        answered customer leg's ``Bridge()`` does either (03 B), so it answered."""
        cb = call.callback
        if call.stage is Stage.DIALING and cb is not None and cb.customer_leg is not None:
            self._customer_result(call, OfferResult.ANSWERED)

    def _customer_result(self, call: Call, result: OfferResult) -> None:
        cb = call.callback
        assert cb is not None
        if call.stage is not Stage.DIALING:
            return  # its answer was judged from the agent's channel already
        if result is OfferResult.ANSWERED:
            call.stage = next_stage(call.call_id, call.stage, Step.CUSTOMER_ANSWERED)
            view = self.acd.call(call.call_id, self._now.mono)
            self._write(RecordCallUpdate(call.call_id, answered_at=self._now.wall,
                                         agent_id=_int(call.agent_id),
                                         wait_s=self._now.mono - cb.entered_at))  # fmt: skip
            self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_answered",
                                        {"attempt": cb.attempts,
                                         "position": view.position if view else None}))  # fmt: skip
            self._record_if_bridged(call)
        elif result is not OfferResult.UNKNOWN:
            self._callback_attempt_over(call, result.value, counted=True)

    def _callback_attempt_over(self, call: Call, why: str, *, counted: bool) -> None:
        """An attempt reached nobody: the agent is released; the virtual caller goes back to
        its place after ``retry_s`` (at once when the agent left first), or fails."""
        cb = call.callback
        assert cb is not None
        policy = self.callbacks.get(call.queue or "", CallbackPolicy())
        if cb.agent_leg is not None:
            self._callback_legs.pop(cb.agent_leg, None)
            self._out.append(HangupLeg(call.node, cb.agent_leg))
        if cb.customer_leg is not None and not counted:
            self._out.append(HangupLeg(call.node, cb.customer_leg))
            cb.attempts -= 1  # the agent left while the customer's phone rang: not its try
            self._callback_progress(call, "pending")
        cb.agent_leg = cb.customer_leg = None
        call.pending, call.outbox, call.in_agi = None, [], False
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_no_answer",
                                    {"attempt": cb.attempts, "why": why,
                                     "agent": call.agent_id}))  # fmt: skip
        agent = call.agent_id
        if call.in_acd:
            cb.swallow_outcome = True
            # not an answered call of the queue, nor a talk sample (acd.core rule 13)
            self._acd(acd.CallEnded(call.call_id, counted=False))
        if agent is not None:
            self._out.append(Push(agent, {"type": "call_ended", "call_id": call.call_id}))
        call.agent_id = None
        if cb.attempts >= policy.max_attempts:
            self._callback_failed(call, why, None)
            return
        call.stage = next_stage(call.call_id, call.stage, Step.CALLBACK_RETRY)
        cb.due = self._now.mono + (policy.retry_s if counted else 0.0)

    def _callback_back_in_line(self, call: Call) -> None:
        """A retry's wait is over: the virtual caller is in line again at its old place."""
        cb = call.callback
        assert cb is not None
        cb.due = None
        call.in_acd = True
        config = self.acd.queue_config(call.queue or "")
        sticky = config is not None and bool(config.sticky_wait_s)
        self._acd(acd.CallQueued(call.call_id, call.queue or "", cb.number or "anonymous",
                                 priority=cb.priority,
                                 entered_at=min(cb.entered_at, self._now.mono),
                                 preferred_agent=cb.scheduled_by if sticky else None))  # fmt: skip

    def _callback_progress(self, call: Call, status: str) -> None:
        cb = call.callback
        assert cb is not None
        self._write(RecordCallbackProgress(cb.request_call or call.call_id, cb.node,
                                           self._now.wall, status, cb.attempts))  # fmt: skip

    def _callback_completed(self, call: Call) -> None:
        cb = call.callback
        assert cb is not None
        self._callback_progress(call, "completed")
        self._write(RecordCallEvent(call.call_id, self._now.wall, "callback_completed",
                                    {"attempts": cb.attempts, "agent": call.agent_id}))  # fmt: skip

    def _callback_failed(self, call: Call, why: str, wait_s: float | None) -> None:
        """The callback ends for good (its last attempt, its queue's timeout)."""
        cb = call.callback
        assert cb is not None
        wall = self._now.wall
        call.stage = next_stage(call.call_id, call.stage, Step.CALLBACK_END)
        self._callback_progress(call, "failed")
        self._write(RecordCallEvent(call.call_id, wall, "callback_failed",
                                    {"attempts": cb.attempts, "why": why}))  # fmt: skip
        waited = self._now.mono - cb.entered_at if wait_s is None else wait_s
        if call.outcome is None:  # an overflowed call keeps its timeout
            self._outcome(call, Outcome.FAILED, call.queue or "", waited)
        self._write(RecordCallUpdate(call.call_id, ended_at=wall))
        self._forget(call)

    # -- the callback scheduled from the desk (rule 18) -----------------------------------
    def schedule_refused(self, source: str) -> str | None:
        """Why a callback cannot be scheduled on call ``source`` now (``already_scheduled``:
        one waits or runs already), or None."""
        if source in self._scheduled or scheduled_call_id(source) in self.calls:
            return "already_scheduled"
        return None

    def scheduled(self) -> list[ScheduleCallback]:
        """The callbacks scheduled from the desk and not due yet, the soonest first."""
        return [r for _, r in sorted(self._scheduled.values(), key=lambda d: d[0])]

    def _schedule_callback(self, ev: ScheduleCallback) -> None:
        """Rule 18: stored (unless read back from SQL), then nothing until it is due."""
        if self.schedule_refused(ev.call_id) is not None:
            return  # the shell asked schedule_refused first; a restart's copy of ours
        now = self._now
        if not ev.stored:
            self._write(RecordCallbackRequest(
                ev.call_id, now.wall, ev.number, ev.queue, DESK_NODE, DESK_NODE,
                own_number=ev.own_number, customer_id=ev.customer_id, due_at=ev.due,
                agent_id=_int(ev.agent_id), note=ev.note or None,
            ))  # fmt: skip
            self._write(RecordCallEvent(ev.call_id, now.wall, "callback_scheduled",
                                        {"due_at": ev.due.isoformat(), "queue": ev.queue,
                                         "number": ev.number, "agent": ev.agent_id}))  # fmt: skip
        due = now.mono + (ev.due - now.wall).total_seconds()
        if due <= now.mono:
            self._scheduled_due(ev)  # due while the controller was away: at once
        else:
            self._scheduled[ev.call_id] = (due, ev)

    def _scheduled_due(self, ev: ScheduleCallback) -> None:
        """Rule 18: the scheduled callback is due: a call of its own enters the queue."""
        now = self._now
        call_id = scheduled_call_id(ev.call_id)
        call = Call(call_id=call_id, node=ev.node, linkedid=call_id.split(":", 1)[-1],
                    channel="", uniqueid="", caller_number=ev.number, caller_name="",
                    started_at=now.wall, stage=Stage.CALLBACK, queue=ev.queue,
                    callback_offered=True)  # fmt: skip
        call.callback = Callback(number=ev.number, entered_at=now.mono, node=DESK_NODE,
                                 request_call=ev.call_id, scheduled_by=ev.agent_id,
                                 note=ev.note or None)  # fmt: skip
        self.calls[call_id] = call
        self._with_callback[call_id] = call
        self._write(RecordCallStarted(call_id, call.linkedid, ev.node, now.wall,
                                      caller_number=ev.number,
                                      customer_id=ev.customer_id))  # fmt: skip
        self._write(RecordCallUpdate(call_id, queue=ev.queue, queued_at=now.wall))
        self._queued(call, self._callback_place(call, ev.queue, 0, now.wall, ev.agent_id))
        self._write(RecordCallEvent(call_id, now.wall, "callback_queued",
                                    {"queue": ev.queue, "number": ev.number, "node": DESK_NODE,
                                     "source": ev.call_id, "agent": ev.agent_id,
                                     "due_at": ev.due.isoformat()}))  # fmt: skip
        self._callback_back_in_line(call)

    def _move_waiting(self, ev: MoveWaiting) -> None:
        """Rule 16: the ACD moves the call or refuses (its AcdError leaves ``handle``)."""
        commands = self.acd.handle(ev.move, self._now.mono)
        self._moved_by = ev.by
        try:
            self._acd_commands(commands)
        finally:
            self._moved_by = ""

    def _call_moved(self, cmd: acd.CallMoved) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        wall = self._now.wall
        if cmd.queue != cmd.from_queue:
            call.queue = cmd.queue
            call.told = None  # the new queue's figures, from its announcement policy
            self._write(RecordCallUpdate(call.call_id, queue=cmd.queue))
        self._write(RecordCallEvent(call.call_id, wall, "moved", {
            "from": cmd.from_queue, "queue": cmd.queue, "priority": cmd.priority,
            "position": cmd.position, "by": self._moved_by}))  # fmt: skip
        # its place (rule 20): its entry kept, held for nobody (a move spends it: ACD 12)
        self._queued(call, Place(cmd.queue, cmd.priority, self._wall(self._now.mono - cmd.wait_s),
                                 "move"))  # fmt: skip
        self._log("info", f"call {cmd.call_id} moved by {self._moved_by or 'the ACD'} from "
                          f"{cmd.from_queue} to {cmd.queue}, priority {cmd.priority}, "
                          f"position {cmd.position}", call)  # fmt: skip

    def _pause_ended(self, cmd: acd.PauseEnded) -> None:
        """One row per ended pause: the reports sum pause time per reason and agent."""
        agent_id = _int(cmd.agent_id)
        if agent_id is None:
            return  # an agent of no SQL row (a test's): nothing to refer to
        started, ended = (dt.datetime.fromtimestamp(self.wall_time(t, self._now), dt.UTC)
                          for t in (cmd.started_at, cmd.ended_at))  # fmt: skip
        self._write(RecordPause(agent_id, cmd.reason, started, ended, cmd.seconds))

    def _agent_state(self, cmd: acd.AgentStateChanged) -> None:
        self._write(RecordAgentState(_int(cmd.agent_id) or 0, self._now.wall, cmd.new.value,
                                     cmd.old.value, cmd.reason or None))  # fmt: skip
        self._out.append(Push(cmd.agent_id, {
            "type": "state",
            "state": PAGE_STATE[cmd.new],
            "since": self.wall_time(cmd.at, self._now),
            "call_id": cmd.call_id,
            # the desk shows why it is paused (by the agent, the RNA limit, a supervisor)
            "pause_reason": cmd.reason if cmd.new is acd.AgentState.PAUSED else None,
            **self._wrap_up_ends(cmd),
        }))  # fmt: skip

    def _wrap_up_ends(self, cmd: acd.AgentStateChanged) -> dict[str, float | None]:
        """Entering wrap-up: when it ends and the latest it may be extended to (epoch
        seconds, the desk's countdown); the ACD's view once its commands are out."""
        if cmd.new is not acd.AgentState.WRAP_UP:
            return {}
        view = self.acd.agent(cmd.agent_id, self._now.mono)
        if view.wrap_up_until is None or view.wrap_up_limit is None:
            return {}
        return {"wrap_up_until": self.wall_time(view.wrap_up_until, self._now),
                "wrap_up_limit": self.wall_time(view.wrap_up_limit, self._now)}  # fmt: skip

    def _wrap_up_extended(self, cmd: acd.WrapUpExtended) -> None:
        """The agent's wrap-up ends later now: every desk of the agent shows it."""
        self._out.append(Push(cmd.agent_id, {
            "type": "wrap_up",
            "wrap_up_until": self.wall_time(cmd.ends_at, self._now),
            "wrap_up_limit": self.wall_time(cmd.limit_at, self._now),
        }))  # fmt: skip

    def _agent_command(self, event: Any) -> None:
        if isinstance(event, acd.AgentReady):
            try:
                view = self.acd.agent(event.agent_id, self._now.mono)
            except acd.AcdError as exc:
                self._log("warning", f"ready of unknown agent: {exc}")
                return
            if view.state is acd.AgentState.LOGGED_OUT:
                event = acd.AgentLogin(event.agent_id)
        self._acd(event)

    # -- recordings --------------------------------------------------------------------
    def _record_if_bridged(self, call: Call) -> None:
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

    def _start_recording(self, call: Call, policy: RecordingPolicy) -> None:
        call.recording_sent = True
        name = policy.file_name(node=call.node, linkedid=call.linkedid, call_id=call.call_id,
                                queue=call.queue or "", agent=call.agent_id or "",
                                day=self._now.wall.date())  # fmt: skip
        self._out.append(StartRecording(call.node, call.call_id, call.channel, call.linkedid,
                                        name, policy.legs))  # fmt: skip

    def _record_on_demand(self, ev: RecordOnDemand) -> None:
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

    def _recording_started(self, ev: RecordingStarted) -> None:
        call = self.calls.get(ev.call_id)
        facts: dict[str, Any] = {}
        if call is not None:
            policy = self.recording.get(call.queue or "", DEFAULT_POLICY)
            facts = {"queue": call.queue, "agent_id": _int(call.agent_id),
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

    def _mute_recording(self, ev: MuteRecording) -> None:
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

    def _recording_muted(self, ev: RecordingMuted) -> None:
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

    # -- IVR visits and sensitive nodes -----------------------------------------------
    def _send_to_ivr(self, ev: SendToIvr) -> None:
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

    def _start_visit(self, call: Call) -> None:
        """The visiting caller is in AsyncAGI: its IVR session starts at the node."""
        node, call.visit_node = call.visit_node, None
        card = call.card
        known = CustomerKnown(card.tier, card.is_vip) if card is not None else None
        call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number, customer=known,
                              language=call.language)  # fmt: skip
        call.trail_counted = 0
        self._ivr_commands(call, call.ivr.start(self._now.mono, self._now.wall, node=node))

    def _visit_over(self, call: Call) -> None:
        """The visit's IVR routed to a queue (its end): back to the waiting agent."""
        self._store_trail(call, "visit")
        call.outbox.clear()
        self._guard(call)  # the IVR is done: a sensitive mute is lifted first
        leg = self._agent_leg(call)
        if leg is not None:
            self._out.append(RejoinAgent(call.node, call.call_id, call.channel, leg))

    # -- transfers --------------------------------------------------------------------
    def transfer_refused(
        self, call_id: str, queue: str, by_agent: str, agent: str | None = None
    ) -> str | None:
        """Why the call cannot be transferred to ``queue`` (or, with ``agent``, to that
        agent in ``queue``, "" meaning the call's queue) by ``by_agent`` now (None: it
        can): ``unknown_queue``, ``unknown_agent``, ``not_talking`` (no such call, not
        talking to its agent in a bridge), ``not_your_call``, ``same_agent`` or
        ``agent_unavailable`` (logged out, or not of that queue)."""
        call = self.calls.get(call_id)
        if agent is not None and not queue and call is not None:
            queue = call.queue or ""
        if not any(q.name == queue for q in self.acd.config.queues):
            return "unknown_queue"
        if agent is not None:
            known = next((a for a in self.acd.config.agents if a.agent_id == agent), None)
            if known is None:
                return "unknown_agent"
        if call is None or not call.connected() or not call.bridged or not call.context:
            return "not_talking"
        if call.agent_id != by_agent:
            return "not_your_call"
        if self._agent_leg(call) is None:
            return "not_talking"
        if agent is not None:
            if agent == by_agent:
                return "same_agent"
            view = self.acd.agent(agent, self._now.mono)
            if view.state is acd.AgentState.LOGGED_OUT or queue not in view.queues:
                return "agent_unavailable"
        return None

    def _phone_transfer(self, call: Call | None, de: PhoneTransfer) -> None:
        """Rule 15: the agent handed its talking caller on from the phone (07 B, C)."""
        if call is None or de.uniqueid != call.uniqueid or call.stage is not Stage.TALKING:
            return  # not a talking caller of ours (a caller we transferred holds: rule 14)
        c = call.consult
        if c is not None and de.kind == "attended" and de.transferer == c.transferer:
            self._consult_transferred(call, c)  # rule 19
            return
        if de.transferer != self._agent_leg(call):
            self._log("warning", f"call {call.call_id}: transferred by {de.transferer}, "
                                 "not its agent's leg; left as it is", call)  # fmt: skip
            return
        call.left_hotline = True
        self._write(RecordCallEvent(call.call_id, self._now.wall, "transferred",
                                    {"from_queue": call.queue or "", "agent": call.agent_id,
                                     "mode": de.kind, "by": "phone",
                                     "context": de.context or None,
                                     "exten": de.exten or None}))  # fmt: skip
        if de.kind == "attended":
            self._agent_left(call)  # the caller stays in its bridge with the consulted party

    @staticmethod
    def _left_before_transfer(call: Call) -> bool:
        """A transferred caller reached the after-call context while it waits in its new
        queue: its old agent hung up before the ``BlindTransfer`` took (``F()`` sent it
        there, not an answer of the new offer, whose leg never entered a bridge). It
        holds there as it would in its entry context."""
        waiting = call.stage is Stage.HOLDING or call.stage is Stage.OFFERED
        return waiting and bool(call.transfers) and not any(o.bridged for o in call.offers)

    def _transfer_call(self, ev: TransferCall) -> None:
        """Rule 14: the talking caller leaves its agent for ``ev.queue``, same call id."""
        call = self.calls.get(ev.call_id)
        agent = call.agent_id if call is not None else None
        why = self.transfer_refused(ev.call_id, ev.queue, agent or "", ev.agent)
        if why is not None or call is None or agent is None:
            self._log("warning", f"call {ev.call_id}: transfer to {ev.queue or ev.agent} "
                                 f"refused ({why})")  # fmt: skip
            return
        leg = self._agent_leg(call)
        assert leg is not None  # transfer_refused checked it
        from_queue = call.queue or ""
        queue = ev.queue or from_queue
        call.stage = next_stage(call.call_id, call.stage, Step.TRANSFER)
        data: dict[str, object] = {"from_queue": from_queue, "queue": queue, "agent": agent,
                                   "mode": "blind", "by": ev.by}  # fmt: skip
        if ev.agent is not None:
            data["to_agent"] = ev.agent
        self._write(RecordCallEvent(call.call_id, self._now.wall, "transferred", data))
        self._out.append(BlindTransferLeg(call.node, call.call_id, leg, call.context))
        for offer in call.offers:  # the leg's later events (its hang-up) are stale
            self.legs.pop(offer.leg, None)
        call.offers = []
        call.outbox.clear()
        if call.in_acd:  # the agent's visit ends: wrap-up, the call's answered outcome
            self._acd(acd.CallEnded(call.call_id))
        told: dict[str, object] = {"type": "transferred", "call_id": call.call_id,
                                   "queue": queue}  # fmt: skip
        if ev.agent is not None:
            told["agent"] = ev.agent
        self._out.append(Push(agent, told))
        call.transfers.append((agent, from_queue))
        call.agent_id = None
        call.queue = queue
        card = call.card
        priority, skills = self._tier(card.tier if card is not None else None, queue)
        # with ev.agent: held for the named agent alone, then the queue's (ACD rule 12)
        self._enqueue(call, self._place(call, queue, priority, self._now.wall, "transfer",
                                        ev.agent), skills)  # fmt: skip

    # -- attended transfer (rule 19) -----------------------------------------------------
    def consult_refused(
        self, call_id: str, by_agent: str, agent: str, queue: str = ""
    ) -> str | None:
        """Why ``by_agent`` cannot consult ``agent`` about the call now (None: it can):
        a transfer's refusals (:meth:`transfer_refused` to that agent in ``queue``, ""
        the call's), ``consulting`` (one is under way) or ``agent_busy`` (not READY)."""
        if call_id not in self.calls:
            return "not_talking"
        why = self.transfer_refused(call_id, queue, by_agent, agent)
        if why is not None:
            return why
        call = self.calls[call_id]
        if call.consult is not None:
            return "consulting"
        if self.acd.agent(agent, self._now.mono).state is not acd.AgentState.READY:
            return "agent_busy"
        return None

    def consult_pick(self, call_id: str, by_agent: str, queue: str) -> tuple[str | None, str | None]:
        """The agent an attended transfer to ``queue`` consults: its next READY agent
        but ``by_agent`` as the ACD would route (:meth:`acd.Acd.next_ready`), and why
        not (a transfer's refusals to ``queue``, ``consulting``, ``no_agent_ready``)."""
        why = self.transfer_refused(call_id, queue, by_agent)
        if why is None and self.calls[call_id].consult is not None:
            why = "consulting"
        if why is not None:
            return None, why
        agent = self.acd.next_ready(queue, by_agent)
        return (None, "no_agent_ready") if agent is None else (agent, None)

    def end_consult_refused(self, call_id: str, by_agent: str, complete: bool) -> str | None:
        """Why ``by_agent`` cannot complete (or cancel) its consultation now (None: it
        can): ``not_talking``, ``not_your_call``, ``not_consulting`` (none, or already
        ending), ``not_answered`` (complete before the consulted agent answered)."""
        call = self.calls.get(call_id)
        if call is None or not call.connected():
            return "not_talking"
        if call.agent_id != by_agent:
            return "not_your_call"
        c = call.consult
        if c is None or c.ending is not None:
            return "not_consulting"
        if complete and c.leg is None:
            return "not_answered"
        return None

    def _consult(self, ev: ConsultAgent) -> None:
        call = self.calls.get(ev.call_id)
        by_agent = call.agent_id if call is not None else None
        why = self.consult_refused(ev.call_id, by_agent or "", ev.agent, ev.queue)
        if why is not None or call is None or by_agent is None:
            self._log("warning", f"call {ev.call_id}: consulting {ev.agent} refused ({why})")
            return
        leg = self._agent_leg(call)
        assert leg is not None  # transfer_refused checked it
        device = next(a.device for a in self.acd.config.agents if a.agent_id == ev.agent)
        context, exten = phone_of(device, self.consult_context,
                                  self.homes.trunk(call.node, device))
        call.consult = Consult(ev.agent, by_agent, leg, ev.by, self._now.mono)
        self._acd(acd.ConsultStarted(call.call_id, ev.agent))
        self._write(RecordCallEvent(call.call_id, self._now.wall, "consult",
                                    {"agent": by_agent, "to_agent": ev.agent,
                                     "by": ev.by}))  # fmt: skip
        self._screen_pop(call, ev.agent, call.caller_number, consult_by=by_agent,
                         transfers=[{"agent": a, "queue": q} for a, q in call.transfers])
        self._out.append(AtxferLeg(call.node, call.call_id, leg, context, exten))
        self._out.append(Push(by_agent, {"type": "consult", "call_id": call.call_id,
                                         "agent": ev.agent, "state": "ringing"}))  # fmt: skip

    def _end_consult(self, ev: EndConsult) -> None:
        call = self.calls.get(ev.call_id)
        by_agent = call.agent_id if call is not None else None
        why = self.end_consult_refused(ev.call_id, by_agent or "", ev.complete)
        if why is not None or call is None or call.consult is None:
            self._log("warning", f"call {ev.call_id}: ending the consultation refused ({why})")
            return
        c = call.consult
        if ev.complete:  # 07 C: the transferer hangs up, Asterisk completes the transfer
            c.ending = "complete"
            self._out.append(HangupLeg(call.node, c.transferer))
        else:
            c.ending = "cancel"
            self._out.append(CancelAtxferLeg(call.node, call.call_id, c.transferer))

    def _consult_refused(self, ev: ConsultRefused) -> None:
        call = self.calls.get(ev.call_id)
        if call is not None and call.consult is not None:
            self._consult_over(call, None, "refused")

    def _consult_answered(self, call: Call, uniqueid: str) -> None:
        """Rule 18: a channel of the call entered a bridge: the consulted agent's leg (the
        last one: a Local channel optimised away hands its place to the channel it
        dialled, unrecorded)."""
        c = call.consult
        if c is None:
            return
        if c.leg is not None:
            c.leg = uniqueid
            return
        c.leg = uniqueid
        c.answered_after = round(self._now.mono - c.started, 3)
        self._out.append(Push(c.by_agent, {"type": "consult", "call_id": call.call_id,
                                           "agent": c.agent_id, "state": "answered"}))  # fmt: skip

    def _consult_leg_gone(self, call: Call, de: ChannelHungUp) -> None:
        """Rule 18: a channel of the call hung up during the consultation: the consulted
        leg (ringing: any; answered: that one) ends it without a transfer."""
        c = call.consult
        if c is None or (c.leg is not None and de.uniqueid != c.leg):
            return
        if c.ending == "cancel":
            self._consult_over(call, None, "cancelled")
        elif c.leg is not None:
            self._consult_over(call, None, "hung_up")
        else:
            failure = failure_of(de.cause)
            self._consult_over(call, failure, failure.value)

    def _consult_over(self, call: Call, failure: acd.OfferFailure | None, result: str) -> None:
        c = call.consult
        if c is None:
            return
        call.consult = None
        self._acd(acd.ConsultEnded(call.call_id, c.agent_id, failure))
        self._write(RecordCallEvent(call.call_id, self._now.wall, "consult_ended",
                                    {"agent": c.by_agent, "to_agent": c.agent_id,
                                     "result": result}))  # fmt: skip
        self._out.append(Push(c.agent_id, {"type": "call_ended", "call_id": call.call_id}))
        self._out.append(Push(c.by_agent, {"type": "consult", "call_id": call.call_id,
                                           "agent": c.agent_id, "state": "ended",
                                           "result": result}))  # fmt: skip

    def _consult_transferred(self, call: Call, c: Consult) -> None:
        """Rule 18: the ``AttendedTransfer`` of the consulting agent's leg: the caller
        talks to the consulted agent, the same call with one outcome."""
        call.consult = None
        queue, by_agent = call.queue or "", c.by_agent
        self._write(RecordCallEvent(call.call_id, self._now.wall, "transferred",
                                    {"from_queue": queue, "queue": queue, "agent": by_agent,
                                     "mode": "attended", "by": c.by,
                                     "to_agent": c.agent_id}))  # fmt: skip
        for offer in call.offers:  # the first agent's leg: its hang-up is stale now
            self.legs.pop(offer.leg, None)
        call.offers = []
        # the first visit ends (wrap-up, the one outcome); the consulted agent talks
        self._acd(acd.ConsultEnded(call.call_id, c.agent_id, transferred=True))
        call.in_acd = True
        self._out.append(Push(by_agent, {"type": "transferred", "call_id": call.call_id,
                                         "queue": queue, "agent": c.agent_id}))  # fmt: skip
        call.transfers.append((by_agent, queue))
        call.agent_id = c.agent_id
        if c.leg is not None:
            call.offers.append(Offer(c.agent_id, c.leg, bridged=True))
            self.legs[c.leg] = call.call_id
        self._write(RecordCallUpdate(call.call_id, agent_id=_int(c.agent_id)))
        self._write(RecordCallEvent(call.call_id, self._now.wall, "transfer_answered",
                                    {"agent": c.agent_id, "queue": queue,
                                     "wait_s": c.answered_after}))  # fmt: skip
        self._out.append(Push(c.agent_id, {"type": "consult", "call_id": call.call_id,
                                           "agent": by_agent, "state": "transferred"}))  # fmt: skip

    @staticmethod
    def _agent_leg(call: Call) -> str | None:
        """The Uniqueid of the leg of the agent the call is connected to (None: none)."""
        leg = next((o.leg for o in call.live_offers() if o.agent_id == call.agent_id), None)
        return leg if call.agent_id is not None else None

    def _in_ivr(self, call: Call) -> bool:
        """An IVR session drives the call now (at arrival, or a visit mid-call)."""
        in_stage = call.stage is Stage.IVR or call.stage is Stage.VISITING
        return in_stage and call.ivr is not None and not call.ivr.done

    def _sensitive(self, call: Call) -> bool:
        return self._in_ivr(call) and call.ivr is not None and call.ivr.sensitive

    def _guard(self, call: Call) -> bool:
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

    def _recording_failed(self, ev: RecordingFailed) -> None:
        self._log("error", f"call {ev.call_id}: no recording: {ev.why}", self.calls.get(ev.call_id))
        self._out.append(CountRecordingMissing(ev.call_id))

    # -- the CRM and SQL -------------------------------------------------------------------
    def _card_found(self, ev: CardFound) -> None:
        call = self.calls.get(ev.call_id)
        if call is not None:
            call.card_pending = False
            call.card = ev.card or call.card
            call.crm_status = ("found" if call.card is not None
                               else "unavailable" if ev.unavailable else "not_found")  # fmt: skip
            if self._in_ivr(call) and call.ivr is not None:
                card = call.card  # an IVR condition on the tier may be waiting for it
                known = CustomerKnown(card.tier, card.is_vip) if card else CustomerKnown()
                now = self._now
                self._ivr_commands(call, call.ivr.on_customer(known, now.mono, now.wall))
            # the pop went out before the CRM answered: the ringing or talking agent's
            # card follows (routing never waits for the CRM)
            for offer in call.live_offers():
                self._out.append(Push(offer.agent_id, {
                    "type": "card", "call_id": call.call_id,
                    "caller_number": call.caller_number,
                    "card": call.card_json(), "crm": call.crm_status,
                }))  # fmt: skip
        if ev.card is None or ev.card.customer_id is None:
            return  # an HTTP CRM's customer is not a row of ours
        # written even when the caller already left: the row knows who called
        self._write(RecordCallUpdate(ev.call_id, customer_id=ev.card.customer_id))

    def _account_looked(self, ev: AccountLooked) -> None:
        """A lookup node's answer: a customer found by account becomes the call's card."""
        call = self.calls.get(ev.call_id)
        if call is None or not self._in_ivr(call) or call.ivr is None:
            return
        card = ev.card
        if card is not None:
            call.card = card
            call.crm_status = "found"
            if card.customer_id is not None:  # an HTTP CRM's customer is not a row of ours
                self._write(RecordCallUpdate(ev.call_id, customer_id=card.customer_id))
            result = LookupResult("found", CustomerKnown(card.tier, card.is_vip))
        else:
            result = LookupResult("timed_out" if ev.timed_out else "not_found")
        now = self._now
        self._ivr_commands(call, call.ivr.on_lookup(result, now.mono, now.wall))

    def _row_loaded(self, row: CallRowLoaded) -> None:
        call = self.calls.get(row.call_id)
        if call is None or call.stage is not Stage.ADOPTING and not call.gone:
            return
        wall = self._now.wall
        if row.started_at is not None:
            call.started_at = row.started_at
        if not row.found:
            self._write(RecordCallStarted(call.call_id, call.linkedid, call.node, call.started_at,
                                          caller_number=call.caller_number or None,
                                          caller_name=call.caller_name or None))  # fmt: skip
        call.queue, call.language = row.queue, row.language
        if call.caller_number and not call.gone and call.where is not Where.AFTER_CALL:
            call.card_pending = True
            call.crm_status = "pending"
            self._out.append(LookupCard(call.call_id, call.caller_number))
        if row.outcome is not None:
            call.outcome = row.outcome  # a dead run recorded it: never a second one
        call.transfers = list(row.transfers)  # the screen-pop's "transferred by"
        if row.recording_path and row.recording_started_at is not None:
            call.recording = rec = LiveRecording(row.recording_path, row.recording_started_at,
                                                 row.mixmonitor_id)  # fmt: skip
            call.recording_asked = True
            # the spans muted so far stay in the row; a mute a sensitive node left on is
            # lifted once the call is placed (_guard: no IVR node drives it now)
            rec.mutes = list(row.mutes)
            rec.muted = row.muted_by is not None
            is_ivr = row.muted_by is not None and row.muted_by.startswith("ivr:")
            rec.ivr_mute = row.muted_by if is_ivr else None
        self._write(RecordCallEvent(call.call_id, wall, "adopted",
                                    {"channel": call.channel, "where": call.where.value
                                     if call.where else None}))  # fmt: skip
        if call.gone:
            self._settle_row(row, call.lost, "ended_while_adopted", call)
            self._forget(call)
            return
        if call.where is Where.TALKING:
            call.stage = next_stage(call.call_id, call.stage, Step.FOUND_TALKING)
            call.agent_id = call.found_agent or row.agent_id
            queue: str | None
            if row.transferred_to is not None:
                # Rule 14: talking to the next agent (SQL holds the first agent's answered
                # outcome): that visit goes on in the ACD, its end a transfer_outcome
                call.queue = queue = row.transferred_to
                entered, answered = row.transferred_at, row.transfer_answered_at
            else:
                queue, entered, answered = row.queue, row.queued_at, row.answered_at
            resumes = call.outcome is None or row.transferred_to is not None
            if call.agent_id is not None and queue and resumes:
                connected = self._ago(answered) if answered else self._now.mono
                call.in_acd = True
                self._acd(acd.CallResumed(call.call_id, queue, call.agent_id,
                                          call.caller_number or "anonymous",
                                          self._ago(entered), connected))  # fmt: skip
            self._record_if_bridged(call)
            self._guard(call)
        elif call.where is Where.VISITING:
            self._found_visiting(call, row)
        elif call.where is Where.AFTER_CALL or (
            row.visited and row.answered_at is not None and call.outcome is None
        ):
            # After-call, or rule 10: a caller sent to an IVR node mid-call, parked with no
            # agent leg waiting for it: its agent hung up while no controller ran (during the
            # visit, or after the Bridge back, which returns the caller to its entry
            # context): the call is over like any answered one.
            call.stage = next_stage(call.call_id, call.stage, Step.FOUND_TALKING)
            call.agent_id = call.agent_id or row.agent_id
            self._agent_left(call)
        elif row.place is not None and (call.outcome is None or row.transferred_to is not None):
            # Rule 20: a waiting caller back at its last place (a transferred one, whose
            # SQL holds the first agent's answered outcome, too: rule 14)
            call.stage = next_stage(call.call_id, call.stage, Step.QUEUE)
            call.queue = row.place.queue
            self._enqueue(call, row.place, record=False)
        else:
            call.stage = next_stage(call.call_id, call.stage, Step.RESUME_IVR)
            self._start_ivr(call)

    def _found_visiting(self, call: Call, row: CallRowLoaded) -> None:
        """Rule 10: a caller found in AsyncAGI while its agent leg waits in the agent-wait
        context: the controller died during the caller's IVR visit.

        The caller is bridged back with its agent at once (``RejoinAgent``) rather than
        sent through the visit's node again: what the caller keyed and where the node
        was died with the old run, the caller has heard silence since and the agent
        music, and the agent, who sent the caller there, is the one who can tell the
        caller what happened and send it again with one click. A mute the node left on
        the recording is lifted first (``_visit_over``); the agent is ON_CALL with the
        call (``acd.CallResumed``), which ends like any talking call.
        """
        call.stage = next_stage(call.call_id, call.stage, Step.FOUND_VISITING)
        leg, agent = call.found_leg, call.found_agent
        assert leg is not None and agent is not None, "set with Where.VISITING"
        call.agent_id = agent
        call.offers = [Offer(agent, leg)]
        self.legs[leg] = call.call_id  # its hang-up now ends the call (_hung_up)
        if row.queue and call.outcome is None:
            entered = self._ago(row.queued_at)
            connected = self._ago(row.answered_at) if row.answered_at else self._now.mono
            call.in_acd = True
            self._acd(acd.CallResumed(call.call_id, row.queue, agent,
                                      call.caller_number or "anonymous", entered, connected))  # fmt: skip
        self._log("warning", f"call {call.call_id}: found in an IVR visit at a restart, "
                             f"its agent {agent} waiting: bridged back", call)  # fmt: skip
        self._visit_over(call)

    def _ago(self, when: dt.datetime | None) -> float:
        """A wall-clock time from SQL on the monotonic clock (never in the future)."""
        if when is None:
            return self._now.mono
        waited: float = (self._now.wall - when).total_seconds()
        return self._now.mono - max(0.0, waited)

    def _open_calls(self, ev: OpenCallsLoaded) -> None:
        for row in ev.unfinished:
            if row.call_id not in self.calls and row.recording_path and row.recording_started_at:
                self._out.append(FinishRecording(row.call_id, row.recording_path,
                                                 row.recording_started_at, row.mixmonitor_id))  # fmt: skip
        for row in ev.rows:
            if row.call_id in self.calls or row.outcome is not None or row.call_id in self._closed:
                continue  # ours now, or closed by us since SQL was read
            if row.callback_number is not None and row.place is not None:
                self._adopt_callback(ev.node, row)  # rule 13: back at its place in line
                continue
            self._settle_row(row, ev.node in self._restarted, "settled_after_restart", None)
        for request in ev.scheduled:
            self._schedule_callback(request)  # rule 18: not due when the dead run stopped

    def _adopt_callback(self, node: str, row: CallRowLoaded) -> None:
        """A dead run's virtual caller (its caller long gone, nothing of it on the PBX):
        back in line with its entry time and priority, its attempts so far counted."""
        place = row.place
        assert row.callback_number is not None and place is not None
        now = self._now
        call = Call(call_id=row.call_id, node=node, linkedid=row.call_id.split(":", 1)[-1],
                    channel="", uniqueid="", caller_number=row.callback_number, caller_name="",
                    started_at=row.started_at or now.wall, stage=Stage.CALLBACK,
                    queue=place.queue, language=row.language, callback_offered=True)  # fmt: skip
        waited = max(0.0, (now.wall - place.entered_at).total_seconds())
        call.callback = Callback(number=row.callback_number, name_file=row.callback_name,
                                 attempts=row.callback_attempts, entered_at=now.mono - waited,
                                 priority=place.priority, node=row.callback_node)  # fmt: skip
        if row.callback_node == DESK_NODE:  # rule 18: its row is its source call's
            call.callback.request_call = scheduled_source(row.call_id)
            call.callback.scheduled_by, call.callback.note = row.callback_by, row.callback_note
        self.calls[call.call_id] = call
        self._with_callback[call.call_id] = call  # its retries' dues: next_timer
        self.counters["adopted"] += 1
        self._write(RecordCallEvent(call.call_id, now.wall, "callback_adopted",
                                    {"attempts": row.callback_attempts,
                                     "wait_s": round(waited, 1)}))  # fmt: skip
        self._callback_back_in_line(call)

    def _settle_row(self, row: CallRowLoaded, lost: bool, why: str, call: Call | None) -> None:
        """Close a call from what SQL knows of it: a dead run's, gone before we saw it."""
        wall = self._now.wall
        if row.outcome is None and (call is None or call.outcome is None):
            if row.answered_at is not None:
                outcome = Outcome.ANSWERED
            elif lost:
                outcome = Outcome.LOST
            else:
                outcome = Outcome.ABANDONED if row.queued_at else Outcome.IVR_HANGUP
            self._settle(row.call_id, outcome, row.queue or "", row.wait_s, row.agent_id)
        self._write(RecordCallUpdate(row.call_id, ended_at=wall))
        self._write(RecordCallEvent(row.call_id, wall, why, {"lost": lost}))
        if call is None and row.recording_path and row.recording_started_at is not None:
            # recorded across a restart and ended unseen: measure the file now
            self._out.append(FinishRecording(row.call_id, row.recording_path,
                                             row.recording_started_at, row.mixmonitor_id))  # fmt: skip

    # -- the link ------------------------------------------------------------------------
    def _link_lost(self, ev: LinkLost) -> None:
        for call in list(self.calls.values()):
            if call.node == ev.node:
                call.in_agi = False  # the resync says where each one is
                if call.in_acd:
                    self._acd(acd.CallParked(call.call_id, True))  # rule 21

    def _resynced(self, ev: LinkResynced) -> None:
        if ev.restarted:
            self._restarted.add(ev.node)
            self._log("warning", f"node {ev.node}: the PBX restarted; its calls are lost")
        else:
            self._restarted.discard(ev.node)
        self._resync_rows = {row.call_id: row for row in ev.rows}
        self._adoptions = []
        try:
            for de in ev.events:
                self._pbx(ev.node, de, restarted=ev.restarted)
            self._legs_after_resync(ev.node, ev.events)
            # Talking callers first: their agents are ON_CALL before anyone is offered.
            for call in sorted(self._adoptions, key=lambda c: c.where is not Where.TALKING):
                row = self._resync_rows.get(call.call_id)
                if row is None:
                    self._out.append(LoadCall(call.call_id))
                else:
                    self._row_loaded(row)
        finally:
            self._resync_rows = None
        for call in list(self.calls.values()):
            if call.node == ev.node:
                if call.in_acd:
                    self._acd(acd.CallParked(call.call_id, False))  # rule 21
                self._pump(call)
        self._phones_back(ev.node)
        if ev.first:
            self._out.append(LoadOpenCalls(ev.node))

    def _phones_back(self, node: str) -> None:
        """The node is up again: its agents paused because their phone could not be reached
        (while it was down, the trunk to it found no one) take calls again."""
        if node not in self.homes.phones:
            return
        cfg = self.acd.config
        reason = cfg.pause_reason(acd.OfferFailure.UNREACHABLE)
        for agent in cfg.agents:
            if self.homes.home(agent.device) != node:
                continue
            view = self.acd.agent(agent.agent_id, self._now.mono)
            if view.state is acd.AgentState.PAUSED and view.reason == reason:
                self._log("info", f"agent {agent.agent_id}: node {node} is back; ready again")
                self._acd(acd.AgentReady(agent.agent_id))

    def _legs_after_resync(self, node: str, events: tuple[DomainEvent, ...]) -> None:
        """Agent legs in the listing: find talking agents, settle lost offers (21)."""
        listed: dict[str, Listed] = {}
        bridge_agent: dict[str, str] = {}
        #: linkedid -> (leg, agent) of agent legs waiting in the agent-wait context: their
        #: callers were on an IVR visit (the leg took the caller's Linkedid in their bridge:
        #: transcript 21 lists an agent leg with its caller's Linkedid)
        visit_legs: dict[str, tuple[str, str]] = {}
        leg_agent: dict[str, str] = {}
        for de in events:
            if isinstance(de, Listed) and (m := LEG_ID.match(de.uniqueid)) is not None:
                listed[de.uniqueid] = de
                leg_agent[de.uniqueid] = m.group("agent")
                if de.bridge_id:
                    bridge_agent[de.bridge_id] = m.group("agent")
                elif de.context == self.agent_wait_context:
                    visit_legs[de.call_id] = (de.uniqueid, m.group("agent"))
        for call in list(self.calls.values()):
            if call.node != node:
                continue
            if call.stage is Stage.ADOPTING and call.where is Where.TALKING:
                for de in events:
                    if isinstance(de, Listed) and de.uniqueid == call.uniqueid:
                        call.found_agent = bridge_agent.get(de.bridge_id)
                continue
            if call.stage is Stage.ADOPTING and call.where is Where.PARKED:
                found = visit_legs.get(call.linkedid)
                if found is not None:  # rule 10: a restart in the middle of an IVR visit
                    call.where = Where.VISITING
                    call.found_leg, call.found_agent = found
                continue
            for offer in list(call.offers):
                if not offer.fate_unknown or call.stage is not Stage.OFFERED:
                    continue
                leg = listed.get(offer.leg)
                if leg is not None and (leg.bridge_id or offer.pick
                                        and leg.context == self.ring_all_context):  # fmt: skip
                    # bridged, or a ring-all leg that answered and waits to be picked
                    self._offer_answered(call, offer)
                elif leg is None:
                    self._offer_failed(call, offer, acd.OfferFailure.NO_ANSWER)
        waiting = {o.leg for c in self.calls.values() for o in c.live_offers()}
        waiting |= {c.found_leg for c in self.calls.values() if c.found_leg is not None}
        for uid, de in listed.items():
            if de.bridge_id or uid in waiting:
                continue
            if de.context == self.agent_wait_context:
                # Rule 10: the agent waits for a visiting caller who hung up meanwhile.
                self._log("warning", f"agent {leg_agent[uid]} waited in "
                                     f"{self.agent_wait_context!r} for call "
                                     f"{call_key(node, de.call_id)}, whose caller is gone: "
                                     "its leg is hung up")  # fmt: skip
            # Otherwise a dead run's offer still ringing: nobody waits for its answer.
            self._out.append(HangupLeg(node, uid))

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


def _unqueued(stage: Stage, queue: str | None, lost: bool) -> Outcome:
    """The outcome of a call that ends outside the ACD, from the stage it was in."""
    if stage is Stage.AFTER_CALL or stage is Stage.TALKING:
        return Outcome.ANSWERED
    if lost:
        return Outcome.LOST
    return Outcome.IVR_HANGUP if queue is None else Outcome.ABANDONED


def _int(agent_id: str | None) -> int | None:
    return int(agent_id) if agent_id is not None and agent_id.isdigit() else None


def _agi_ok(text: str) -> bool:
    """A reply line that says the command worked (code 200, result not -1)."""
    try:
        return parse_agi_result(text).ok
    except RemoteProtocolError:
        return False
