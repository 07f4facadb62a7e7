"""pjsua2 in its own thread, driven from asyncio (the probe's SIP side).

Rules of this module:

1. One `pj.Endpoint` per process, created, polled and destroyed by one
   dedicated thread ("pjsua2"): ``uaConfig.threadCnt = 0`` and our own
   ``libHandleEvents(10)`` loop; null audio device; transports bound to the
   ``--bind`` address (RTP on the same address, any free port).
2. Commands go in through a `queue.SimpleQueue` that the thread drains after
   every poll (`SipEngine.submit`); their results come back as asyncio futures
   completed with ``loop.call_soon_threadsafe``.
3. Call events (state, SIP code) and received audio reach the call's `CallSink`
   the same way, so sinks only ever run on the event loop. Audio comes from
   an `AudioMediaPort` (pjsua2 >= 2.12; works in 2.15.1) whose
   ``onFrameReceived`` runs on pjmedia's clock thread: 20 ms frames are
   batched to 100 ms before the hand-over.
4. A `pj.Call`, its port and its tone generator are deleted explicitly
   (`pjcall.free_call`) in its DISCONNECTED callback, before pjsua reuses
   its call slot; any left are deleted before ``libDestroy``.
5. The wheel is built with PJSUA_MAX_CALLS = 4: at most 4 calls at once
   (`SipEngine.max_calls`), and a new call waits (`SLOT_WAIT`) for pjsua to
   free a slot it still holds just after a DISCONNECTED callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from .pjcall import CLOCK_RATE, PJSUA2_MISSING, Call, CallSink, StderrLog, free_call, pj

SLOT_WAIT = 5.0  #: seconds a new call may wait for pjsua to free a call slot
_PJ_ETOOMANY = 70010  # pj/errno.h: PJ_ERRNO_START_STATUS + 10


class SipError(Exception):
    """pjsua2 refused something (bind, URI, DTMF ...); the text is pjsua's."""


