"""The simulated PBX: clock, ids, channel registry, the event bus and hangups.

Rules (each from the transcripts' README unless noted):

1. Time: ``now()`` is simulated seconds since start; every wait is divided by
   ``time_scale`` (20 = twenty times faster). Uniqueids use the wall clock:
   ``<epoch>.<seq>`` with one global ``seq`` from 0. A test that replays a
   transcript can stop the clock at a simulated instant (:meth:`World.hold_at`):
   the world's sleeps and media waits then end only when it runs again, so an
   action is taken at the transcript's instant however late the machine lets the
   test send it (not a PBX feature: a test's handle on the simulator's time).
2. Events are built once and handed to every listener (AMI session); names in
   ``event_filter`` are dropped at the source (transcript 14, manager.conf
   ``eventfilter``).
3. A Local pair is ``Local/<exten>@<ctx>-<8 hex>;1/;2`` with one global hex
   counter; ``;2`` gets seq+1 and ``;1``'s Linkedid.
4. Hangups follow the sequences of 02/04/06/12/13 (see :meth:`World.hangup`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from .agi import run_agi
from .audio import Prompts, Recording
from .bridging import leave_bridge
from .channels import CAUSE_TXT, Bridge, Channel, State
from .dialplan import run_dialplan
from .transfer import complete
from .wire import Fields, encode

log = logging.getLogger("pbxsim")

#: Privilege header per event name (counted in the transcripts); default call,all.
PRIVILEGE = {
    "Newexten": "dialplan,all",
    "VarSet": "dialplan,all",
    "AsyncAGIStart": "agi,all",
    "AsyncAGIExec": "agi,all",
    "AsyncAGIEnd": "agi,all",
    "AGIExecStart": "agi,all",
    "AGIExecEnd": "agi,all",
    "DTMFBegin": "dtmf,all",
    "DTMFEnd": "dtmf,all",
    "FullyBooted": "system,all",
    "PeerStatus": "system,all",
    "SuccessfulAuth": "security,all",
    "RequestBadFormat": "security,all",
    "UserEvent": "user,all",
}

Listener = Callable[[str, bytes], None]


def tech_cause(ch: Channel) -> Fields:
    """16: a PJSIP leg ended by a SIP status adds ``TechCause`` after the Cause headers."""
    return [("TechCause", str(ch.techcause))] if ch.techcause is not None else []


#: simulated seconds below which a wait counts as over (float sums: 0.208 + 0.1)
TICK = 1e-6


class World:
    """Everything a real Asterisk would hold in memory, minus the audio."""

    def __init__(
        self,
        *,
        seed: int = 0,
        time_scale: float = 1.0,
        spool_dir: Path = Path("var/spool"),
        event_filter: frozenset[str] = frozenset(),
        scenario: Any = None,
        bridge_swap_s: float | None = None,
    ) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.rng = random.Random(seed)
        self.time_scale = float(time_scale)
        self.spool_dir = Path(spool_dir)
        self.event_filter = frozenset(event_filter)
        self.scenario = scenario
        #: simulated seconds an agent leg's Bridge() takes to swap the caller's channel, during
        #: which MixMonitor on the caller answers "No such channel"; 0 = off (the default).
        #: The scenario's ``bridge_swap_s`` applies unless given here.
        self.bridge_swap_s = float(
            bridge_swap_s if bridge_swap_s is not None else getattr(scenario, "bridge_swap_s", 0.0)
        )
        self.prompts = Prompts(getattr(scenario, "prompts", None))
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.recordings: list[Recording] = []
        self.listeners: list[Listener] = []
        self.event_counts: Counter[str] = Counter()
        self.hangup_hooks: list[Callable[[Channel], None]] = []
        self.bridge_hooks: list[Callable[[Bridge, Channel, bool], None]] = []
        self.population: Any = None
        self.sip: Any = None  #: pbxsim.sip.SipSide when real SIP calls are taken (``--sip``)
        self.trunks: Any = None  #: pbxsim.trunk.Trunks when this node has trunks to others
        self.consults: dict[str, Any] = {}  #: attended transfers in progress, by transferer
        self.tasks: set[asyncio.Task[Any]] = set()
        self.started_at = time.time()
        self._t0 = time.monotonic()
        #: the simulated instant the clock stops at (:meth:`hold_at`), ``None``: it runs
        self._stop_at: float | None = None
        self._runs_again: asyncio.Event | None = None
        #: the simulated second each sleep or media wait in progress ends at, by its key
        self._waking: dict[object, float] = {}
        #: called with each action's frame as a session starts to handle it
        self.action_hooks: list[Callable[[Any], None]] = []
        self._seq = 0
        self._local_seq = 0
        self._tech_seq = 0
        self.processed_calls = 0

    # -- clock ----------------------------------------------------------------
    def start_clock(self) -> None:
        self.started_at = time.time()
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Simulated seconds since the world started (it stands still at a hold)."""
        t = (time.monotonic() - self._t0) * self.time_scale
        stop = self._stop_at
        return t if stop is None or t < stop else stop

    def hold_at(self, t: float | None) -> None:
        """Stop the clock when it reaches simulated second ``t`` (``None``: let it run).

        A hold replaces the one before: the clock, stopped or not, goes on from where it
        stands and stops at ``t`` (at once if it is already past). Sleeps and media
        waits that end after ``t`` wait for the clock to run again.
        """
        stop = self._stop_at
        if stop is not None:
            late = (time.monotonic() - self._t0) * self.time_scale - stop
            if late > 0:  # stood still that long: the clock goes on from the stop
                self._t0 += late / self.time_scale
        self._stop_at = t
        if self._runs_again is not None:
            self._runs_again.set()
        self._runs_again = None if t is None else asyncio.Event()

    def stopped(self) -> bool:
        """The clock has reached its hold and stands still, and every sleep or media wait
        that ends by then has ended (what is due at the hold has happened)."""
        stop = self._stop_at
        if stop is None or self.now() < stop:
            return False
        return all(until > stop + TICK for until in self._waking.values())

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of simulated time."""
        until = self.now() + max(0.0, seconds)
        key = object()
        self._waking[key] = until
        try:
            while (left := until - self.now()) > TICK:
                await self._tick(left, None)
        finally:
            del self._waking[key]

    async def _tick(self, left: float, fut: asyncio.Future[None] | None) -> None:
        """Wait ``left`` simulated seconds, or until the clock runs again if it stands
        still at a hold, or until ``fut`` is done."""
        runs_again, stop = self._runs_again, self._stop_at
        if runs_again is None or stop is None or self.now() < stop:
            if fut is None:
                await asyncio.sleep(left / self.time_scale)
            else:
                await asyncio.wait({fut}, timeout=left / self.time_scale)
            return
        waiter: asyncio.Future[Any] = asyncio.ensure_future(runs_again.wait())
        try:
            await asyncio.wait({waiter} if fut is None else {waiter, fut},
                               return_when=asyncio.FIRST_COMPLETED)  # fmt: skip
        finally:
            waiter.cancel()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run ``coro`` in the background; log its failure instead of losing it."""
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("pbxsim task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        """Stop every call and task; recordings in progress are written out."""
        if self.population is not None:
            self.population.stop()
        for ch in list(self.channels.values()):
            for rec in list(ch.recordings):
                rec.finish(self)
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- ids ------------------------------------------------------------------
    def next_uniqueid(self) -> str:
        uid = f"{int(time.time())}.{self._seq}"
        self._seq += 1
        return uid

    def random_id(self, bits: int = 31) -> int:
        return self.rng.getrandbits(bits)

    def pointer(self) -> str:
        """A ``0x7f…`` value like the addresses Asterisk prints (SessionID, MixMonitorID)."""
        return f"0x7f{self.rng.getrandbits(40):010x}"

    # -- events ---------------------------------------------------------------
    def emit(self, name: str, fields: Fields) -> None:
        """Publish one event to every AMI listener (unless filtered at the source)."""
        if name in self.event_filter:
            return
        self.event_counts[name] += 1
        head = [("Event", name), ("Privilege", PRIVILEGE.get(name, "call,all"))]
        data = encode(head + fields)
        for listener in list(self.listeners):
            listener(name, data)

    def chan_event(self, name: str, ch: Channel, *extra: tuple[str, str]) -> None:
        self.emit(name, ch.fields() + list(extra))

    # -- registry -------------------------------------------------------------
    def find(self, name: str) -> Channel | None:
        """A live channel by name (case-insensitive) or uniqueid, like ast_channel_get_by_name."""
        ch = self.channels.get(name)
        if ch is not None:
            return ch
        low = name.lower()
        for ch in self.channels.values():
            if ch.name.lower() == low or ch.uniqueid == name:
                return ch
        return None

    def add_channel(self, ch: Channel) -> None:
        self.channels[ch.name] = ch
        self.processed_calls += 1
        self.chan_event("Newchannel", ch)

    def new_local_pair(
        self, exten: str, context: str, id1: str = "", id2: str = "", linkedid: str = ""
    ) -> tuple[Channel, Channel]:
        """Allocate a Local pair and emit both Newchannel events (02: ;1 Down, ;2 Ring)."""
        base = f"Local/{exten}@{context}-{self._local_seq:08x}"
        self._local_seq += 1
        u1 = id1 or self.next_uniqueid()
        u2 = id2 or self.next_uniqueid()
        device = f"Local/{exten}@{context}"
        now = self.now()
        link = linkedid or u1
        one = Channel(base + ";1", u1, link, "Local", context, exten, now, half=1, device=device)
        two = Channel(base + ";2", u2, link, "Local", context, exten, now, half=2, device=device)
        two.state = State.RING
        two.role = "phone"
        one.peer, two.peer = two, one
        self.add_channel(one)
        self.add_channel(two)
        return one, two

    def new_tech_channel(
        self, tech: str, endpoint: str, context: str, exten: str, uid: str = ""
    ) -> Channel:
        """A PJSIP channel named like transcript 11: ``PJSIP/<endpoint>-0000000N``."""
        name = f"{tech}/{endpoint}-{self._tech_seq:08x}"
        self._tech_seq += 1
        uid = uid or self.next_uniqueid()
        ch = Channel(name, uid, uid, tech, context, exten, self.now(), device=f"{tech}/{endpoint}")
        return ch

    # -- channel changes ------------------------------------------------------
    def set_state(self, ch: Channel, state: State) -> None:
        if ch.state != state and not ch.gone:
            ch.state = state
            ch.publish()
            self.chan_event("Newstate", ch)

    def set_var(self, ch: Channel, name: str, value: str) -> None:
        ch.variables.pop(name, None)
        ch.variables[name] = value
        if name.upper() == "CHANNEL(LANGUAGE)":
            # unrecorded: func_channel's write of ``language`` sets the channel's
            # language (ast_channel_language_set), so later events carry ``Language: vi``
            # and prompts and SAY play from that language's sounds; no transcript sets it
            ch.language = value
            ch.publish()
        if not ch.gone:
            self.chan_event("VarSet", ch, ("Variable", name), ("Value", value))

    def newexten(self, ch: Channel, app: str, data: str) -> None:
        ch.app, ch.appdata = app, data
        ch.publish()
        # Newexten repeats Exten as the deprecated Extension header (02).
        self.chan_event(
            "Newexten", ch, ("Extension", ch.exten), ("Application", app), ("AppData", data)
        )

    def set_callerid(self, ch: Channel, num: str, name: str) -> None:
        ch.cid_num, ch.cid_name = num, name
        ch.publish()
        self.chan_event(
            "NewCallerid", ch, ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")
        )

    def set_connected(self, ch: Channel, num: str, name: str) -> None:
        ch.conn_num, ch.conn_name = num, name
        ch.publish()
        self.chan_event("NewConnectedLine", ch)

    def device_state(self, device: str, state: str, times: int = 1) -> None:
        for _ in range(times):
            self.emit("DeviceStateChange", [("Device", device), ("State", state)])

    def sends_audio(self, ch: Channel) -> None:
        """``ch`` starts sending audio (a prompt, music): the other Local half's Answer()
        stops waiting for media."""
        other = ch.peer if ch.half == 1 else None
        waiter = other.media_waiter if other is not None else None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_media(self, ch: Channel, seconds: float) -> None:
        """Wait until the other half sends audio, or ``seconds`` of simulated time."""
        fut = ch.media_waiter = asyncio.get_running_loop().create_future()
        until = self.now() + seconds
        self._waking[fut] = until
        try:
            while not fut.done() and (left := until - self.now()) > TICK:
                await self._tick(left, fut)
        finally:
            del self._waking[fut]
            ch.media_waiter.cancel()
            ch.media_waiter = None

    def moh(self, ch: Channel, on: bool, klass: str = "default") -> None:
        if on:
            self.sends_audio(ch)
        if on and not ch.moh:
            ch.moh = True
            self.chan_event("MusicOnHoldStart", ch, ("Class", klass))
        elif not on and ch.moh:
            ch.moh = False
            self.chan_event("MusicOnHoldStop", ch)

    async def agi(self, ch: Channel) -> None:
        """The ``AGI(agi:async)`` application: park ``ch`` in AsyncAGI (:mod:`.agi`)."""
        await run_agi(self, ch)

    def answer(self, ch: Channel) -> None:
        """Answer ``ch``; the ``;2`` of an originating Local pair answers ``;1`` too (02)."""
        self.set_state(ch, State.UP)
        if ch.tech_pvt is not None:
            ch.tech_pvt.answer()  # a real SIP call: 200 OK (pbxsim.sip)
        dialed = ch.peer if ch.half == 2 and ch.peer is not None else ch
        if dialed.answered is not None and not dialed.answered.done():
            self.set_state(dialed, State.UP)
            dialed.answered.set_result("answer")

    def ringing(self, ch: Channel) -> None:
        """03-C: Ringing() on ``;2`` shows as Newstate Ringing and DialState on ``;1``."""
        dialed = ch.peer if ch.half == 2 and ch.peer is not None else ch
        if dialed.answered is not None and not dialed.answered.done():
            self.set_state(dialed, State.RINGING)
            self.emit("DialState", dialed.fields("Dest") + [("DialStatus", "RINGING")])

    def busy(self, ch: Channel) -> None:
        self.set_state(ch, State.BUSY)
        dialed = ch.peer if ch.half == 2 and ch.peer is not None else ch
        if dialed.answered is not None and not dialed.answered.done():
            dialed.answered.set_result("busy")

    def chan_spy_stop(self, spyer: Channel) -> None:
        """19: ChanSpyStop, with the Spyer* and Spyee* blocks and nothing else."""
        spyee, spyer.spying = spyer.spying, None
        if spyee is not None:
            self.emit("ChanSpyStop", spyer.fields("Spyer") + spyee.fields("Spyee"))

    def dtmf(self, ch: Channel, digit: str, duration_ms: int = 100) -> None:
        """A digit received on ``ch`` (02: events only on the receiving channel)."""
        if ch.gone:
            return
        self.chan_event("DTMFBegin", ch, ("Digit", digit), ("Direction", "Received"))
        self.chan_event(
            "DTMFEnd",
            ch,
            ("Digit", digit),
            ("DurationMs", str(duration_ms)),
            ("Direction", "Received"),
        )
        for rec in list(ch.recordings):
            rec.key(self, digit, duration_ms)  # a key a recording hears (audio.Recording.key)
        if ch.dtmf_sink is not None:
            ch.dtmf_sink(digit)

    def start_dialplan(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        """(Re)start ``ch``'s PBX at context/exten/priority in a task of its own."""
        self.stop_runner(ch)
        ch.runner = self.spawn(run_dialplan(self, ch, context, exten, priority), ch.name)

    def stop_runner(self, ch: Channel) -> None:
        runner, ch.runner = ch.runner, None
        if runner is not None and runner is not asyncio.current_task() and not runner.done():
            runner.cancel()

    def discard(self, ch: Channel, *, emit_hangup: bool) -> None:
        """End a channel that never got going (failed dial): just its Hangup event."""
        if ch.gone:
            return
        ch.hanging = True
        self.stop_runner(ch)
        if ch.agi is not None:
            ch.agi.end(self, status=None, announce=False)
        if emit_hangup:
            cause = ch.hangupcause
            self.chan_event(
                "Hangup",
                ch,
                ("Cause", str(cause)),
                ("Cause-txt", CAUSE_TXT.get(cause, "Unknown")),
                *tech_cause(ch),
            )
        ch.gone = True
        self.channels.pop(ch.name, None)
        if ch.answered is not None and not ch.answered.done():
            ch.answered.set_result("hangup")
        for hook in list(self.hangup_hooks):
            hook(ch)

    # -- hangup ---------------------------------------------------------------
    def hangup(self, ch: Channel, *, how: str, cause: int | None = None) -> None:
        """End ``ch`` with the event sequence Asterisk gives for ``how``:

        - ``action``: Hangup action or regex hangup: SoftHangupRequest Cause 16 (06).
        - ``app``: Hangup() in the dialplan, SoftHangupRequest 16 (13).
        - ``agi``: the AGI HANGUP command, after AsyncAGIEnd (02).
        - ``remote``: the far end went away: HangupRequest without Cause (11).
        - ``peer``: the other Local half is gone: SoftHangupRequest 16 (02).

        A channel parked in AsyncAGI gets AsyncAGIEnd + ``AGISTATUS=HANGUP`` first
        (06 regex Hangup); a running AGI command is answered as on a hangup
        (our choice, see :mod:`pbxsim.agi`). Recordings are written before the
        Hangup event, so the file is complete when a client sees it.
        """
        if ch.hanging or ch.gone:
            return
        ch.hanging = True
        if cause is not None:
            ch.hangupcause = cause
        elif ch.bridge is not None and ch.hangupcause == 0:
            ch.hangupcause = 16  # 04: a bridged caller hung up clears normally
        self.stop_runner(ch)
        if how == "remote":
            self.chan_event("HangupRequest", ch)
        if how in ("agi", "peer"):
            # The hold music stops before AsyncAGIEnd: after the AGI HANGUP's AsyncAGIExec
            # (21), before the interrupted command's AGIExecEnd when the phone hung up (22).
            self.moh(ch, False)
        idle_once = how == "peer" and ch.device_inuse and ch.peer is not None and ch.peer.gone
        if idle_once:
            self.device_state(ch.device, "NOT_INUSE")  # 15, 22: one after each half's end
        spy = ch.spying is not None
        if spy:
            self.chan_spy_stop(ch)
        if ch.agi is not None:
            ch.agi.end(self, status="HANGUP")
        if ch.bridge is None and not spy:
            # 03/04: a bridged channel hung up shows no SoftHangupRequest; others do (02, 06, 11,
            # 13); 19: nor does a ChanSpy channel.
            self.chan_event("SoftHangupRequest", ch, ("Cause", "16"))
        self.moh(ch, False)
        if ch.name in self.consults:
            complete(self, ch)  # 07-C: the transferer hanging up completes an Atxfer
        if ch.bridge is not None:
            leave_bridge(self, ch)
        peer = ch.peer if ch.peer is not None and not ch.peer.hanging else None
        if peer is not None:
            self.chan_event("HangupRequest", peer, ("Cause", str(ch.hangupcause)))
            if ch.half == 1 or (peer.bridge is None and peer.hangupcause == 0):
                peer.hangupcause = ch.hangupcause
            else:  # 03-B, 07: the bridged ;1 of a hung-up ;2 clears normally
                peer.hangupcause = 16
        if ch.tech_pvt is not None:
            ch.tech_pvt.hangup()  # 11: RTPAUDIOQOS VarSets just before Hangup; BYE
        for rec in list(ch.recordings):
            rec.finish(self)
        cause_now = ch.hangupcause
        self.chan_event(
            "Hangup",
            ch,
            ("Cause", str(cause_now)),
            ("Cause-txt", CAUSE_TXT.get(cause_now, "Unknown")),
            *tech_cause(ch),
        )
        ch.gone = True
        self.channels.pop(ch.name, None)
        if ch.answered is not None and not ch.answered.done():
            ch.answered.set_result("hangup")
        if peer is not None:
            self.hangup(peer, how="peer")
        elif ch.device_inuse and (ch.peer is None or ch.peer.gone):
            # 02: a Local pair going idle gives two NOT_INUSE; a PJSIP channel one.
            self.device_state(ch.device, "NOT_INUSE", 2 if ch.half and not idle_once else 1)
        for hook in list(self.hangup_hooks):
            hook(ch)
