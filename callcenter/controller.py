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
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from typing import Any

import acd
from callcenter.ami import ActionError, AgiHangup, AMIClient, AMIConnectionError, AMIError
from callcenter.callflow import LiveCall, Offer, Stage
from callcenter.calls import (
    TRACKED_EVENTS,
    AgiEnded,
    AgiStarted,
    CallEnded,
    CallTracker,
    ChannelHungUp,
    DomainEvent,
    ParkedInAgi,
    Unbridged,
)
from callcenter.recorder import Recorder
from callcenter.storage import call_key
from callcenter.storage.writes import (
    RecordAgentState,
    RecordCallEvent,
    RecordCallStarted,
    RecordCallUpdate,
    RecordOutcome,
)
from ivr import IvrDefinition, IvrSession, PromptResult, agi_command, prompt_result
from ivr.events import CallerHangup, CollectDigits, Hangup, PlayPrompt, RouteToQueue, SetLanguage

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
#: how long a command waits for its channel to be back in AsyncAGI
AGI_READY_WAIT_S = 4.0
#: Originate reasons (transcripts 03 and 08): 3 no answer, 5 busy, 0 failed
_FAILURES = {"3": acd.OfferFailure.NO_ANSWER, "5": acd.OfferFailure.BUSY}


class CallGone(Exception):
    """The caller's channel is gone: stop working on the call."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Node:
    """One Asterisk: its AMI client and the calls seen on it."""

    def __init__(self, name: str, client: AMIClient) -> None:
        self.name = name
        self.client = client
        self.tracker = CallTracker()
        #: set once the first connect's resync is done (and after each reconnect's)
        self.synced = asyncio.Event()


class Controller:
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
        self._sl_threshold = sl_threshold_s
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
        if ev.name == "OriginateResponse" or ev.name not in TRACKED_EVENTS:
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

    # -- a new caller ----------------------------------------------------------
    def _new_call(
        self, node: Node, linkedid: str, channel: str, uniqueid: str, number: str, name: str
    ) -> LiveCall:
        number = "" if number in ("", "unknown", "<unknown>") else number
        call = LiveCall(
            call_id=call_key(node.name, linkedid),
            node=node.name,
            linkedid=linkedid,
            channel=channel,
            uniqueid=uniqueid,
            caller_number=number,
            caller_name="" if name in ("unknown", "<unknown>") else name,
            started_at=utcnow(),
        )
        self.calls[call.call_id] = call
        self.counters["calls"] += 1
        self.writer.submit(
            RecordCallStarted(
                call.call_id,
                linkedid,
                node.name,
                call.started_at,
                caller_number=number or None,
                caller_name=call.caller_name or None,
            )
        )
        if number:
            call.card_lookup = self._spawn(self._lookup(call), f"crm {call.call_id}")
        return call

    async def _lookup(self, call: LiveCall) -> None:
        card = await self.crm.lookup(call.caller_number, self.crm_timeout_s)
        call.card = card
        if card is not None:
            self.writer.submit(RecordCallUpdate(call.call_id, customer_id=card.customer_id))

    def _start_ivr(self, call: LiveCall) -> None:
        call.ivr = IvrSession(self.ivr, call.call_id, call.caller_number)
        call.stage = Stage.IVR
        commands = call.ivr.start(self.now())
        call.job = self._spawn(self._run_ivr(call, commands), f"ivr {call.call_id}")

    async def _run_ivr(self, call: LiveCall, commands: list[Any]) -> None:
        session = call.ivr
        assert session is not None
        try:
            while commands:
                cmd = commands.pop(0)
                if isinstance(cmd, RouteToQueue):
                    call.job = None
                    self._route(call, cmd)
                    return
                if isinstance(cmd, SetLanguage):
                    call.language = cmd.language
                    await self._agi(call, agi_command(cmd) or "NOOP")
                    continue
                if isinstance(cmd, Hangup):
                    await self._agi(call, "HANGUP")
                    return
                if isinstance(cmd, (PlayPrompt, CollectDigits)):
                    reply = await self._agi(call, agi_command(cmd) or "NOOP")
                    result = prompt_result(cmd, reply.text)
                    if result.status == "failed":
                        self.writer.submit(
                            RecordCallEvent(
                                call.call_id, utcnow(), "prompt_failed",
                                {"prompt": cmd.prompt, "reply": reply.text},
                            )
                        )  # fmt: skip
                        if isinstance(cmd, PlayPrompt):
                            # Asterisk 22 ends AsyncAGI after a failed STREAM FILE
                            # (transcript 13); wait for [hotline-safe] to bring it back.
                            call.agi_ready.clear()
                    commands = session.on_result(result, self.now())
        except CallGone:
            return
        finally:
            if call.job is asyncio.current_task():
                call.job = None

    def _route(self, call: LiveCall, cmd: RouteToQueue) -> None:
        call.queue = cmd.queue
        call.language = cmd.language
        call.selections = {s.node: s.digits for s in cmd.selections}
        call.stage = Stage.QUEUED
        card = call.card
        priority = 1 if card is not None and card.is_vip else 0
        self.writer.submit(
            RecordCallUpdate(
                call.call_id,
                language=cmd.language,
                queue=cmd.queue,
                queued_at=utcnow(),
                ivr_selections=tuple(f"{n}={d}" for n, d in call.selections.items()),
            )
        )
        self._acd(
            acd.CallQueued(
                call.call_id,
                cmd.queue,
                call.caller_number or "anonymous",
                priority=priority,
                customer_id=str(card.customer_id) if card is not None else None,
            )
        )

    # -- AGI -------------------------------------------------------------------
    async def _agi(self, call: LiveCall, command: str) -> Any:
        """Send one AGI command to the caller, surviving re-entries and reconnects."""
        node = self.nodes[call.node]
        for attempt in range(6):
            if call.stage is Stage.ENDED:
                raise CallGone(call.call_id)
            await self._until_in_agi(call, node)
            try:
                return await node.client.agi(call.channel, command)
            except AgiHangup as exc:
                if call.stage is Stage.ENDED or node.tracker.channels.get(call.uniqueid) is None:
                    raise CallGone(call.call_id) from exc
                call.agi_ready.clear()
            except ActionError:
                call.agi_ready.clear()  # not in AsyncAGI (yet): wait for AsyncAGIStart
            except AMIConnectionError:
                call.agi_ready.clear()  # the link dropped: the resync sets it again
                await node.synced.wait()
            self.counters["agi_retries"] += 1
            log.info("call %s: AGI %r again (attempt %d)", call.call_id, command, attempt + 2)
        raise CallGone(f"{call.call_id}: AGI {command!r} kept failing")

    async def _until_in_agi(self, call: LiveCall, node: Node) -> None:
        try:
            await asyncio.wait_for(call.agi_ready.wait(), AGI_READY_WAIT_S)
        except TimeoutError:
            ch = node.tracker.channels.get(call.uniqueid)
            if ch is None:
                raise CallGone(call.call_id) from None
            await node.synced.wait()
            call.agi_ready.set()  # no AsyncAGIStart seen: try anyway, the error tells

    async def _hold(self, call: LiveCall, seconds: float) -> None:
        try:
            secs = max(1, round(seconds))
            await self._agi(call, f"EXEC MusicOnHold {self.moh_class},{secs}")
        except CallGone:
            return
        finally:
            if call.job is asyncio.current_task():
                call.job = None
        if call.stage is Stage.QUEUED:
            self._acd(acd.HoldSliceDone(call.call_id))

    async def _after_call(self, call: LiveCall) -> None:
        try:
            await self._agi(call, "HANGUP")
        except CallGone:
            pass

    async def _hangup_stray(self, node: Node, channel: str) -> None:
        try:
            await node.client.agi(channel, "HANGUP")
        except AMIError:
            log.warning("could not end stray AsyncAGI channel %s", channel)

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

    def _do_offer(self, cmd: acd.OfferCall) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None:
            return
        self._offer_seq += 1
        offer = Offer(cmd.agent_id, f"hl-{call.linkedid}-{self._offer_seq}")
        call.offer = offer
        call.agent_id = cmd.agent_id
        # The screen-pop goes out with the Originate, while the agent's phone rings.
        self.counters["screen_pops_sent"] += 1
        self.hub.push_to_agent(
            cmd.agent_id,
            {
                "type": "screen_pop",
                "call_id": call.call_id,
                "caller_number": call.caller_number,
                "card": call.card_json(),
                "ivr": {
                    "language": call.language,
                    "selections": call.selections,
                    "queue": call.queue,
                },
            },
        )
        self._spawn(self._originate(call, offer, cmd), f"offer {call.call_id}")

    async def _originate(self, call: LiveCall, offer: Offer, cmd: acd.OfferCall) -> None:
        node = self.nodes[call.node]
        failed = acd.OfferFailed(call.call_id, cmd.agent_id, acd.OfferFailure.FAILED)
        if not node.synced.is_set():
            # The PBX link is down: ring the agent once it is back, not never.
            try:
                await asyncio.wait_for(node.synced.wait(), cmd.timeout_s)
            except TimeoutError:
                self._offer_result(call, offer, failed)
                return
        number = "".join(c for c in call.caller_number if c.isdigit() or c == "+")
        try:
            ev = await node.client.originate(
                cmd.device,
                application="Bridge",
                data=f"{call.channel},F({self.after_call_context}^s^1)",
                caller_id=f"<{number}>" if number else None,
                dial_timeout=cmd.timeout_s,
                channel_id=offer.channel_uid,
                other_channel_id=f"{offer.channel_uid}-2",
                timeout=cmd.timeout_s + 15,
            )
        except AMIConnectionError:
            # The OriginateResponse is lost with the link: read the agent leg's fate
            # from the channels seen after the resync instead.
            self._offer_result(call, offer, await self._offer_fate(node, call, offer, cmd))
            return
        except AMIError as exc:
            log.warning("offer of %s to %s failed: %s", call.call_id, cmd.agent_id, exc)
            self._offer_result(call, offer, failed)
            return
        if ev.get("Response") == "Success":
            self._offer_result(call, offer, acd.OfferAnswered(call.call_id, cmd.agent_id))
        else:
            reason = _FAILURES.get(ev.get("Reason") or "", acd.OfferFailure.FAILED)
            self._offer_result(call, offer, acd.OfferFailed(call.call_id, cmd.agent_id, reason))

    async def _offer_fate(
        self, node: Node, call: LiveCall, offer: Offer, cmd: acd.OfferCall
    ) -> Any:
        deadline = self.now() + cmd.timeout_s
        seen = False
        while self.now() < deadline and call.offer is offer and not offer.cancelled:
            if node.synced.is_set():
                leg = node.tracker.channels.get(offer.channel_uid)
                if leg is not None and leg.bridge:
                    return acd.OfferAnswered(call.call_id, cmd.agent_id)
                if leg is None and seen:
                    break
                seen = seen or leg is not None
            await asyncio.sleep(0.2)
        return acd.OfferFailed(call.call_id, cmd.agent_id, acd.OfferFailure.NO_ANSWER)

    def _offer_result(self, call: LiveCall, offer: Offer, event: Any) -> None:
        if call.offer is not offer or offer.cancelled:
            if isinstance(event, acd.OfferAnswered):
                # Answered after we withdrew the offer: end that agent leg.
                self._spawn(self._hangup_uid(call.node, offer.channel_uid), "withdrawn leg")
            return
        self._acd(event)

    def _do_cancel(self, cmd: acd.CancelOffer) -> None:
        call = self.calls.get(cmd.call_id)
        if call is None or call.offer is None or call.offer.agent_id != cmd.agent_id:
            return
        call.offer.cancelled = True
        self.hub.push_to_agent(cmd.agent_id, {"type": "call_ended", "call_id": call.call_id})
        self._spawn(self._hangup_uid(call.node, call.offer.channel_uid), "cancel offer")

    async def _hangup_uid(self, node_name: str, uid: str) -> None:
        node = self.nodes[node_name]
        ch = node.tracker.channels.get(uid)
        if ch is None:
            return
        try:
            await node.client.send_action("Hangup", {"Channel": ch.name}, check=False)
        except AMIError:
            log.warning("could not hang up %s", ch.name)

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
        self._spawn(self.recorder.start(self.nodes[call.node].client, call), f"rec {call.call_id}")

    def _do_outcome(self, cmd: acd.CallOutcome) -> None:
        call = self.calls.get(cmd.call_id)
        outcome = cmd.outcome.value
        self.writer.submit(
            RecordOutcome(cmd.call_id, cmd.queue, outcome, cmd.wait_s, utcnow(), _int(cmd.agent_id))
        )
        self.metrics.call_outcome(outcome, cmd.wait_s)
        self.counters["outcomes"] += 1
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
                "since": _wall(self, cmd.at),
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
            self.writer.submit(RecordOutcome(call.call_id, "", "ivr_hangup", 0.0, now))
            self.metrics.call_outcome("ivr_hangup")
            self.counters["outcomes"] += 1
        elif stage in (Stage.QUEUED, Stage.CONNECTED):
            reason = acd.LeaveReason.LOST if why == "gone at resync" else acd.LeaveReason.HANGUP
            self._acd(acd.CallLeft(call.call_id, reason))
        self.writer.submit(RecordCallUpdate(call.call_id, ended_at=now))
        self.writer.submit(RecordCallEvent(call.call_id, now, "hangup", {"why": why}))
        if call.recording is not None:
            self._spawn(
                self.recorder.finish(call.call_id, call.recording), f"rec-end {call.call_id}"
            )
        del self.calls[call.call_id]
        self._changed()

    # -- resync ------------------------------------------------------------------
    async def _resync(self, node: Node, first: bool = False) -> None:
        """Reconcile with CoreShowChannels after a (re)connect (transcript 12)."""
        try:
            listing = await node.client.send_list_action("CoreShowChannels")
        except AMIError as exc:
            log.error("resync of %s failed: %s", node.name, exc)
            return
        for de in node.tracker.resync(listing.events):
            self._on_domain(node, de)
        if first:
            await self._settle_open_calls(node)
        node.synced.set()
        self._changed()

    def _on_parked(self, node: Node, de: ParkedInAgi, call: LiveCall | None) -> None:
        if call is not None:
            if de.uniqueid == call.uniqueid:
                call.agi_ready.set()
            return
        if de.context not in self.entry_contexts:
            self._spawn(self._hangup_stray(node, de.channel), f"stray {de.channel}")
            return
        self._spawn(self._adopt(node, de), f"adopt {de.channel}")

    async def _adopt(self, node: Node, de: ParkedInAgi) -> None:
        """A caller parked in AsyncAGI from before our restart: pick it up again."""
        key = call_key(node.name, de.call_id)
        row = await self.store.get_call(key)
        if key in self.calls or node.tracker.channels.get(de.uniqueid) is None:
            return
        call = self._new_call(
            node, de.call_id, de.channel, de.uniqueid, de.caller_number, de.caller_name
        )
        call.agi_ready.set()
        if row is not None and row.started_at is not None:
            call.started_at = _aware(row.started_at)
        self.writer.submit(RecordCallEvent(key, utcnow(), "adopted", {"channel": de.channel}))
        if row is not None and row.queued_at is not None and row.queue:
            waited = (utcnow() - _aware(row.queued_at)).total_seconds()
            call.queue, call.language, call.stage = row.queue, row.language, Stage.QUEUED
            self._acd(
                acd.CallQueued(
                    key,
                    row.queue,
                    call.caller_number or "anonymous",
                    entered_at=self.now() - max(0.0, waited),
                )
            )
        else:
            self._start_ivr(call)

    async def _settle_open_calls(self, node: Node) -> None:
        """Calls a previous run left open in SQL (it died, transcript 12's `dead`).

        Gone now: settled at once. Parked in AsyncAGI: adopted by ``_adopt``.
        Still talking to an agent (in a bridge, not in AGI): settled when the
        call ends.
        """
        for row in await self.store.open_calls(node.name):
            if row.id in self.calls:
                continue
            call = node.tracker.calls.get(row.linkedid)
            if call is None:
                self._settle(row, "settled_after_restart")
            elif not any(ch.in_agi for ch in call.channels.values()):
                self.detached[row.id] = row

    def _settle(self, row: Any, why: str) -> None:
        outcome = (
            "answered" if row.answered_at else ("abandoned" if row.queued_at else "ivr_hangup")
        )
        now = utcnow()
        self.writer.submit(
            RecordOutcome(row.id, row.queue or "", outcome, row.wait_s or 0.0, now, row.agent_id)
        )
        self.writer.submit(RecordCallUpdate(row.id, ended_at=now))
        self.writer.submit(RecordCallEvent(row.id, now, why, {"outcome": outcome}))
        self.metrics.call_outcome(outcome, row.wait_s)
        self.counters["outcomes"] += 1

    def core_sl_threshold(self) -> float:
        """The service-level threshold the wallboard shows (the main queue's)."""
        return self._sl_threshold

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


def _aware(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _wall(ctl: Controller, at: float) -> float:
    """A loop-clock time as epoch seconds (what the pages show)."""
    return utcnow().timestamp() - (ctl.now() - at)


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
