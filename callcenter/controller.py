"""The controller: AMI events in, IVR and ACD cores fed, their commands carried out.

Rules of this module:

1. Every input to a core comes through :meth:`Controller._acd` or an IVR
   session, with ``now`` from the loop's monotonic clock; every command they
   return is carried out by :meth:`_execute`. No core is ever called from a
   thread.
2. Nothing here blocks the loop: SQL writes go through the batching
   ``StoreWriter``; CRM lookups, AGI round trips and Originates run as tasks;
   recordings are hashed in a worker thread.
3. A caller is never dropped because of the controller: an AGI command that
   fails (missing prompt: AsyncAGI ends and ``[hotline-safe]`` re-enters it,
   transcript 13), a lost AMI link (the command is sent again after the
   resync) or a restart (parked callers are found with CoreShowChannels,
   transcript 12) all continue the call.
4. Every call that entered gets exactly one outcome row: the ACD's outcome
   once it was queued, ``ivr_hangup`` if the caller left in the IVR.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

import acd
from callcenter.callerflow import CallerFlow
from callcenter.callflow import CallGone, LiveCall, Node, Stage, utcnow
from callcenter.calls import (
    GONE_AT_RESYNC,
    TRACKED_EVENTS,
    AgiEnded,
    AgiStarted,
    Bridged,
    CallEnded,
    ChannelHungUp,
    DomainEvent,
    ParkedInAgi,
    Unbridged,
)
from callcenter.offering import Offering
from callcenter.recorder import Recorder
from callcenter.recovery import Recovery
from callcenter.storage import call_key
from callcenter.storage.writes import (
    RecordAgentState,
    RecordCallEvent,
    RecordCallUpdate,
    RecordOutcome,
)
from ivr import IvrDefinition, PromptResult
from ivr.events import CallerHangup

log = logging.getLogger(__name__)

#: the pages' names for the ACD's agent states
PAGE_STATE = {
    acd.AgentState.READY: "ready",
    acd.AgentState.OFFERED: "ringing",
    acd.AgentState.ON_CALL: "talking",
    acd.AgentState.WRAP_UP: "wrapup",
    acd.AgentState.PAUSED: "paused",
    acd.AgentState.LOGGED_OUT: "offline",
}


class Controller(CallerFlow, Offering, Recovery):
    """Runs the hotline on one or more Asterisk nodes."""

    def __init__(
        self,
        *,
        nodes: Iterable[Node],
        ivr: IvrDefinition,
        acd_core: acd.Acd,
        writer: Any,
        store: Any,
        crm: Any,
        hub: Any,
        metrics: Any,
        recorder: Recorder,
        entry_contexts: Iterable[str],
        after_call_context: str,
        moh_class: str = "default",
        crm_timeout_s: float = 1.5,
        agent_names: dict[str, str] | None = None,
        on_change: Callable[[], None] | None = None,
        sl_threshold_s: float = 20.0,
    ) -> None:
        #: the service-level threshold the wallboard shows (the main queue's)
        self.sl_threshold_s = sl_threshold_s
        self.nodes = {n.name: n for n in nodes}
        self.ivr = ivr
        self.core = acd_core
        self.writer = writer
        self.store = store
        self.crm = crm
        self.hub = hub
        self.metrics = metrics
        self.recorder = recorder
        self.entry_contexts = frozenset(entry_contexts)
        self.after_call_context = after_call_context
        self.moh_class = moh_class
        self.crm_timeout_s = crm_timeout_s
        self.agent_names = agent_names or {}
        self.calls: dict[str, LiveCall] = {}
        #: calls of a previous run still talking to an agent: settled when they end
        self.detached: dict[str, Any] = {}
        self.counters = {"calls": 0, "outcomes": 0, "screen_pops_sent": 0, "agi_retries": 0}
        self._on_change = on_change
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._offer_seq = 0
        self._loop = asyncio.get_running_loop()

    # -- life cycle ------------------------------------------------------------
    async def start(self) -> None:
        for node in self.nodes.values():
            client = node.client
            client.subscribe(TRACKED_EVENTS)
            client.on_event("*", lambda ev, node=node: self._on_ami_event(node, ev))
            client.on_reconnect(lambda node=node: self._resync(node))
            client.on_state(lambda state, node=node: self._on_link_state(node, state))
            await client.connect()
            self.metrics.ami_state(node.name, True)
            await self._resync(node, first=True)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        for call in self.calls.values():
            for task in (call.job, call.card_lookup):
                if task is not None:
                    task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for node in self.nodes.values():
            await node.client.close()

    def now(self) -> float:
        return self._loop.time()

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = self._loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            if not isinstance(exc, CallGone):
                log.error("task %s failed", task.get_name(), exc_info=exc)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # -- AMI events ------------------------------------------------------------
    def _on_ami_event(self, node: Node, ev: Any) -> None:
        if ev.name not in TRACKED_EVENTS:
            return
        for de in node.tracker.on_event(ev):
            self._on_domain(node, de)

    def _on_link_state(self, node: Node, state: Any) -> None:
        up = getattr(state, "name", str(state)) == "CONNECTED"
        self.metrics.ami_state(node.name, up)
        if not up:
            node.synced.clear()
        self._changed()

    def _on_domain(self, node: Node, de: DomainEvent) -> None:
        call = self.calls.get(call_key(node.name, de.call_id))
        if isinstance(de, AgiStarted):
            self._on_agi_started(node, de, call)
        elif isinstance(de, ParkedInAgi):
            self._on_parked(node, de, call)
        elif call is None:
            if isinstance(de, CallEnded):
                row = self.detached.pop(call_key(node.name, de.call_id), None)
                if row is not None:
                    self._settle(row, "ended_after_restart")
            return
        elif isinstance(de, AgiEnded) and de.uniqueid == call.uniqueid:
            call.agi_ready.clear()
        elif isinstance(de, Bridged) and de.uniqueid == call.uniqueid:
            self._record_if_bridged(node, call)
        elif isinstance(de, Unbridged) and de.uniqueid == call.uniqueid:
            if call.stage is Stage.CONNECTED:
                # the agent left: Bridge's F() sends the caller to after-call
                self._acd(acd.CallEnded(call.call_id))
        elif isinstance(de, ChannelHungUp) and de.uniqueid == call.uniqueid:
            self._caller_gone(call, de.cause_txt)

    def _on_agi_started(self, node: Node, de: AgiStarted, call: LiveCall | None) -> None:
        if call is not None and de.uniqueid == call.uniqueid:
            call.agi_ready.set()
            if de.env.context == self.after_call_context and call.stage is Stage.CONNECTED:
                self._acd(acd.CallEnded(call.call_id))
            if call.stage is Stage.AFTER_CALL and call.job is None:
                call.job = self._spawn(self._after_call(call), f"after-call {call.call_id}")
            return
        if de.env.context in self.entry_contexts and call is None:
            call = self._new_call(
                node, de.call_id, de.channel, de.uniqueid, de.env.callerid, de.env.calleridname
            )
            call.agi_ready.set()
            self._start_ivr(call)
            return
        if call is None:
            # Parked in AsyncAGI in a context we do not run (after-call of a call
            # from before a restart): it would wait forever, so end it cleanly.
            self._spawn(self._hangup_stray(node, de.channel), f"stray {de.channel}")

    # -- the ACD -----------------------------------------------------------------
    def _acd(self, event: Any) -> None:
        try:
            commands = self.core.handle(event, self.now())
        except acd.AcdError:
            log.exception("ACD refused %r", event)
            return
        self._execute(commands)

    def _on_timer(self) -> None:
        self._timer = None
        self._execute(self.core.on_timer(self.now()))

    def _arm_timer(self) -> None:
        deadline = self.core.next_timer()
        if self._timer is not None:
            if deadline is not None and abs(self._timer.when() - deadline) < 1e-6:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _execute(self, commands: Iterable[Any]) -> None:
        for cmd in commands:
            handler = _COMMANDS.get(type(cmd))
            if handler is None:
                log.error("no handler for ACD command %r", cmd)
                continue
            handler(self, cmd)
        self._arm_timer()
        self._changed()

    def _do_hold(self, cmd: acd.HoldCaller) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None or call.stage is not Stage.QUEUED:
            return
        if call.job is not None and not call.job.done():
            call.job.cancel()
        call.job = self._spawn(self._hold(call, cmd.seconds), f"hold {call.call_id}")

    def _do_connected(self, cmd: acd.CallConnected) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        call.stage = Stage.CONNECTED
        call.agent_id = cmd.agent_id
        call.agi_ready.clear()  # Bridge pulled the caller out of AsyncAGI (transcript 03)
        if call.job is not None and not call.job.done():
            call.job.cancel()
            call.job = None
        self.writer.submit(
            RecordCallUpdate(
                call.call_id, answered_at=utcnow(), agent_id=_int(cmd.agent_id), wait_s=cmd.wait_s
            )
        )
        self._record_if_bridged(self.nodes[call.node], call)

    def _record_if_bridged(self, node: Node, call: LiveCall) -> None:
        """Start the recording once the agent answered and the caller is in the bridge.

        The caller's ``BridgeEnter`` comes after ``Bridge()`` swapped its channel,
        so a MixMonitor sent then finds it (see :meth:`Recorder.start`).
        """
        if call.recording_asked or call.stage is not Stage.CONNECTED:
            return
        ch = node.tracker.channels.get(call.uniqueid)
        if ch is None or ch.bridge is None:
            return
        call.recording_asked = True
        self._spawn(self.recorder.start(node.client, call), f"rec {call.call_id}")

    def _do_outcome(self, cmd: acd.CallOutcome) -> None:
        call = self.calls.get(cmd.call_id)
        outcome = cmd.outcome.value
        self.record_outcome(cmd.call_id, cmd.queue, outcome, cmd.wait_s, _int(cmd.agent_id))
        if call is not None:
            call.outcome = outcome
            if call.stage is Stage.CONNECTED:
                call.stage = Stage.AFTER_CALL
                if call.agi_ready.is_set() and call.job is None:
                    call.job = self._spawn(self._after_call(call), f"after-call {call.call_id}")
            if call.agent_id is not None:
                self.hub.push_to_agent(
                    call.agent_id, {"type": "call_ended", "call_id": call.call_id}
                )

    def _do_overflow(self, cmd: acd.OverflowCall) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        log.warning("call %s waited %.0f s in %s: overflow", cmd.call_id, cmd.wait_s, cmd.queue)
        call.stage = Stage.AFTER_CALL
        if call.job is not None:
            call.job.cancel()
        call.job = self._spawn(self._after_call(call), f"overflow {call.call_id}")

    def _do_agent_state(self, cmd: acd.AgentStateChanged) -> None:
        self.writer.submit(
            RecordAgentState(
                _int(cmd.agent_id) or 0, utcnow(), cmd.new.value, cmd.old.value, cmd.reason or None
            )
        )
        self.hub.push_to_agent(
            cmd.agent_id,
            {
                "type": "state",
                "state": PAGE_STATE[cmd.new],
                "since": self.wall_time(cmd.at),
                "call_id": cmd.call_id,
            },
        )

    # -- the caller leaves -------------------------------------------------------
    def _caller_gone(self, call: LiveCall, why: str) -> None:
        stage = call.stage
        call.stage = Stage.ENDED
        call.agi_ready.set()  # wake a waiting job so it sees ENDED
        for task in (call.job, call.card_lookup):
            if task is not None and not task.done():
                task.cancel()
        now = utcnow()
        if stage is Stage.IVR:
            if call.ivr is not None and not call.ivr.done:
                call.ivr.on_result(CallerHangup(), self.now())
            self.record_outcome(call.call_id, "", "ivr_hangup", 0.0, None)
        elif stage in (Stage.QUEUED, Stage.CONNECTED):
            reason = acd.LeaveReason.LOST if why == GONE_AT_RESYNC else acd.LeaveReason.HANGUP
            self._acd(acd.CallLeft(call.call_id, reason))
        self.writer.submit(RecordCallUpdate(call.call_id, ended_at=now))
        self.writer.submit(RecordCallEvent(call.call_id, now, "hangup", {"why": why}))
        if call.recording is not None:
            self._spawn(
                self.recorder.finish(call.call_id, call.recording), f"rec-end {call.call_id}"
            )
        del self.calls[call.call_id]
        self._changed()

    def record_outcome(
        self, call_id: str, queue: str, outcome: str, wait_s: float, agent_id: int | None
    ) -> None:
        """The one place a call's outcome is written and counted (SQL and /metrics)."""
        self.writer.submit(RecordOutcome(call_id, queue, outcome, wait_s, utcnow(), agent_id))
        self.metrics.call_outcome(outcome, wait_s)
        self.counters["outcomes"] += 1

    def wall_time(self, at: float) -> float:
        """A loop-clock time as epoch seconds (what the pages show)."""
        return utcnow().timestamp() - (self.now() - at)

    # -- agents (the web desk) ---------------------------------------------------
    async def agent_ready(self, agent_id: str) -> None:
        view = self.core.agent(agent_id, self.now())
        if view.state is acd.AgentState.LOGGED_OUT:
            self._execute(self.core.handle(acd.AgentLogin(agent_id), self.now()))
        else:
            self._execute(self.core.handle(acd.AgentReady(agent_id), self.now()))

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        self._execute(self.core.handle(acd.AgentPause(agent_id, reason), self.now()))

    def login_all(self) -> None:
        """Log every configured agent in (the demo's agents are always at work)."""
        for view in self.core.snapshot(self.now()).agents:
            if view.state is acd.AgentState.LOGGED_OUT:
                self._execute(self.core.handle(acd.AgentLogin(view.agent_id), self.now()))


def _int(agent_id: str | None) -> int | None:
    return int(agent_id) if agent_id is not None and agent_id.isdigit() else None


_COMMANDS: dict[type, Callable[[Controller, Any], None]] = {
    acd.HoldCaller: Controller._do_hold,
    acd.OfferCall: Controller._do_offer,
    acd.CancelOffer: Controller._do_cancel,
    acd.CallConnected: Controller._do_connected,
    acd.CallOutcome: Controller._do_outcome,
    acd.OverflowCall: Controller._do_overflow,
    acd.AgentStateChanged: Controller._do_agent_state,
}

__all__ = ["Controller", "Node", "PromptResult"]
