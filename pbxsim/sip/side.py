"""The SIP side of a PBXSim: real SIP calls as PJSIP channels of the simulated world.

Inbound: an INVITE to ``sip:<anything>@host:port`` becomes
``PJSIP/<endpoint>-0000000N`` (endpoint ``sip-in`` by default) in the scenario's
context (``hotline-safe``), with the event sequence of ``PJSIP/loop-in`` in
transcript 11: ``Newchannel`` (Ring, Exten = the request-URI user, CallerID
from From), ``VarSet SIPDOMAIN``, the dialplan (``Goto`` from ``_X.``, ``NoOp``,
``Answer`` -> ``Newstate Up`` + ``DeviceStateChange INUSE``, ``AGI``), RFC 4733
digits as ``DTMFBegin``/``DTMFEnd`` (``Direction: Received``); the caller's BYE:
``RTPAUDIOQOS*``, ``HangupRequest`` without Cause, ``Hangup`` Cause 0
``Unknown``, then ``DeviceStateChange UNAVAILABLE`` (an endpoint with no
contact). A request-URI user the context does not match enters at ``s``
(Asterisk would answer 404).

Outbound (:meth:`SipSide.dial`, from the Originate of ``PJSIP/<user>``): a real
INVITE to the URI in the dial string (``PJSIP/1001/sip:1001@127.0.0.1:5070``)
or in the scenario (``[agents.phones."1001"] sip_uri``). 180 -> Ringing
(``DialState RINGING``); 200 -> answered (OriginateResponse Reason 4); 486/600
-> busy (Reason 5); 403/503/603 -> congestion (Reason 8); any other failure
(unreachable: 408 once Timer B fires, 404, 480...) -> Reason 0; no final answer
before the Originate ``Timeout`` -> Reason 3 and CANCEL. These are what
pbx.c's ``pbx_dial_reason`` makes of the hangup causes chan_pjsip gives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..channels import UNKNOWN, Bridge, Channel, State
from ..dialplan import extension_exists
from ..originate import ring
from .engine import PjThread, SipUnavailable
from .leg import SipLeg, leg_of
from .stack import PbxStack
from .texts import Invite, RtpStats, dial_target, from_uri, split_uri

if TYPE_CHECKING:
    from ..originate import Request
    from ..world import World

log = logging.getLogger("pbxsim.sip")

ENDPOINT = "sip-in"
BUSY_CODES = (486, 600)
CONGESTION_CODES = (403, 503, 603)


def dial_outcome(code: int) -> str:
    """The Originate outcome of a SIP final response that is not 2xx."""
    if code in BUSY_CODES:
        return "busy"
    if code in CONGESTION_CODES:
        return "congestion"
    return "failed"


class SipSide:
    """pjsua2 in its own thread (:class:`PjThread`) wired to the world's channels."""

    def __init__(
        self, world: World, host: str = "127.0.0.1", port: int = 5060, endpoint: str = ENDPOINT
    ) -> None:
        self.world = world
        self.host = host
        self.port = port
        self.endpoint = endpoint
        self.device = f"PJSIP/{endpoint}"
        self.legs: dict[int, SipLeg] = {}
        self._leg_ids = itertools.count(1)  # next() is atomic: the pjsua2 thread draws too
        self._keys = itertools.count(1)
        self.engine: PjThread | None = None
        self.stack: Any = None
        self.cache_dir = Path(tempfile.mkdtemp(prefix="pbxsim-sip-"))
        self.closing = False

    # -- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Start the pjsua2 thread and bind the SIP transport; ``self.port`` is the bound port."""
        loop = asyncio.get_running_loop()

        def deliver(fn: Any, *args: Any) -> None:
            try:
                loop.call_soon_threadsafe(self._dispatch, fn, args)
            except RuntimeError:  # the loop is closed: pbxsim is going away
                pass

        self.engine = PjThread("pbxsim-sip")
        self.stack = PbxStack(
            self.engine, self.host, self.port, self.endpoint, self._next_leg, self, deliver
        )
        try:
            self.port = await asyncio.wrap_future(self.engine.start(self.stack.setup))
        except Exception as exc:
            shutil.rmtree(self.cache_dir, ignore_errors=True)
            if isinstance(exc, SipUnavailable):
                raise
            exc_text = exc.info() if hasattr(exc, "info") else str(exc)  # pjsua2.Error
            raise SipUnavailable(
                f"cannot listen for SIP on {self.host}:{self.port}: {exc_text}"
            ) from exc
        self.world.sip = self
        self.world.bridge_hooks.append(self._on_bridge)
        self.world.hangup_hooks.append(self._on_hangup)

    async def close(self) -> None:
        """Hang up the SIP calls left, destroy the endpoint, stop the thread."""
        self.closing = True
        if self._on_bridge in self.world.bridge_hooks:
            self.world.bridge_hooks.remove(self._on_bridge)
        if self._on_hangup in self.world.hangup_hooks:
            self.world.hangup_hooks.remove(self._on_hangup)
        if self.world.sip is self:
            self.world.sip = None
        if self.engine is not None:
            stopped = self.engine.stop(self.stack.teardown if self.stack else None)
            try:
                await asyncio.wait_for(asyncio.wrap_future(stopped), 10)
            except TimeoutError:
                log.error("the pjsua2 thread did not stop in 10 s")
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def _dispatch(self, fn: Any, args: tuple[Any, ...]) -> None:
        if not self.closing:  # once closing, the BYEs of the teardown change nothing here
            fn(*args)

    def _next_leg(self) -> int:
        return next(self._leg_ids)

    def new_key(self, kind: str) -> str:
        return f"{kind}{next(self._keys)}"

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` in the pjsua2 thread (do not wait)."""
        if self.engine is None:
            raise SipUnavailable("the SIP side is not started")
        fut = self.engine.submit(fn, *args)
        fut.add_done_callback(_log_failure)
        return fut

    def call(self, fn: Any, *args: Any, timeout: float = 5.0) -> Any:
        """Run ``fn(*args)`` in the pjsua2 thread and wait for it (blocks the loop: keep it short)."""
        return self.submit(fn, *args).result(timeout)

    # -- outbound ---------------------------------------------------------------------
    def _uri(self, resource: str, endpoint: str) -> str | None:
        uri = dial_target(resource)
        if uri is None:
            agents = getattr(self.world.scenario, "agents", None) or {}
            agent = agents.get(endpoint)
            uri = getattr(agent, "sip_uri", "") or None
        return uri

    def wants(self, req: Request, endpoint: str) -> bool:
        """Whether the Originate dials a real SIP phone (a URI in the dial string or scenario)."""
        return self._uri(req.resource, endpoint) is not None

    def dial(self, ch: Channel, req: Request) -> SipLeg | None:
        """Place the Originate's call to a real SIP phone, or ``None`` if ``ch`` is not one."""
        uri = self._uri(req.resource, ch.agent_key)
        if uri is None:
            return None
        leg = SipLeg(self, self._next_leg(), ch, inbound=False, remote=split_uri(uri)[1])
        self.legs[leg.id] = leg
        ch.tech_pvt = leg
        num, name = req.callerid or (UNKNOWN, UNKNOWN)
        self.submit(self.stack.dial, leg.id, uri, from_uri(num, name, self.host))
        return leg

    # -- events from the pjsua2 thread (run in the loop) -------------------------------
    def on_incoming(self, leg_id: int, invite: Invite, remote: str) -> None:
        w = self.world
        context = getattr(w.scenario, "context", None) or "hotline-safe"
        exten = invite.user if invite.user and extension_exists(context, invite.user) else "s"
        ch = w.new_tech_channel("PJSIP", self.endpoint, context, exten)
        ch.state = State.RING  # 11: an inbound PJSIP channel is born ringing
        ch.role = "caller"
        ch.cid_num, ch.cid_name = invite.cid_num, invite.cid_name
        ch.dnid = invite.user
        leg = SipLeg(self, leg_id, ch, inbound=True, remote=remote)
        self.legs[leg_id] = leg
        ch.tech_pvt = leg
        w.add_channel(ch)
        w.set_var(ch, "SIPDOMAIN", invite.domain)  # 11: the only VarSet before the dialplan
        w.start_dialplan(ch, context, exten, 1)

    def on_progress(self, leg_id: int, code: int) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None and not leg.ch.gone and leg.ch.state != State.UP:
            ring(self.world, leg.ch, dial_state_first=False)  # 16

    def on_confirmed(self, leg_id: int) -> None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.inbound or leg.ch.gone:
            return  # (a 200 crossing our CANCEL is hung up by pjsip itself)
        answered = leg.ch.answered
        if answered is not None and not answered.done():
            self.world.answer(leg.ch)  # the agent picked up: OriginateResponse Reason 4

    def on_media(self, leg_id: int, local: str, remote: str) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None:
            leg.media_up = True
            leg.rtp_local, leg.rtp_remote = local, remote

    def on_stats(self, leg_id: int, stats: RtpStats) -> None:
        leg = self.legs.get(leg_id)
        if leg is not None:
            leg.stats = stats

    def on_dtmf(self, leg_id: int, digit: str, end: bool, duration: int) -> None:
        """RFC 4733 digit from the caller (11: events on the receiving channel only)."""
        leg = self.legs.get(leg_id)
        ch = leg.ch if leg is not None else None
        if leg is None or ch is None or ch.gone or ch.hanging:
            return
        w = self.world
        if not end or leg.dtmf_begun != digit:
            w.chan_event("DTMFBegin", ch, ("Digit", digit), ("Direction", "Received"))
            leg.dtmf_begun = digit
        if end:
            leg.dtmf_begun = ""
            w.chan_event("DTMFEnd", ch, ("Digit", digit), ("DurationMs", str(duration)),
                         ("Direction", "Received"))  # fmt: skip
            if ch.dtmf_sink is not None:
                ch.dtmf_sink(digit)  # the application sees the digit at its end, as Asterisk's

    def on_ended(self, leg_id: int, code: int, stats: RtpStats | None) -> None:
        """The pjsua2 call is over: the far end hung up, refused, or we did."""
        leg = self.legs.pop(leg_id, None)
        if leg is None:
            return
        leg.gone = True
        if stats is not None:
            leg.stats = stats
        ch = leg.ch
        if ch.gone:
            return
        if ch.answered is not None and not ch.answered.done():
            ch.answered.set_result(dial_outcome(code))  # an agent phone that never answered
            return
        if ch.hanging:
            return
        leg.emit_qos()  # 11 (loop-out): RTPAUDIOQOS* come before HangupRequest on a BYE
        leg.stop_play()
        self.world.hangup(ch, how="remote", cause=0)  # 11: a BYE ends with Cause 0 Unknown

    # -- world hooks -----------------------------------------------------------------
    def _on_bridge(self, bridge: Bridge, ch: Channel, entered: bool) -> None:
        leg = leg_of(ch)
        if entered:
            if len(bridge.channels) == 2:
                a, b = (leg_of(c) for c in bridge.channels)
                if a is not None and b is not None:
                    a.connect(b, True)
        elif leg is not None:
            for other in list(leg.bridged):
                leg.connect(other, False)

    def _on_hangup(self, ch: Channel) -> None:
        leg = leg_of(ch)
        if leg is None:
            return
        leg.stop_play()
        leg.end_call()  # a failed or timed-out dial (no Hangup hook ran): CANCEL
        if leg.inbound:
            # 11: loop-in (no contact, like our inbound endpoint) goes UNAVAILABLE after Hangup.
            self.world.device_state(self.device, "UNAVAILABLE")


def _log_failure(fut: concurrent.futures.Future[Any]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        exc = fut.exception()
        log.warning("pjsua2 job failed: %s", getattr(exc, "info", lambda: exc)())
