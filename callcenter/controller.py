"""The shell around the call-flow core: AMI in, effects carried out, results fed back.

Rules of this module:

1. It decides nothing about a call. Every AMI event (through the node's
   :class:`~callcenter.tracker.CallTracker`), every effect's result, every
   agent action and every link change becomes one input of
   :class:`~callcenter.flow.CallFlow`; the effects it returns are carried out
   here (:meth:`Controller._carry_out`) and their results fed back as inputs.
   The one timer is re-armed from ``CallFlow.next_timer()`` after each input.
2. Nothing here blocks the loop: AGI round trips, Originates, CRM lookups and
   SQL reads run as tasks; SQL writes go through the batching ``StoreWriter``;
   recordings are hashed in a worker thread.
3. A node may be down: each node connects on its own, retrying, so the web
   and the other nodes run meanwhile (:meth:`Controller._connect`).
4. The facts of a resync are read here and judged by the core:
   ``CoreShowChannels``, ``Status`` where the listing can be stale
   (transcript 15), ``CoreStatus``'s start time to tell a PBX restart from a
   network blip (transcript 20).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

import acd
from callcenter.ami import (
    ActionError,
    ActionTimeout,
    AgiHangup,
    AgiResult,
    AMIClient,
    AMIConnectionError,
    AMIError,
    Response,
)
from callcenter.facts import RecordCallStarted, RecordOutcome, RecordVoicemail, WriteRequest
from callcenter.flow import PAGE_STATE, Call, CallFlow
from callcenter.flow import effects as fx
from callcenter.flow.announce import AnnouncePolicy
from callcenter.flow.callback import CallbackPolicy, callable_number, scheduled_call_id
from callcenter.flow.core import DEFAULT_TIERS, Tiers
from callcenter.flow.homes import PhoneHomes
from callcenter.flow.inputs import (
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
from callcenter.flow.overflow import OverflowTarget
from callcenter.flow.place import BadPlace, Place
from callcenter.flow.sticky import LastServed
from callcenter.logs import call_fields
from callcenter.ports import AccountLookup, CallFacts, CardLookup, Pushes, ShellMetrics, Writes
from callcenter.preflight import ami_privilege_warnings
from callcenter.storage.models import call_key
from callcenter.tracker import TRACKED_EVENTS, CallTracker, corrected, needs_status
from ivr import IvrDefinition
from recordings import Recorder, RecordingPolicy, file_facts

log = logging.getLogger(__name__)


def _log_milestone(row: WriteRequest) -> None:
    """A call's start and its end in the queue: one INFO line each, with its fields."""
    if isinstance(row, RecordCallStarted):
        log.info("call from %s", row.caller_number or "unknown",
                 extra=call_fields(row.call_id, row.node))  # fmt: skip
    elif isinstance(row, RecordOutcome):
        log.info("call %s in %s after %.0f s", row.outcome, row.queue, row.wait_s,
                 extra=call_fields(row.call_id, agent_id=row.agent_id))  # fmt: skip


#: Originate reasons (transcripts 03, 08, 16): 3 no answer, 5 busy (a Local channel
#: running Busy()); 0 is busy, unreachable or failed: the agent leg tells (see _reason_0)
_REASONS = {"3": OfferResult.NO_ANSWER, "5": OfferResult.BUSY}
#: Hangup Cause 17, "User busy" (transcript 16)
_USER_BUSY = 17
#: ChanSpy's options by mode (transcript 19): ``q`` quiet (no beep, no name spoken to the
#: supervisor), ``w`` whisper (the supervisor talks to the agent only), ``B`` barge (to
#: both parties), ``E`` exit when the spied-on agent leg hangs up
SPY_OPTIONS = {"listen": "qE", "whisper": "qwE", "barge": "qBE"}
#: how long the supervisor's phone rings for a spy (seconds)
SPY_RING_S = 30.0
#: how long the agents' restore waits for every node's first resync
RESTORE_WAIT_S = 10.0
#: seconds between connect attempts to a node that is down (doubling up to the last),
#: and between attempts to read SQL while the database is away
_CONNECT_BACKOFF = (0.5, 1.0, 2.0, 5.0)
#: how often a read of SQL that waits for the writer to apply what was submitted before
#: it (read-your-writes) looks whether the database is away: the read waits, the calls don't
FLUSH_WAIT_S = 2.0
_T = TypeVar("_T")

__all__ = ["PAGE_STATE", "Controller", "Node"]


class Node:
    """One Asterisk: its AMI client and the channels seen on it."""

    def __init__(self, name: str, client: AMIClient) -> None:
        self.name = name
        self.client = client
        self.tracker = CallTracker()
        #: set once a connect's resync is done; cleared when the link drops
        self.synced = asyncio.Event()
        #: ``CoreStartupDate`` + ``CoreStartupTime`` of the PBX at the last resync
        self.started: str | None = None
        #: the last connect error, shown on /healthz until the node is up
        self.error: str | None = None
        #: what the last ListCommands said of the AMI user's rights (logged when it
        #: changes); None until the first connect checked them
        self.privilege_warnings: list[str] | None = None


