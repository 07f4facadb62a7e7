"""pbxsim's SIP user agent: what runs in the pjsua2 thread (see :mod:`pbxsim.sip.engine`).

- One UDP transport bound to the given host (``boundAddress`` and
  ``publicAddress``, so SDP and Contact never name another interface) and one
  account without registration: it answers every INVITE and places the calls
  to agent phones. Codecs: PCMU then PCMA only (Asterisk's usual ``allow=ulaw,alaw``).
- Calls are known by *leg* numbers given by the asyncio side; media ports by
  keys (``call<leg>``, ``play<n>``, ``rec<n>``) wired by :class:`Mixer`, which
  keeps the wanted links and starts them as soon as both ports exist (an
  answered call's audio arrives a moment after its 200 OK).
- Everything the asyncio side must know is posted
  through ``deliver`` (``loop.call_soon_threadsafe``) as ``events.on_<name>(...)``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .engine import PjThread
from .texts import RtpStats, parse_invite

log = logging.getLogger("pbxsim.sip")

DTMF_IS_UPDATE = 1  #: PJMEDIA_STREAM_DTMF_IS_UPDATE
DTMF_IS_END = 2  #: PJMEDIA_STREAM_DTMF_IS_END
STATS_EVERY = 0.5
WAV_HEADER = 44


def call_key(leg: int) -> str:
    return f"call{leg}"


class Mixer:
    """Links between conference-bridge ports, by key; started once both ends exist."""

    def __init__(self) -> None:
        self.ports: dict[str, Any] = {}
        self.wanted: set[tuple[str, str]] = set()
        self.live: set[tuple[str, str]] = set()

    def add(self, key: str, media: Any) -> None:
        old = self.ports.get(key)
        if old is not None and old.getPortId() != media.getPortId():
            self.live = {link for link in self.live if key not in link}  # the old port is gone
        self.ports[key] = media
        self._sync()

    def remove(self, key: str, *, dead: bool = False) -> None:
        """Forget ``key``; ``dead``: its port is already gone (do not stop, its id may be reused)."""
        for link in [link for link in self.live if key in link]:
            if not dead:
                self._stop(link)
            self.live.discard(link)
        self.wanted = {link for link in self.wanted if key not in link}
        self.ports.pop(key, None)

    def link(self, src: str, dst: str) -> None:
        self.wanted.add((src, dst))
        self._sync()

    def unlink(self, src: str, dst: str) -> None:
        self.wanted.discard((src, dst))
        if (src, dst) in self.live:
            self._stop((src, dst))
            self.live.discard((src, dst))

    def set_sources(self, dst: str, sources: list[str]) -> None:
        for src, d in list(self.wanted):
            if d == dst and src not in sources:
                self.unlink(src, d)
        for src in sources:
            self.link(src, dst)

    def _sync(self) -> None:
        for src, dst in self.wanted - self.live:
            a, b = self.ports.get(src), self.ports.get(dst)
            if a is not None and b is not None:
                a.startTransmit(b)
                self.live.add((src, dst))

    def _stop(self, link: tuple[str, str]) -> None:
        a, b = self.ports.get(link[0]), self.ports.get(link[1])
        if a is not None and b is not None:
            try:
                a.stopTransmit(b)
            except Exception:  # the far port went away meanwhile
                log.debug("stopTransmit %s failed", link)


def _classes(pj: Any) -> tuple[type, type]:
    """The pjsua2 subclasses (built at run time: pjsua2 may be missing at import)."""

    class PbxCall(pj.Call):  # type: ignore[misc]
        def __init__(self, stack: PbxStack, leg: int, inbound: bool, call_id: int) -> None:
            super().__init__(stack.account, call_id)
            self.stack, self.leg, self.inbound = stack, leg, inbound
            self.media_index = -1
            self.rang = False
            self.dtmf_open = False

        def onCallState(self, prm: Any) -> None:
            self.stack.guard(self._state)

        def _state(self) -> None:
            ci = self.getInfo()
            code = ci.lastStatusCode
            if ci.state == pj.PJSIP_INV_STATE_EARLY and not self.inbound and code in (180, 183):
                if not self.rang:
                    self.rang = True
                    self.stack.post("progress", self.leg, code)
            elif ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
                self.stack.post("confirmed", self.leg)
            elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.stack.call_gone(self, code)

        def onCallMediaState(self, prm: Any) -> None:
            self.stack.guard(self._media)

        def _media(self) -> None:
            info = self.getInfo()  # keep it alive: ``media`` points into it (SWIG)
            for mi in info.media:
                if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                    self.media_index = mi.index
                    self.stack.mixer.add(call_key(self.leg), self.getAudioMedia(mi.index))
                    local = self.getMedTransportInfo(mi.index).localRtpName
                    remote = self.getStreamInfo(mi.index).remoteRtpAddress
                    self.stack.post("media", self.leg, local, remote)
                    return

        def onDtmfEvent(self, prm: Any) -> None:
            # RFC 4733: a first packet (flags 0), updates, then an end (IS_END) with
            # the final duration; SIP INFO gives one event: treat it as begin + end.
            end = bool(prm.flags & DTMF_IS_END) or prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO
            if prm.flags & DTMF_IS_UPDATE and not end:
                return
            duration = prm.duration if 0 <= prm.duration < 60000 else 100
            self.stack.post("dtmf", self.leg, prm.digit, end, duration)

    class PbxAccount(pj.Account):  # type: ignore[misc]
        def __init__(self, stack: PbxStack) -> None:
            super().__init__()
            self.stack = stack

        def onIncomingCall(self, prm: Any) -> None:
            stack = self.stack
            leg = stack.new_leg()
            call = PbxCall(stack, leg, True, prm.callId)
            stack.calls[leg] = call
            try:
                invite = parse_invite(prm.rdata.wholeMsg)
                stack.post("incoming", leg, invite, prm.rdata.srcAddress)
            except Exception:
                log.exception("bad INVITE")
                stack.hangup(leg, 400)

    return PbxCall, PbxAccount


class PbxStack:
    """The SIP user agent of pbxsim; every method runs in the pjsua2 thread."""

    def __init__(
        self,
        engine: PjThread,
        host: str,
        port: int,
        endpoint: str,
        new_leg: Callable[[], int],
        events: Any,
        deliver: Callable[..., None],
    ) -> None:
        self.engine, self.pj = engine, engine.pj
        self.host, self.port, self.endpoint = host, port, endpoint
        self.new_leg = new_leg
        self.events, self.deliver = events, deliver
        self.account: Any = None
        self.calls: dict[int, Any] = {}
        self.mixer = Mixer()
        self.players: dict[str, Any] = {}
        self.recorders: dict[str, tuple[Any, str]] = {}
        self.graveyard: list[Any] = []
        self._next_stats = 0.0
        self._call_cls, self._acc_cls = _classes(self.pj)

    def post(self, name: str, *args: Any) -> None:
        """Hand ``events.on_<name>(*args)`` to the asyncio loop."""
        self.deliver(getattr(self.events, "on_" + name), *args)

    @staticmethod
    def guard(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a pjsua2 callback must never raise into C++
            log.exception("pjsua2 callback failed")

    # -- start and stop ----------------------------------------------------------------
    def setup(self, ep: Any) -> int:
        """Transport, codecs and the account; returns the bound UDP port."""
        pj = self.pj
        tc = pj.TransportConfig()
        tc.port = self.port
        tc.boundAddress = self.host
        tc.publicAddress = self.host
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
        self.port = int(ep.transportGetInfo(tid).localName.rpartition(":")[2])
        for codec in ep.codecEnum2():
            cid = codec.codecId
            prio = 255 if cid.startswith("PCMU/") else 254 if cid.startswith("PCMA/") else 0
            ep.codecSetPriority(cid, prio)
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:{self.endpoint}@{self.host}:{self.port}"
        acfg.sipConfig.transportId = tid
        acfg.mediaConfig.transportConfig.boundAddress = self.host
        acfg.mediaConfig.transportConfig.publicAddress = self.host
        acfg.mediaConfig.transportConfig.port = 0
        self.account = self._acc_cls(self)
        self.account.create(acfg, True)
        self.engine.tick = self.tick
        return self.port

    def teardown(self) -> None:
        """Hang up every call (BYE/CANCEL go out), close players and recorders, delete all."""
        ep = self.engine.ep
        if self.calls:
            ep.hangupAllCalls()
            self.engine.pump(1.0, until=lambda: not self.calls)
        for key in list(self.players):
            self.stop_player(key)
        for key in list(self.recorders):
            self.record_stop(key)
        self.graveyard.extend(self.calls.values())
        self.calls.clear()
        self.graveyard.clear()
        self.mixer = Mixer()
        if self.account is not None:
            self.account.shutdown()
            self.account = None

    def tick(self) -> None:
        """After each poll: delete ended calls; every 0.5 s, RTP counters to asyncio."""
        if self.graveyard:
            self.graveyard.clear()  # not inside the Call's own callback
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + STATS_EVERY
        for leg, call in list(self.calls.items()):
            if call.media_index >= 0:
                self.post("stats", leg, self._stats(call))

    def _stats(self, call: Any) -> RtpStats:
        try:
            stat = call.getStreamStat(call.media_index)
        except Exception:
            return RtpStats()
        rtcp = stat.rtcp  # a view into ``stat``: keep ``stat`` alive while reading (SWIG)
        return RtpStats(
            rx_count=rtcp.rxStat.pkt,
            tx_count=rtcp.txStat.pkt,
            rx_lost=rtcp.rxStat.loss,
            rx_jitter=rtcp.rxStat.jitterUsec.mean / 1e6,
            rtt=rtcp.rttUsec.mean / 1e6,
        )

    def call_gone(self, call: Any, code: int) -> None:
        stats = self._stats(call) if call.media_index >= 0 else None
        leg = call.leg
        self.mixer.remove(call_key(leg), dead=True)
        if self.calls.get(leg) is call:
            del self.calls[leg]
        self.graveyard.append(call)
        self.post("ended", leg, code, stats)

    # -- commands from asyncio ---------------------------------------------------------------
    def answer(self, leg: int) -> None:
        call = self.calls.get(leg)
        if call is not None:
            prm = self.pj.CallOpParam()
            prm.statusCode = 200
            call.answer(prm)

    def hangup(self, leg: int, code: int = 0) -> None:
        """BYE if answered, CANCEL if we are still calling, else this final response."""
        call = self.calls.get(leg)
        if call is None:
            return
        prm = self.pj.CallOpParam()
        prm.statusCode = code
        try:
            call.hangup(prm)
        except self.pj.Error as exc:
            log.debug("hangup of leg %s: %s", leg, exc.info())

    def dial(self, leg: int, uri: str, from_uri: str) -> None:
        """INVITE ``uri``; a failure to even send it ends the leg at once (code 0)."""
        call = self._call_cls(self, leg, False, self.pj.PJSUA_INVALID_ID)
        prm = self.pj.CallOpParam(True)
        if from_uri:
            prm.txOption.localUri = from_uri
        self.calls[leg] = call
        try:
            call.makeCall(uri, prm)
        except self.pj.Error as exc:
            log.warning("cannot call %s: %s", uri, exc.info())
            self.calls.pop(leg, None)
            self.graveyard.append(call)
            self.post("ended", leg, 0, None)

    def play(self, key: str, leg: int, path: str, loop: bool = False) -> None:
        player = self.pj.AudioMediaPlayer()
        player.createPlayer(path, 0 if loop else self.pj.PJMEDIA_FILE_NO_LOOP)
        self.players[key] = player
        self.mixer.add(key, player)
        self.mixer.link(key, call_key(leg))

    def stop_player(self, key: str) -> None:
        self.mixer.remove(key)
        self.players.pop(key, None)  # the last reference: pjsua2 destroys the player

    def link(self, src: str, dst: str, on: bool) -> None:
        if on:
            self.mixer.link(src, dst)
        else:
            self.mixer.unlink(src, dst)

    def record(self, key: str, path: str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        rec = self.pj.AudioMediaRecorder()
        rec.createRecorder(path)
        self.recorders[key] = (rec, path)
        self.mixer.add(key, rec)

    def record_sources(self, key: str, sources: list[str]) -> None:
        if key in self.recorders:
            self.mixer.set_sources(key, sources)

    def record_stop(self, key: str) -> int:
        """Close the recorder; wait until its WAV header holds the final sizes. Frames written."""
        entry = self.recorders.pop(key, None)
        if entry is None:
            return 0
        self.mixer.remove(key)
        rec, path = entry
        del rec, entry  # the recorder is closed by the conference clock, a few ms later
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            if _wav_complete(path):
                break
            self.engine.ep.libHandleEvents(2)
        else:
            log.warning("recording %s not finalized in time", path)
        size = os.path.getsize(path) if os.path.exists(path) else 0
        return max(0, size - WAV_HEADER) // 2


def _wav_complete(path: str) -> bool:
    """True once the RIFF size in the header matches the file (pjmedia writes it on close)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
        size = os.path.getsize(path)
    except OSError:
        return False
    return (
        len(head) == 8 and head[:4] == b"RIFF" and int.from_bytes(head[4:8], "little") == size - 8
    )
