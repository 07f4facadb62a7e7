"""Resync and adoption (core rules 5, 6 and 10): the channel listing after a (re)connect, callers
adopted with what SQL knows of them, agent legs judged, calls a dead run left open settled.

Each function is a method of :class:`~.core.CallFlow` (assigned in its class body):
the core is one state machine; its parts live here by concern."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import acd
from acd import Outcome
from callcenter.facts import (
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    call_key,
)
from callcenter.tracker import (
    DomainEvent,
    Listed,
    ParkedInAgi,
)

from .call import Call, LiveRecording, Offer, Where
from .effects import (
    FinishRecording,
    HangupLeg,
    LoadCall,
    LoadOpenCalls,
    LookupCard,
)
from .inputs import (
    CallRowLoaded,
    LinkLost,
    LinkResynced,
    OpenCallsLoaded,
)
from .state import Stage, Step, next_stage
from .terms import LEG_ID

if TYPE_CHECKING:
    from .core import CallFlow


def adopting(self: CallFlow, node: str, linkedid: str, channel: str, uniqueid: str, number: str, name: str,
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


def parked(self: CallFlow, node: str, de: ParkedInAgi, call: Call | None) -> None:
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


def listed(self: CallFlow, node: str, de: Listed, call: Call | None) -> None:
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


def parked_where(self: CallFlow, context: str) -> Where | None:
    """Where a caller of ours outside a bridge is, by its context (None: not ours)."""
    if context in self.entry_contexts:
        return Where.PARKED
    if context == self.after_call_context:
        return Where.AFTER_CALL
    return None


def row_loaded(self: CallFlow, row: CallRowLoaded) -> None:
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
        self._out.append(LookupCard(call.call_id, call.caller_number))
    if row.outcome is not None:
        call.outcome = row.outcome  # a dead run recorded it: never a second one
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
        if call.agent_id is not None and row.queue and call.outcome is None:
            entered = self._ago(row.queued_at)
            connected = self._ago(row.answered_at) if row.answered_at else self._now.mono
            call.in_acd = True
            self._acd(acd.CallResumed(call.call_id, row.queue, call.agent_id,
                                      call.caller_number or "anonymous",
                                      entered, connected))  # fmt: skip
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
    elif row.queue and row.queued_at is not None and call.outcome is None:
        call.stage = next_stage(call.call_id, call.stage, Step.QUEUE)
        self._enqueue(call, row.queue, row.priority, self._ago(row.queued_at))
    else:
        call.stage = next_stage(call.call_id, call.stage, Step.RESUME_IVR)
        self._start_ivr(call)


def found_visiting(self: CallFlow, call: Call, row: CallRowLoaded) -> None:
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


def ago(self: CallFlow, when: dt.datetime | None) -> float:
    """A wall-clock time from SQL on the monotonic clock (never in the future)."""
    if when is None:
        return self._now.mono
    waited: float = (self._now.wall - when).total_seconds()
    return self._now.mono - max(0.0, waited)


def open_calls(self: CallFlow, ev: OpenCallsLoaded) -> None:
    for row in ev.unfinished:
        if row.call_id not in self.calls and row.recording_path and row.recording_started_at:
            self._out.append(FinishRecording(row.call_id, row.recording_path,
                                             row.recording_started_at, row.mixmonitor_id))  # fmt: skip
    for row in ev.rows:
        if row.call_id in self.calls or row.outcome is not None or row.call_id in self._closed:
            continue  # ours now, or closed by us since SQL was read
        self._settle_row(row, ev.node in self._restarted, "settled_after_restart", None)


def settle_row(self: CallFlow, row: CallRowLoaded, lost: bool, why: str, call: Call | None) -> None:
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


def link_lost(self: CallFlow, ev: LinkLost) -> None:
    for call in self.calls.values():
        if call.node == ev.node:
            call.in_agi = False  # the resync says where each one is


def resynced(self: CallFlow, ev: LinkResynced) -> None:
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
            self._pump(call)
    if ev.first:
        self._out.append(LoadOpenCalls(ev.node))


def legs_after_resync(self: CallFlow, node: str, events: tuple[DomainEvent, ...]) -> None:
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