class Controller:
    """Runs the hotline on one or more Asterisk nodes: the shell of :class:`CallFlow`."""

    def __init__(
        self,
        *,
        nodes: Iterable[Node],
        ivr: IvrDefinition,
        acd_core: acd.Acd,
        writer: Writes,
        store: CallFacts,
        crm: CardLookup,
        hub: Pushes,
        metrics: ShellMetrics,
        recorder: Recorder,
        entry_contexts: Iterable[str],
        after_call_context: str,
        ring_all_context: str = "agent-ring-all",
        moh_class: str = "default",
        crm_timeout_s: float = 1.5,
        on_change: Callable[[], None] | None = None,
        sl_threshold_s: float = 20.0,
        accounts: AccountLookup | None = None,
        tiers: Tiers = DEFAULT_TIERS,
        recording: Mapping[str, RecordingPolicy] | None = None,
        announcements: Mapping[str, AnnouncePolicy] | None = None,
        overflow: Mapping[str, OverflowTarget] | None = None,
        callbacks: Mapping[str, CallbackPolicy] | None = None,
        callback_context: str = "hotline-callback",
        consult_context: str = "hotline-consult",
        agent_wait_context: str = "hotline-agent-wait",
        voicemail_dir: str = "/var/spool/asterisk/voicemail/hotline",
        voicemail_read_dir: Path | None = None,
        on_pop: Callable[[str, Mapping[str, Any]], None] | None = None,
        homes: PhoneHomes | None = None,
    ) -> None:
        #: called with each screen-pop pushed (the CRM's outgoing webhook)
        self.on_pop = on_pop
        #: where the controller reads voicemail files (``voicemail_dir`` as this machine sees it)
        self.voicemail_read_dir = voicemail_read_dir or Path(voicemail_dir)
        #: the service-level threshold the wallboard shows (the main queue's)
        self.sl_threshold_s = sl_threshold_s
        self.nodes = {n.name: n for n in nodes}
        self.core = acd_core
        self.flow = CallFlow(
            ivr=ivr,
            acd_core=acd_core,
            entry_contexts=entry_contexts,
            after_call_context=after_call_context,
            ring_all_context=ring_all_context,
            moh_class=moh_class,
            run_id=secrets.token_hex(3),
            tiers=tiers,
            recording=recording,
            announcements=announcements,
            overflow=overflow,
            callbacks=callbacks,
            callback_context=callback_context,
            consult_context=consult_context,
            agent_wait_context=agent_wait_context,
            voicemail_dir=voicemail_dir,
            homes=homes,
        )
        self.writer = writer
        self.store = store
        self.crm = crm
        self.hub = hub
        self.metrics = metrics
        self.recorder = recorder
        self.crm_timeout_s = crm_timeout_s
        #: the IVR's lookup by entered account (None: every such lookup is not found)
        self.accounts = accounts
        self._on_change = on_change
        #: called with each row the controller writes (the wallboard's figures of the day)
        self.on_write: Callable[[WriteRequest], None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._loop = asyncio.get_running_loop()
        #: the wall clock the core sees (the IVR's business hours); tests fix it
        self.wall_clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        #: the leader's gate (``callcenter.leader``): while it says False (a standby, or
        #: a leader past its lease) no input reaches the core and nothing is carried out
        self.may_act: Callable[[], bool] | None = None
        #: inputs dropped because the gate was closed
        self.not_leading = 0

    @property
    def calls(self) -> dict[str, Call]:
        """The live calls, by call id (the core's)."""
        return self.flow.calls

    @property
    def counters(self) -> dict[str, int]:
        return self.flow.counters

    # -- life cycle ------------------------------------------------------------
    async def start(self) -> None:
        """Connect every node (each on its own: one may be down), then restore the agents.

        Agents come back as they were once every node's first resync is applied (or
        ``RESTORE_WAIT_S`` passed): an agent still talking is then found ON_CALL in
        its bridge before a waiting caller could be offered to it.
        """
        states = await self.store.latest_agent_states()
        await self.load_last_served()
        for node in self.nodes.values():
            self._wire(node)
            self.metrics.ami_state(node.name, False)
            self._spawn(self._connect(node), f"connect {node.name}")
        self._spawn(self._restore_agents(states), "restore agents")

    async def load_last_served(self) -> None:
        """The sticky agent index from SQL (``callcenter.flow.sticky`` rule 2): one read
        at start of the calls of the longest ``sticky_days``; none if no queue is sticky."""
        sticky = [q.sticky_days for q in self.core.config.queues if q.sticky_wait_s]
        if not sticky:
            return
        since = self.wall_clock() - dt.timedelta(days=max(sticky))
        rows = await self.store.last_answered(since)
        # normalizing each number (phonenumbers, ~50-150 us uncached) for a month of
        # calls takes seconds: in a thread, so the loop stays free meanwhile
        index = LastServed()
        await asyncio.to_thread(index.seed, rows)
        self.flow.last_served = index

    def _wire(self, node: Node) -> None:
        client = node.client
        client.subscribe(TRACKED_EVENTS)

        def on_event(ev: Any) -> None:
            self._on_ami_event(node, ev)

        async def on_reconnect() -> None:
            await self._resync(node)

        def on_state(state: Any) -> None:
            self._on_link_state(node, state)

        client.on_event("*", on_event)
        client.on_reconnect(on_reconnect)
        client.on_state(on_state)

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever calls, agents or links changed (the desk publishes)."""
        self._on_change = callback

    async def wait_synced(self, timeout: float) -> None:
        """Wait until every node is connected and resynced (tests, the demo)."""
        async with asyncio.timeout(timeout):
            for node in self.nodes.values():
                await node.synced.wait()

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for node in self.nodes.values():
            await node.client.close()

    async def _connect(self, node: Node) -> None:
        """Connect to a node until it answers; the client reconnects by itself after."""
        attempt = 0
        while True:
            try:
                await node.client.connect()
            except AMIError as exc:
                wait = _CONNECT_BACKOFF[min(attempt, len(_CONNECT_BACKOFF) - 1)]
                if node.error != str(exc):
                    log.error("node %s: %s; trying again every %g s", node.name, exc, wait)
                node.error = str(exc)
                attempt += 1
                self._changed()
                await asyncio.sleep(wait)
                continue
            node.error = None
            self.metrics.ami_state(node.name, True)
            await self._resync(node, first=True)
            return

    async def _check_privileges(self, node: Node) -> None:
        """Warn when the node's AMI user lacks a write class we need or holds one we don't."""
        try:
            answer = await node.client.send_action("ListCommands", expect_list=False)
        except AMIError as exc:
            log.warning("node %s: ListCommands failed (%s): AMI rights not checked", node.name, exc)
            return
        assert isinstance(answer, Response)
        listed = {k: v for k, v in answer.headers if k not in ("Response", "ActionID", "Message")}
        warnings = ami_privilege_warnings(node.name, node.client.username, listed)
        if warnings != node.privilege_warnings:
            node.privilege_warnings = warnings
            for text in warnings:
                log.warning("%s", text)

    async def _restore_agents(self, states: dict[int, tuple[str, str | None]]) -> None:
        """Agents come back as they were: logged in, ready or paused (a restart is not a logout)."""
        try:
            await self.wait_synced(RESTORE_WAIT_S)
        except TimeoutError:
            log.warning("restoring the agents before every node answered")
        logged_out = {
            a.agent_id
            for a in self.core.snapshot(self.now()).agents
            if a.state is acd.AgentState.LOGGED_OUT
        }
        for agent_id, (state, reason) in sorted(states.items()):
            aid = str(agent_id)
            if aid not in logged_out or state == acd.AgentState.LOGGED_OUT.value:
                continue  # unknown, logged in meanwhile (or found talking), or was out
            # a paused agent comes back paused, never ready (and offered a call) between
            paused = (reason or "paused") if state == acd.AgentState.PAUSED.value else None
            self.feed(AgentCommand(acd.AgentLogin(aid, paused=paused)))

    # -- the loop between the core and the world --------------------------------
    def now(self) -> float:
        return self._loop.time()

    def instant(self) -> Instant:
        return Instant(self._loop.time(), self.wall_clock())

    def wall_time(self, at: float) -> float:
        """A loop-clock time as epoch seconds (what the pages show)."""
        return self.flow.wall_time(at, self.instant())

    def feed(self, event: Input) -> None:
        """One input to the core; its effects carried out; the timer re-armed.

        The core's time over an input that led to an offer is the routing decision's
        (two clock reads per input; one histogram observation per offer)."""
        if self.may_act is not None and not self.may_act():
            self.not_leading += 1
            if self.not_leading == 1:
                log.warning("not leading: %s not handled (nor any input from here on "
                            "until this controller leads)", type(event).__name__)  # fmt: skip
            return
        started = time.perf_counter()
        effects = self.flow.handle(event, self.instant())
        spent = time.perf_counter() - started
        offered = False
        for effect in effects:
            self._carry_out(effect)
            offered = offered or type(effect) is fx.Originate
        if offered:
            self.metrics.routing_decision(spent)
        self._arm_timer()
        self._changed()

    def _carry_out(self, effect: fx.Effect) -> None:
        match effect:
            case fx.Write():
                self.writer.submit(effect.row)
                _log_milestone(effect.row)
                if self.on_write is not None:
                    self.on_write(effect.row)
            case fx.Push():
                open_desks = self.hub.push_to_agent(effect.agent_id, effect.message)
                if open_desks and effect.message.get("type") == "screen_pop":
                    self.metrics.screen_pop_sent(effect.message["call_id"])
                if self.on_pop is not None and effect.message.get("type") == "screen_pop":
                    self.on_pop(effect.agent_id, effect.message)
            case fx.SendAgi():
                self._send_agi(effect)
            case fx.Originate():
                self._spawn(self._originate(effect), f"offer {effect.call_id}")
            case fx.HangupLeg():
                self._spawn(self._hangup_leg(effect), f"hangup {effect.uniqueid}")
            case fx.PickLeg():
                self._spawn(self._pick_leg(effect), f"pick {effect.leg}")
            case fx.RedirectCall():
                self._spawn(self._redirect(effect), f"redirect {effect.call_id}")
            case fx.StartRecording():
                self._spawn(self._start_recording(effect), f"rec {effect.call_id}")
            case fx.SetRecordingMute():
                self._spawn(self._set_mute(effect), f"mute {effect.call_id}")
            case fx.StopRecording():
                self._spawn(self._stop_recording(effect), f"rec-stop {effect.call_id}")
            case fx.RejoinAgent():
                self._spawn(self._rejoin(effect), f"rejoin {effect.call_id}")
            case fx.BlindTransferLeg():
                self._spawn(self._blind_transfer(effect), f"transfer {effect.call_id}")
            case fx.AtxferLeg():
                self._spawn(self._atxfer(effect), f"atxfer {effect.call_id}")
            case fx.CancelAtxferLeg():
                self._spawn(self._cancel_atxfer(effect), f"cancel-atxfer {effect.call_id}")
            case fx.FinishRecording():
                self._spawn(
                    self.recorder.finish(
                        effect.call_id,
                        effect.path,
                        effect.started_at,
                        effect.mixmonitor_id,
                        effect.mute_intervals,
                    ),
                    f"rec-end {effect.call_id}",
                )
            case fx.LookupCard():
                self._spawn(self._lookup(effect), f"crm {effect.call_id}")
            case fx.LookupCardByAccount():
                self._spawn(self._lookup_account(effect), f"crm account {effect.call_id}")
            case fx.LoadCall():
                self._spawn(self._load_call(effect), f"load {effect.call_id}")
            case fx.LoadOpenCalls():
                self._spawn(self._load_open_calls(effect), f"open calls {effect.node}")
            case fx.CountRecordingMissing():
                self.metrics.recording_missing()
            case fx.CountIvr():
                if effect.what == "entry":
                    self.metrics.ivr_entry(effect.flow, effect.node)
                elif effect.what == "callback":
                    self.metrics.ivr_callback(effect.flow, effect.node)
                else:
                    self.metrics.ivr_dropoff(effect.flow, effect.node)
            case fx.SaveVoicemail():
                self._spawn(self._save_voicemail(effect), f"voicemail {effect.call_id}")
            case fx.CountSurvey():
                for question, score in effect.answers.items():
                    self.metrics.survey_answer(effect.queue, question, score)
            case fx.Log():
                log.log(logging.getLevelName(effect.level.upper()), "%s", effect.text,
                        extra=call_fields(effect.call_id, effect.node, effect.agent_id))  # fmt: skip

    def reload(self, config: acd.AcdConfig, tiers: Tiers, sl_threshold_s: float) -> None:
        """Take a reloaded config's queues, rules, agents and tiers live.

        Callers already waiting keep their place; what the new rules allow at once
        (offers, timeouts) is carried out. Raises :class:`acd.AcdError`, with nothing
        changed, when the ACD refuses the new config.
        """
        for effect in self.flow.reconfigure(config, tiers, self.instant()):
            self._carry_out(effect)
        self.metrics.know_queues(q.name for q in config.queues)
        self.sl_threshold_s = sl_threshold_s
        self._arm_timer()
        self._changed()

    def reload_recording(self, policies: Mapping[str, RecordingPolicy]) -> None:
        """Calls bridged from now on take these recording policies (queue -> policy)."""
        self.flow.recording = dict(policies)

    def reload_announcements(self, policies: Mapping[str, AnnouncePolicy]) -> None:
        """Waiting callers are told their figures by these policies from their next
        hold slice on (queue -> policy; a queue not listed: none)."""
        self.flow.announcements = dict(policies)

    def reload_callbacks(self, policies: Mapping[str, CallbackPolicy]) -> None:
        """Callers offered a callback from now on get these policies (queue -> policy);
        a callback already asked for goes on under the new one."""
        self.flow.callbacks = dict(policies)

    def reload_overflow(self, targets: Mapping[str, OverflowTarget]) -> None:
        """Callers overflowing from now on go to these targets (queue -> target)."""
        self.flow.overflow = dict(targets)

    def reload_ivr(self, ivr: IvrDefinition) -> None:
        """New calls take ``ivr``; sessions already running keep the definition they hold."""
        self.flow.ivr = ivr
        self.metrics.know_ivr(ivr)

    def _arm_timer(self) -> None:
        deadline = self.flow.next_timer()
        if self._timer is not None:
            if deadline is not None and abs(self._timer.when() - deadline) < 1e-6:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.feed(Timer())

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = self._loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    # -- AMI events and the link -----------------------------------------------------
    def _on_ami_event(self, node: Node, ev: Any) -> None:
        if ev.name not in TRACKED_EVENTS:
            return
        for de in node.tracker.on_event(ev):
            self.feed(PbxEvent(node.name, de))

    def _on_link_state(self, node: Node, state: Any) -> None:
        up = getattr(state, "name", str(state)) == "CONNECTED"
        self.metrics.ami_state(node.name, up)
        if not up and node.synced.is_set():
            node.synced.clear()
            self.feed(LinkLost(node.name))
        self._changed()

    async def _resync(self, node: Node, first: bool = False) -> None:
        """Read the facts after a (re)connect and hand them to the core (12, 15, 20, 21);
        then check the AMI user's rights."""
        try:
            # the listing is older than the events read meanwhile (see CallTracker.resync)
            known, ended = set(node.tracker.channels), set(node.tracker.ended)
            status = await node.client.send_action("CoreStatus", expect_list=False)
            assert isinstance(status, Response)
            started = f"{status.get('CoreStartupDate')} {status.get('CoreStartupTime')}"
            listing = await node.client.send_list_action("CoreShowChannels")
            listed = await self._corrected(node, listing.events)
        except AMIError as exc:
            log.error("resync of %s failed: %s", node.name, exc)
            return
        restarted = node.started is not None and started != node.started
        node.started = started
        # What SQL knows of the calls the core does not hold, read before the listing is
        # applied, so the core adopts them all at once (talking ones before any offer).
        # While the database is away the resync goes on without them: the calls it
        # holds are driven at once, and each unknown one is loaded by _load_call once
        # SQL answers (the core asks for those it has no row of). A writer that is only
        # behind is waited for, as long as it takes.
        linkedids = {ev.get("Linkedid") or "" for ev in listed}
        ids = {call_key(node.name, i) for i in linkedids if not i.startswith("hl-")}
        rows: list[CallRowLoaded] = []
        if unknown := sorted(ids - set(self.calls)):
            try:
                if await self._written_unless_away():
                    rows = [await self._read_row(call_id) for call_id in unknown]
                else:
                    log.warning("resync of %s: the database is away; %d call(s) adopted once "
                                "it answers", node.name, len(unknown))  # fmt: skip
            except Exception as exc:  # the database went away while read
                log.warning("resync of %s: SQL unavailable (%r); %d call(s) adopted once it "
                            "answers", node.name, exc, len(unknown))  # fmt: skip
                rows = []
        hung_up = set(node.tracker.ended) - ended
        events = tuple(node.tracker.resync(listed, known, hung_up))
        node.synced.set()
        self.feed(LinkResynced(node.name, events, first=first, restarted=restarted,
                               rows=tuple(rows)))  # fmt: skip
        await self._check_privileges(node)

    async def _written_unless_away(self) -> bool:
        """Wait until the writer applied every write submitted so far; False at once
        when it cannot because the database is away (the writer says so)."""
        while True:
            try:
                await self.writer.flush(timeout=FLUSH_WAIT_S)
                return True
            except TimeoutError:
                if not self.writer.db_up:
                    return False

    async def _corrected(self, node: Node, listed: list[Any]) -> list[Any]:
        """The channel listing, with ``Status`` where CoreShowChannels can be stale (15)."""
        ours = self.flow.entry_contexts | {self.flow.after_call_context}
        out: list[Any] = []
        for ev in listed:
            if needs_status(ev, ours):
                try:
                    answer = await node.client.send_list_action(
                        "Status", {"Channel": ev.get("Channel") or ""}
                    )
                except ActionError:
                    answer = None  # gone meanwhile? Its Hangup says so; keep what was listed
                facts = [e for e in answer.events if e.name == "Status"] if answer else []
                ev = corrected(ev, facts[0]) if facts else ev
            out.append(ev)
        return out

    # -- effects that talk to a PBX ---------------------------------------------------
    def _send_agi(self, e: fx.SendAgi) -> None:
        """Send the command with ``agi_soon`` (no task: six per call); its end is fed back."""

        def done(result: AgiResult | None, error: AMIError | None) -> None:
            if self._closed:
                return  # as the task of an AGI command was cancelled at close
            if error is None and result is not None:
                self.feed(AgiReplied(e.call_id, e.command_id, result.text))
            else:
                self.feed(AgiFailed(e.call_id, e.command_id, _agi_trouble(error)))

        try:
            self.nodes[e.node].client.agi_soon(e.channel, e.command, done)
        except AMIError as exc:  # not connected: told on the next turn, as a task would
            self._loop.call_soon(done, None, exc)
        except Exception:
            log.exception("AGI %r on %s could not be sent", e.command, e.channel)

    async def _originate(self, e: fx.Originate) -> None:
        node = self.nodes[e.node]
        if not node.synced.is_set():
            # The PBX link is down: ring the agent once it is back, not never.
            try:
                await asyncio.wait_for(node.synced.wait(), e.timeout_s)
            except TimeoutError:
                self.feed(OfferEnded(e.call_id, e.leg, OfferResult.FAILED))
                return
        if e.pick_context is None:  # the leg bridges itself when answered (03 B, 16)
            how: dict[str, Any] = {
                "application": "Bridge",
                "data": f"{e.caller_channel},F({e.after_call_context}^s^1)",
            }
        else:  # ring-all: the answered leg waits in our context until picked (PickLeg)
            how = {
                "context": e.pick_context,
                "exten": "s",
                "priority": 1,
                "variables": {"HOTLINE_CALLER": e.caller_channel,
                              "HOTLINE_AFTER": e.after_call_context},
            }  # fmt: skip
        try:
            ev = await node.client.originate(
                e.device,
                caller_id=f"<{e.caller_number}>" if e.caller_number else None,
                dial_timeout=e.timeout_s,
                channel_id=e.leg,
                other_channel_id=f"{e.leg}-2",
                timeout=e.timeout_s + 15,
                **how,
            )
        except AMIConnectionError:
            # The OriginateResponse is lost with the link: the core judges from the bridge.
            self.feed(OfferEnded(e.call_id, e.leg, OfferResult.UNKNOWN))
            return
        except AMIError as exc:
            log.warning("offer of %s to %s failed: %s", e.call_id, e.agent_id, exc)
            self.feed(OfferEnded(e.call_id, e.leg, OfferResult.FAILED))
            return
        if ev.get("Response") == "Success":
            result = OfferResult.ANSWERED
        else:
            result = _REASONS.get(ev.get("Reason") or "") or await self._reason_0(node, e.leg)
        self.feed(OfferEnded(e.call_id, e.leg, result))

    async def _reason_0(self, node: Node, leg: str) -> OfferResult:
        """Tell a Reason-0 failure apart by the agent leg (transcript 16).

        A PJSIP leg answered ``486 Busy Here`` hangs up with Cause 17 /
        TechCause 486; an endpoint with no contact creates no channel at all;
        anything else is a plain failure. The leg's ``Hangup`` comes in the same
        millisecond as the ``OriginateResponse``, before or after it (21): a leg
        still up is given a moment to hang up.
        """
        for _ in range(20):
            if leg not in node.tracker.channels:
                break
            await asyncio.sleep(0.05)
        ended = node.tracker.ended.get(leg)
        if ended is None:
            return OfferResult.FAILED if leg in node.tracker.channels else OfferResult.UNREACHABLE
        cause, tech = ended
        return OfferResult.BUSY if cause == _USER_BUSY or tech == "486" else OfferResult.FAILED

    async def _redirect(self, e: fx.RedirectCall) -> None:
        """An IVR transfer: the caller's channel to ``exten`` in ``context`` (07); an IVR
        visit: the agent leg with it, to wait (``ExtraChannel``)."""
        params = {"Channel": e.channel, "Context": e.context, "Exten": e.exten, "Priority": "1"}
        leg = self.nodes[e.node].tracker.channels.get(e.extra_leg) if e.extra_leg else None
        if leg is not None:
            params.update({"ExtraChannel": leg.name, "ExtraContext": e.extra_context,
                           "ExtraExten": "s", "ExtraPriority": "1"})  # fmt: skip
        try:
            await self.nodes[e.node].client.send_action("Redirect", params, check=False)
        except AMIError:
            log.warning("call %s: could not redirect %s to %s@%s", e.call_id, e.channel,
                        e.exten, e.context)  # fmt: skip

    async def _pick_leg(self, e: fx.PickLeg) -> None:
        """The ring-all leg that answered first: to its ``Bridge()`` by a ``Redirect``
        (07). A leg gone meanwhile says so by its Hangup, which the core reads."""
        node = self.nodes[e.node]
        ch = node.tracker.channels.get(e.leg)
        if ch is None:
            log.warning("call %s: the picked leg %s is gone", e.call_id, e.leg)
            return
        params = {"Channel": ch.name, "Context": e.context, "Exten": "bridge", "Priority": "1"}
        try:
            await node.client.send_action("Redirect", params)
        except AMIError as exc:
            log.warning("call %s: could not send %s to its bridge: %s", e.call_id, ch.name, exc)

    async def _rejoin(self, e: fx.RejoinAgent) -> None:
        """Back from an IVR visit: ``Bridge`` the caller and the waiting agent leg (03 A)."""
        node = self.nodes[e.node]
        leg = node.tracker.channels.get(e.leg)
        if leg is None:
            log.warning("call %s: the agent leg %s is gone; no way back", e.call_id, e.leg)
            return
        params = {"Channel1": e.channel, "Channel2": leg.name, "Tone": "no"}
        try:
            await node.client.send_action("Bridge", params)
        except AMIError as exc:
            log.warning("call %s: could not bridge %s with %s again: %s", e.call_id, e.channel,
                        leg.name, exc)  # fmt: skip

    async def _blind_transfer(self, e: fx.BlindTransferLeg) -> None:
        """A transfer to a queue: ``BlindTransfer`` of the agent leg sends its bridge peer,
        the caller, to the hotline's AsyncAGI again (07 B). Refused or too late (the agent
        hung up first), the caller reaches AsyncAGI all the same, through the after-call
        context of the leg's ``Bridge()``, and holds in its new queue there."""
        node = self.nodes[e.node]
        leg = node.tracker.channels.get(e.leg)
        if leg is None:
            log.warning("call %s: the agent leg %s is gone before its transfer", e.call_id, e.leg)
            return
        params = {"Channel": leg.name, "Context": e.context, "Exten": e.exten}
        try:
            await node.client.send_action("BlindTransfer", params)
        except AMIError as exc:
            log.warning("call %s: BlindTransfer of %s refused: %s", e.call_id, leg.name, exc)

    async def _atxfer(self, e: fx.AtxferLeg) -> None:
        """An attended transfer: ``Atxfer`` of the agent leg rings the consulted agent's
        phone at ``e.exten`` in ``e.context`` while the caller hears music on hold (07 C).
        Refused, or the leg gone: the consultation is over (``ConsultRefused``)."""
        node = self.nodes[e.node]
        leg = node.tracker.channels.get(e.leg)
        if leg is None:
            self.feed(ConsultRefused(e.call_id, "the agent leg is gone"))
            return
        params = {"Channel": leg.name, "Context": e.context, "Exten": e.exten}
        try:
            await node.client.send_action("Atxfer", params)
        except AMIError as exc:
            log.warning("call %s: Atxfer of %s refused: %s", e.call_id, leg.name, exc)
            self.feed(ConsultRefused(e.call_id, str(exc)))

    async def _cancel_atxfer(self, e: fx.CancelAtxferLeg) -> None:
        """``CancelAtxfer`` of the consulting agent's leg (features.conf ``atxferabort``):
        the consulted party is hung up, which ends the consultation in the core."""
        node = self.nodes[e.node]
        leg = node.tracker.channels.get(e.leg)
        if leg is None:
            log.warning("call %s: the agent leg %s is gone before CancelAtxfer", e.call_id, e.leg)
            return
        try:
            await node.client.send_action("CancelAtxfer", {"Channel": leg.name})
        except AMIError as exc:
            log.warning("call %s: CancelAtxfer of %s refused: %s", e.call_id, leg.name, exc)

    def consult(
        self, call_id: str, by_agent: str, agent: str | None, queue: str = ""
    ) -> str | None:
        """Agent ``by_agent`` consults ``agent`` about its talking call (attended
        transfer), or (``agent`` None) ``queue``'s next READY agent
        (``CallFlow.consult_pick``); why not (``CallFlow.consult_refused``), or None
        when asked."""
        if agent is None:
            agent, why = self.flow.consult_pick(call_id, by_agent, queue)
            if agent is None:
                return why
        why = self.flow.consult_refused(call_id, by_agent, agent, queue)
        if why is None:
            self.feed(ConsultAgent(call_id, agent, f"agent:{by_agent}", queue))
        return why

    def end_consult(self, call_id: str, by_agent: str, complete: bool) -> str | None:
        """Complete (or cancel) ``by_agent``'s consultation; why not
        (``CallFlow.end_consult_refused``), or None when asked."""
        why = self.flow.end_consult_refused(call_id, by_agent, complete)
        if why is None:
            self.feed(EndConsult(call_id, complete, f"agent:{by_agent}"))
        return why

    def transfer(
        self, call_id: str, queue: str, by_agent: str, agent: str | None = None
    ) -> str | None:
        """Hand agent ``by_agent``'s talking call on to ``queue`` (blind), or to
        ``agent`` in ``queue`` ("": the call's queue); why not (``unknown_queue``,
        ``unknown_agent``, ``not_talking``, ``not_your_call``, ``same_agent``,
        ``agent_unavailable``), or None when done."""
        why = self.flow.transfer_refused(call_id, queue, by_agent, agent)
        if why is None:
            self.feed(TransferCall(call_id, queue, f"agent:{by_agent}", agent))
        return why

    async def _stop_recording(self, e: fx.StopRecording) -> None:
        fields = {"Channel": e.channel}
        if e.mixmonitor_id:
            fields["MixMonitorID"] = e.mixmonitor_id  # only this recording (18)
        try:
            await self.nodes[e.node].client.send_action("StopMixMonitor", fields)
        except AMIError as exc:  # the caller hung up meanwhile: the hangup ended it
            log.info("call %s: StopMixMonitor: %s", e.call_id, exc)

    async def _save_voicemail(self, e: fx.SaveVoicemail) -> None:
        """Read the voicemail's file (in a thread) and store its row; a file Asterisk did
        not write (the caller hung up at the beep, no disk) or an empty one is logged."""
        local = self.voicemail_read_dir / PurePosixPath(e.path).name
        try:
            size, _sha, duration = await asyncio.to_thread(file_facts, local)
        except OSError as err:
            log.warning("call %s: no voicemail file %s (%s)", e.call_id, local, err)
            return
        if not duration:
            log.info("call %s: voicemail %s holds no message; not stored", e.call_id, local)
            return
        self.writer.submit(RecordVoicemail(
            e.call_id, e.at, e.path, e.format, e.flow, e.node, queue=e.queue,
            caller_number=e.caller_number, customer_id=e.customer_id,
            duration_s=round(duration, 3), size_bytes=size,
        ))  # fmt: skip
        self.metrics.ivr_voicemail(e.flow, e.node)

    async def _hangup_leg(self, e: fx.HangupLeg) -> None:
        node = self.nodes[e.node]
        ch = node.tracker.channels.get(e.uniqueid)
        if ch is None:
            return
        try:
            await node.client.send_action("Hangup", {"Channel": ch.name}, check=False)
        except AMIError:
            log.warning("could not hang up %s", ch.name)

    async def _start_recording(self, e: fx.StartRecording) -> None:
        node = self.nodes[e.node]

        def still_wanted() -> bool:
            call = self.calls.get(e.call_id)
            return call is not None and call.connected()

        try:
            path, started, mixmonitor_id = await self.recorder.start(
                node.client, e.node, e.channel, e.linkedid, still_wanted, e.file_name, e.legs
            )
        except AMIError as exc:
            if still_wanted():  # a call that ended meanwhile needs no recording
                self.feed(RecordingFailed(e.call_id, f"{e.channel}: {exc}"))
            return
        self.feed(RecordingStarted(e.call_id, path, started, mixmonitor_id))

    async def _set_mute(self, e: fx.SetRecordingMute) -> None:
        sent = self.wall_clock()
        fields = {"Channel": e.channel, "Direction": "both", "State": "1" if e.muted else "0"}
        if e.mixmonitor_id:
            fields["MixMonitorID"] = e.mixmonitor_id  # only this recording (18)
        try:
            await self.nodes[e.node].client.send_action("MixMonitorMute", fields)
        except AMIError as exc:
            log.warning("call %s: MixMonitorMute refused: %s", e.call_id, exc)
            self.feed(RecordingMuted(e.call_id, not e.muted, self.wall_clock(), e.by))
            return
        # a mute counts from its answer, an unmute from when it was sent: the interval
        # stored always lies inside the silence in the file
        self.feed(RecordingMuted(e.call_id, e.muted, self.wall_clock() if e.muted else sent, e.by))

    def call_agent(self, call_id: str) -> str | None:
        """The agent of a live call ("" before one answered); None: no such live call."""
        call = self.calls.get(call_id)
        return None if call is None else call.agent_id or ""

    async def schedule_callback(
        self, call_id: str, by_agent: str, due: dt.datetime, number: str | None, note: str
    ) -> tuple[str, str] | str:
        """Schedule a callback on agent ``by_agent``'s call ``call_id`` for ``due`` (flow
        core rule 18): (the number, the queue) when scheduled, else why not:
        ``unknown_call``, ``not_your_call`` (another agent's), ``no_queue`` (the call never
        reached one), ``bad_number`` (``number``, or the caller's when None, is not a
        valid number for the queue's callback region: ``phonenumbers``),
        ``already_scheduled`` (one per call), ``unavailable`` (SQL is away)."""
        live = self.call_agent(call_id)
        if live and live != by_agent:
            return "not_your_call"
        if not await self._written_unless_away():
            return "unavailable"  # the call's row (its agent) may be behind
        row = await self.store.get_call(call_id)
        if row is None:
            return "unknown_call"
        owner = live or (str(row.agent_id) if row.agent_id is not None else "")
        if owner != by_agent:
            return "not_your_call"
        if not row.queue:
            return "no_queue"
        policy = self.flow.callbacks.get(row.queue, CallbackPolicy())
        given = number if number is not None else row.caller_number or ""
        dialled = callable_number(given, policy.region)
        if dialled is None:
            return "bad_number"
        # SQL first: no await between the core's check and the feed (two saves at once)
        if (await self.store.callback_scheduled_on(call_id)
                or self.flow.schedule_refused(call_id) is not None):  # fmt: skip
            return "already_scheduled"
        self.feed(ScheduleCallback(call_id, row.node, dialled, row.queue, due, by_agent,
                                   note=note, customer_id=row.customer_id,
                                   own_number=dialled == row.caller_number))  # fmt: skip
        return dialled, row.queue

    def record_on_demand(self, call_id: str, by: str) -> bool:
        """Start recording a talking call (a queue in on-demand mode); False: no talking
        call, one recorded already, or one whose caller did not hear the queue's consent
        prompt."""
        call = self.calls.get(call_id)
        if (call is None or not call.connected() or not call.bridged or call.recording_sent
                or call.recording is not None):  # fmt: skip
            return False
        policy = self.flow.recording.get(call.queue or "")
        if policy is not None and policy.consent_prompt is not None and not call.consent_played:
            return False  # the caller did not hear the consent prompt
        self.feed(RecordOnDemand(call_id, by))
        return True

    def send_to_ivr(self, call_id: str, node: str, by: str) -> str | None:
        """Send a talking caller to IVR node ``node`` (one of the IVR's ``visits``) while
        its agent waits; the reason it cannot (``"no such node"``: not a visit,
        ``"not talking"``), or None when asked."""
        if node not in self.flow.ivr.visits:
            return "no such node"
        call = self.calls.get(call_id)
        if (call is None or not call.connected() or not call.bridged
                or not any(o.agent_id == call.agent_id for o in call.live_offers())):  # fmt: skip
            return "not talking"
        self.feed(SendToIvr(call_id, node, by))
        return None

    def spy(self, agent_id: str, phone: str, mode: str, by: str) -> str | None:
        """Ring the supervisor's ``phone`` into ``ChanSpy`` on the agent's leg of the call
        the agent is talking on (:data:`SPY_OPTIONS` by ``mode``; transcript 19). Why not
        (``"unknown mode"``, ``"not talking"``), or None once the Originate is sent.

        Spying changes nothing of the call, so the core is not asked: the shell reads
        the agent's bridged leg from the core's calls and its channel name from the
        node's tracker. Option ``E`` ends the spy with the agent's leg (19).
        """
        options = SPY_OPTIONS.get(mode)
        if options is None:
            return "unknown mode"
        for call in self.calls.values():
            if call.agent_id != agent_id or not call.connected() or not call.bridged:
                continue
            offer = next((o for o in call.live_offers()
                          if o.agent_id == agent_id and o.bridged), None)  # fmt: skip
            node = self.nodes.get(call.node)
            leg = node.tracker.channels.get(offer.leg) if offer and node else None
            if node is None or leg is None:
                continue
            spy_id = f"spy-{secrets.token_hex(6)}"
            log.info("%s spies on agent %s (%s, %s) from %s", by, agent_id, leg.name, mode,
                     phone, extra=call_fields(call.call_id, call.node, agent_id=agent_id))  # fmt: skip
            self._spawn(self._spy(node, phone, f"{leg.name},{options}", mode, spy_id), spy_id)
            return None
        return "not talking"

    async def _spy(self, node: Node, phone: str, data: str, mode: str, spy_id: str) -> None:
        try:
            ev = await node.client.originate(
                phone, application="ChanSpy", data=data, caller_id=f'"Hotline {mode}"',
                dial_timeout=SPY_RING_S, channel_id=spy_id, other_channel_id=f"{spy_id}-2",
            )  # fmt: skip
        except AMIError as exc:
            log.warning("spy %s on %s: the Originate failed: %s", spy_id, data, exc)
            return
        if ev.get("Response") != "Success":
            log.warning("spy %s on %s: the supervisor's phone %s did not answer (Reason %s)",
                        spy_id, data, phone, ev.get("Reason"))  # fmt: skip

    def move_call(
        self, call_id: str, queue: str | None, priority: int | None, position: int | None,
        by: str,
    ) -> None:  # fmt: skip
        """A supervisor moves a waiting call (another queue keeping its wait, a new
        priority, a place in line); raises the ACD's refusal (``acd.AcdError``: unknown
        call or queue, ``call_not_waiting``, ``past_max_wait``) with nothing changed."""
        self.feed(MoveWaiting(acd.MoveCall(call_id, queue, priority, position), by))

    def mute_recording(self, call_id: str, muted: bool, by: str) -> bool:
        """Ask to mute or unmute the call's recording; False: no recording runs."""
        call = self.calls.get(call_id)
        if call is None or call.recording is None:
            return False
        self.feed(MuteRecording(call_id, muted, by))
        return True

    # -- effects that read SQL or the CRM ----------------------------------------------
    async def _lookup(self, e: fx.LookupCard) -> None:
        started = time.perf_counter()
        answer = await self.crm.answer(e.number, self.crm_timeout_s)
        self.metrics.crm_lookup(time.perf_counter() - started)
        self.feed(CardFound(e.call_id, answer.card, answer.status == "unavailable"))

    async def _lookup_account(self, e: fx.LookupCardByAccount) -> None:
        card, timed_out = None, False
        if self.accounts is not None:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(e.timeout_s):
                    card = await self.accounts.lookup_by_account(e.account)
            except TimeoutError:
                timed_out = True
                self.metrics.crm_account_failure("timeout")
            except Exception as exc:  # the CRM failed: the caller goes on as not found
                log.warning("call %s: CRM lookup by account failed: %r", e.call_id, exc)
                self.metrics.crm_account_failure("error")
            self.metrics.crm_lookup(time.perf_counter() - started)
        self.feed(AccountLooked(e.call_id, card, timed_out))

    async def _load_call(self, e: fx.LoadCall) -> None:
        self.feed(await self._from_sql(lambda: self._read_row(e.call_id), f"call {e.call_id}"))

    async def _from_sql(self, read: Callable[[], Awaitable[_T]], what: str) -> _T:
        """``read()`` once the writer has applied what was submitted so far; while the
        database is away (or the writer far behind), again and again until it answers:
        the call waits (adopting) meanwhile, never forgotten."""
        for attempt in itertools.count():
            try:
                await self.writer.flush(timeout=FLUSH_WAIT_S)
                return await read()
            except Exception as exc:
                delay = _CONNECT_BACKOFF[min(attempt, len(_CONNECT_BACKOFF) - 1)]
                if attempt == 0:
                    log.warning("reading SQL for %s failed (%r); retrying every %s s or less",
                                what, exc, _CONNECT_BACKOFF[-1])  # fmt: skip
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _read_row(self, call_id: str) -> CallRowLoaded:
        """What SQL knows of a call: its row, its last place in line, its recording."""
        row = await self.store.get_call(call_id)
        if row is None:
            return CallRowLoaded(call_id, found=False)
        events = await self.store.list_call_events(call_id)
        recs = await self.store.list_recordings(call_id, limit=1)
        loaded = _row(row, _last_place(row, events), recs[0] if recs else None)
        return dataclasses.replace(loaded, **_visit_and_mutes(events), **_transfers(events))

    async def _load_open_calls(self, e: fx.LoadOpenCalls) -> None:
        self.feed(await self._from_sql(lambda: self._read_open_calls(e.node), f"node {e.node}"))

    async def _read_open_calls(self, node: str) -> OpenCallsLoaded:
        loaded = []
        callbacks = {r.call_id: r for r in await self.store.pending_callbacks(node)}
        # rule 18: a scheduled callback's row is its source call's; its own call, once due
        desk = {scheduled_call_id(r.call_id): r for r in await self.store.scheduled_callbacks(node)}
        callbacks.update(desk)
        opened: set[str] = set()
        for row in await self.store.open_calls(node):
            opened.add(row.id)
            recs = await self.store.list_recordings(row.id, limit=1)
            rec = recs[0] if recs and recs[0].size_bytes is None else None
            cb = callbacks.get(row.id)
            if cb is None:
                loaded.append(_row(row, None, rec))
                continue
            # a virtual caller: back at its last place in line (its last queued event)
            place = _last_place(row, await self.store.list_call_events(row.id))
            loaded.append(dataclasses.replace(
                _row(row, place, rec), callback_number=cb.number,
                callback_name=cb.name_file, callback_attempts=cb.attempts,
                callback_node=cb.node, callback_by=_str(cb.agent_id), callback_note=cb.note,
            ))  # fmt: skip
        scheduled = []
        for call_id, r in desk.items():
            if call_id in opened or r.due_at is None:
                continue  # in line when the dead run stopped: adopted above
            if await self.store.get_call(call_id) is not None:
                log.warning("scheduled callback of %s: its call %s ended but the request is "
                            "pending; left alone", r.call_id, call_id)  # fmt: skip
                continue
            scheduled.append(ScheduleCallback(
                r.call_id, node, r.number, r.queue, _utc(r.due_at), _str(r.agent_id) or "",
                note=r.note or "", customer_id=r.customer_id, own_number=r.own_number,
                stored=True,
            ))  # fmt: skip
        unfinished = tuple(
            CallRowLoaded(r.call_id, outcome="closed", recording_path=r.path,
                          recording_started_at=_aware(r.started_at), mixmonitor_id=r.mixmonitor_id)
            for r in await self.store.unfinished_recordings(node)
        )  # fmt: skip
        return OpenCallsLoaded(node, tuple(loaded), unfinished, tuple(scheduled))

    # -- agents (the web desk) ---------------------------------------------------
    async def agent_ready(self, agent_id: str) -> None:
        self.feed(AgentCommand(acd.AgentReady(agent_id)))

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        self.feed(AgentCommand(acd.AgentPause(agent_id, reason)))

    def agent_extend_wrap_up(self, agent_id: str, seconds: float) -> None:
        """Move the agent's wrap-up end ``seconds`` later (the ACD caps it)."""
        self.feed(AgentCommand(acd.WrapUpExtend(agent_id, seconds)))

    def agent_logout(self, agent_id: str) -> None:
        """Log an agent out of the ACD (removed by the operator); refused while on a call."""
        self.feed(AgentCommand(acd.AgentLogout(agent_id)))

    def login_all(self) -> None:
        """Log every configured agent in (the demo's agents are always at work)."""
        for view in self.core.snapshot(self.now()).agents:
            if view.state is acd.AgentState.LOGGED_OUT:
                self.feed(AgentCommand(acd.AgentLogin(view.agent_id)))


def _agi_trouble(error: AMIError | None) -> AgiTrouble:
    """How an AGI command failed, in the core's words."""
    if isinstance(error, AgiHangup):
        return AgiTrouble.LEFT_AGI
    if isinstance(error, AMIConnectionError):
        return AgiTrouble.LINK_LOST
    if isinstance(error, ActionTimeout):
        return AgiTrouble.TIMEOUT
    return AgiTrouble.NOT_IN_AGI


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _utc(t: dt.datetime) -> dt.datetime:
    """A stored time as an aware one (SQLite gives it back naive, in UTC)."""
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def _visit_and_mutes(events: list[Any]) -> dict[str, Any]:
    """From a call's events: whether it was sent to an IVR node mid-call, and its
    recording's muted spans and who the open one is by (``CallRowLoaded``'s fields)."""
    visited = False
    mutes: list[tuple[float, float | None]] = []
    muted_by: str | None = None
    for event in events:
        data = event.data or {}
        if event.kind == "sent_to_ivr":
            visited = True
        elif event.kind == "recording_muted" and muted_by is None:
            mutes.append((float(data.get("offset_s") or 0.0), None))
            muted_by = str(data.get("by") or "")
        elif event.kind == "recording_unmuted" and muted_by is not None and mutes:
            mutes[-1] = (mutes[-1][0], float(data.get("offset_s") or 0.0))
            muted_by = None
    return {"visited": visited, "mutes": tuple(mutes), "muted_by": muted_by}


def _transfers(events: list[Any]) -> dict[str, Any]:
    """From a call's events: the controller's transfers to a queue (flow rule 14) and
    the queue the last one sent the caller to while no visit there has ended since, and
    when its next agent answered (``CallRowLoaded``'s fields: a restart puts the caller
    back in that queue, or its next agent back on call with it)."""
    transfers: list[tuple[str, str]] = []
    to: str | None = None
    at: dt.datetime | None = None
    answered: dt.datetime | None = None
    for event in events:
        data = event.data or {}
        if event.kind == "transferred" and data.get("queue"):  # by: phone names none
            transfers.append((str(data.get("agent") or ""), str(data.get("from_queue") or "")))
            to, at, answered = str(data["queue"]), _aware(event.at), None
        elif event.kind == "transfer_answered" and to is not None:
            answered = _aware(event.at)
        elif event.kind == "transfer_outcome":
            to, at, answered = None, None, None
    return {
        "transfers": tuple(transfers),
        "transferred_to": to,
        "transferred_at": at,
        "transfer_answered_at": answered,
    }


def _last_place(row: Any, events: list[Any]) -> Place | None:
    """The place the call's last readable ``queued`` event says (flow rule 20); an
    unreadable one is logged, naming the call, the event and the field, and skipped."""
    for event in reversed(events):
        if event.kind != "queued":
            continue
        try:  # an event of a run before places: its queue and priority, from the row's entry
            return Place.from_data(event.data or {}, _aware(row.queued_at) or _aware(event.at))
        except BadPlace as exc:
            log.warning("call %s: queued event %s unreadable (%s); an earlier one is used",
                        row.id, event.id, exc)  # fmt: skip
    return None


def _row(row: Any, place: Place | None, rec: Any) -> CallRowLoaded:
    return CallRowLoaded(
        row.id,
        started_at=_aware(row.started_at),
        queue=row.queue,
        queued_at=_aware(row.queued_at),
        language=row.language,
        answered_at=_aware(row.answered_at),
        agent_id=str(row.agent_id) if row.agent_id is not None else None,
        place=place,
        outcome=row.outcome,
        wait_s=row.wait_s,
        recording_path=rec.path if rec is not None else None,
        recording_started_at=_aware(rec.started_at) if rec is not None else None,
        mixmonitor_id=rec.mixmonitor_id if rec is not None else None,
    )