class SipEngine:
    """The probe's user agent: one pjsua2 endpoint in the "pjsua2" thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log_level: int = 0) -> None:
        self.host = host
        self.port = port
        self.log_level = log_level
        #: calls in flight at once: the pjsua2-python 2.15.1 wheel is built with
        #: PJSUA_MAX_CALLS = 4 (a 5th makeCall fails with PJ_ETOOMANY, measured)
        self.max_calls = 4
        self._loop: asyncio.AbstractEventLoop | None = None
        self._commands: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._done: asyncio.Future[None] | None = None
        self._calls: dict[int, Any] = {}  # id(sink) -> _Call, pj thread only
        self._waiting: list[Any] = []  # commands retried until a call slot frees

    # -- the asyncio side ------------------------------------------------

    async def start(self) -> None:
        """Create the endpoint in its thread; raises `SipError` (e.g. address in use)."""
        if pj is None:
            raise SipError(PJSUA2_MISSING)
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[int] = self._loop.create_future()
        self._done = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._main, args=(ready,), name="pjsua2", daemon=True
        )
        self._thread.start()
        self.port = await ready

    async def close(self) -> None:
        """Hang up what is left, destroy the endpoint, join the thread."""
        if self._thread is None or self._done is None:
            return
        self._commands.put(None)
        await self._done
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` in the pjsua2 thread; its result (or error) completes the future."""
        assert self._loop is not None, "start() first"
        future: asyncio.Future[Any] = self._loop.create_future()
        self._commands.put((fn, args, future))
        return future

    async def call(self, sink: CallSink, uri: str) -> float:
        """Send an INVITE to ``uri``; returns the monotonic time it was sent."""
        return float(await self.submit(self._make_call, sink, uri))

    async def dtmf(self, sink: CallSink, digits: str) -> str:
        """Queue ``digits`` as RFC 4733 events; returns the digits the stream accepted."""
        return str(await self.submit(self._dial, sink, digits))

    async def tone(self, sink: CallSink, hz: float | None) -> None:
        """Start sending a sine at ``hz`` to the call (None: stop)."""
        await self.submit(self._tone, sink, hz)

    async def hangup(self, sink: CallSink) -> None:
        """Hang up (CANCEL before the answer, BYE after); no-op once ended."""
        await self.submit(self._hangup, sink)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Hand ``fn(*args)`` to the event loop (from any thread)."""
        assert self._loop is not None
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
            self._loop.call_soon_threadsafe(fn, *args)

    # -- the pjsua2 thread -------------------------------------------------

    def _main(self, ready: asyncio.Future[int]) -> None:
        ep = pj.Endpoint()
        sink = sys.stderr.fileno() if self.log_level else os.open(os.devnull, os.O_WRONLY)
        try:  # libCreate logs to stdout before any setting applies; stdout is our report
            sys.stdout.flush()
            saved = os.dup(1)
            os.dup2(sink, 1)
            try:
                ep.libCreate()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        finally:
            if not self.log_level:
                os.close(sink)
        self._account: Any = None
        try:
            port = self._init(ep)
        except pj.Error as exc:
            self.post(_fail, ready, SipError(exc.info()))
            self._destroy(ep)
            return
        self.post(_succeed, ready, port)
        try:
            stopping = False
            while not stopping:
                ep.libHandleEvents(10)
                stopping = self._drain()
            with contextlib.suppress(pj.Error):
                ep.hangupAllCalls()
            deadline = time.monotonic() + 2.0
            while self._calls and time.monotonic() < deadline:
                ep.libHandleEvents(10)
        finally:
            self._destroy(ep)

    def _init(self, ep: Any) -> int:
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.maxCalls = self.max_calls
        cfg.uaConfig.userAgent = "hotline-probe"
        cfg.logConfig.level = cfg.logConfig.consoleLevel = self.log_level
        if self.log_level:
            cfg.logConfig.writer = StderrLog().__disown__()  # the endpoint deletes it
        cfg.medConfig.clockRate = cfg.medConfig.sndClockRate = CLOCK_RATE
        cfg.medConfig.ecTailLen = 0
        ep.libInit(cfg)
        ep.audDevManager().setNullDev()
        transport = pj.TransportConfig()
        transport.port = self.port
        transport.boundAddress = transport.publicAddress = self.host
        port = self._transports(ep, transport)
        ep.libStart()
        acc = pj.AccountConfig()
        acc.idUri = f"sip:probe@{self.host}:{port}"
        rtp = acc.mediaConfig.transportConfig
        rtp.boundAddress = rtp.publicAddress = self.host
        rtp.port = 0
        self._account = pj.Account()
        self._account.create(acc)
        return port

    def _transports(self, ep: Any, transport: Any) -> int:
        """UDP, then TCP (";transport=tcp" URIs) on the same port. With port 0
        the UDP port the system picked may be taken for TCP by another
        process: then both go and a new pick is tried."""
        tries = 1 if self.port else 20
        for attempt in range(tries):
            transport.port = self.port
            udp = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
            port = int(ep.transportGetInfo(udp).localName.rsplit(":", 1)[1])
            transport.port = port
            try:
                ep.transportCreate(pj.PJSIP_TRANSPORT_TCP, transport)
            except pj.Error:
                if attempt == tries - 1:
                    raise
                ep.transportClose(udp)
                continue
            return port
        raise AssertionError("unreachable")

    def _destroy(self, ep: Any) -> None:
        # all calls over: skip pjsua's 1 s wait for the network to settle
        flags = 0 if self._calls else pj.PJSUA_DESTROY_NO_NETWORK
        for call in self._calls.values():
            free_call(call)
        self._calls.clear()
        self._account = None  # calls, ports and the account go before the endpoint
        ep.libDestroy(flags)
        if self._done is not None:
            self.post(_succeed, self._done, None)

    def _drain(self) -> bool:
        """Run the queued commands (those waiting for a call slot first); True: stop."""
        waiting, self._waiting = self._waiting, []
        for item in waiting:
            self._run(*item)
        while True:
            try:
                item = self._commands.get_nowait()
            except queue.Empty:
                return False
            if item is None:
                return True
            fn, args, future = item
            self._run(fn, args, future, time.monotonic() + SLOT_WAIT)

    def _run(self, fn: Callable[..., Any], args: Any, future: Any, deadline: float) -> None:
        try:
            result = fn(*args)
        except pj.Error as exc:
            if exc.status == _PJ_ETOOMANY and time.monotonic() < deadline:
                # pjsua frees a call's slot a little after its DISCONNECTED
                # callback: try again on the next turns of the loop
                self._waiting.append((fn, args, future, deadline))
            else:
                self.post(_fail, future, SipError(exc.info()))
        except Exception as exc:  # a bug: hand it to the caller rather than kill the thread
            self.post(_fail, future, exc)
        else:
            self.post(_succeed, future, result)

    def _ended(self, call: Any) -> None:
        """In the DISCONNECTED callback: free the call's native objects now (rule 4)."""
        self._calls.pop(id(call.sink), None)
        free_call(call)

    def _make_call(self, sink: CallSink, uri: str) -> float:
        call = Call(self, self._account, sink)
        self._calls[id(sink)] = call
        sent = time.monotonic()
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error:
            self._calls.pop(id(sink), None)
            raise
        return sent

    def _dial(self, sink: CallSink, digits: str) -> str:
        call = self._calls.get(id(sink))
        accepted = ""
        for digit in digits:
            if call is None or call.audio is None:
                break
            try:
                call.dialDtmf(digit)
            except pj.Error:
                break  # e.g. the far end offered no telephone-event
            accepted += digit
        return accepted

    def _tone(self, sink: CallSink, hz: float | None) -> None:
        call = self._calls.get(id(sink))
        if call is None:
            return
        if call.tone is not None:
            call.tone.stop()
            if call.audio is not None:
                with contextlib.suppress(pj.Error):
                    call.tone.stopTransmit(call.audio)
            call.tone = None
        if hz is None:
            return
        desc = pj.ToneDesc()
        desc.freq1, desc.freq2, desc.volume = int(hz), 0, 0  # volume 0: pjmedia's default
        desc.on_msec, desc.off_msec = 30000, 0  # one sine, restarted every 30 s
        tones = pj.ToneDescVector()
        tones.append(desc)
        call.tone = pj.ToneGenerator()
        call.tone.createToneGenerator(CLOCK_RATE, 1)
        call.tone.play(tones, True)
        if call.audio is not None:
            call.tone.startTransmit(call.audio)

    def _hangup(self, sink: CallSink) -> None:
        call = self._calls.get(id(sink))
        if call is not None and call.isActive():
            call.hangup(pj.CallOpParam())


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
