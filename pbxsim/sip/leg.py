"""A SIP call seen from the asyncio side: the channel driver behind ``Channel.tech_pvt``.

The world calls it at the points where chan_pjsip acts in Asterisk:

- :meth:`SipLeg.answer` when the channel is answered (``Answer()``/AGI ANSWER):
  the 200 OK goes out, then ``DeviceStateChange PJSIP/<endpoint> INUSE``
  right after ``Newstate Up`` (11).
- :meth:`SipLeg.hangup` just before the ``Hangup`` event: the five
  ``RTPAUDIOQOS*`` VarSets (11: after ``SoftHangupRequest``), then BYE.
- :meth:`SipLeg.play` while STREAM FILE / GET DATA / Playback play a prompt, or
  MusicOnHold holds the caller: real audio.
- :meth:`SipLeg.record` for MixMonitor: a pjsua2 recorder on the bridge.
- :meth:`SipLeg.function` for ``CHANNEL(rtp,src)``, ``CHANNEL(pjsip,remote_addr)`` (11).

Nothing here touches pjsua2: every action is a job submitted to the pjsua2
thread (:mod:`pbxsim.sip.engine`), run there by :class:`~pbxsim.sip.stack.PbxStack`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..audio import SAMPLE_RATE
from .prompts import hold_wav, prompt_wav
from .stack import call_key
from .texts import RtpStats, rtp_qos_vars

if TYPE_CHECKING:
    from ..audio import Recording
    from ..channels import Channel
    from .side import SipSide

log = logging.getLogger("pbxsim.sip")

#: SIP final response for an inbound call hung up before it was answered (hangup_cause2sip).
CAUSE_TO_SIP = {1: 404, 17: 486, 19: 480, 21: 403, 34: 503}


def leg_of(ch: Channel | None) -> SipLeg | None:
    pvt = ch.tech_pvt if ch is not None else None
    return pvt if isinstance(pvt, SipLeg) else None


class SipLeg:
    """One SIP call and the channel it is (``PJSIP/<endpoint>-0000000N``)."""

    def __init__(self, side: SipSide, leg_id: int, ch: Channel, inbound: bool, remote: str) -> None:
        self.side = side
        self.id = leg_id
        self.key = call_key(leg_id)
        self.ch = ch
        self.inbound = inbound
        self.remote_addr = remote  #: the far end's SIP address, ``host:port``
        self.rtp_local = ""
        self.rtp_remote = ""
        self.media_up = False
        self.stats = RtpStats()
        rng = side.world.rng
        self.ssrc, self.their_ssrc = rng.getrandbits(31), rng.getrandbits(31)
        self.gone = False  #: the pjsua2 call has ended
        self.bye_sent = False
        self.qos_done = False
        self.answered = not inbound
        self.player: str | None = None
        self.recordings: list[LiveRecording] = []
        self.bridged: set[SipLeg] = set()
        self.dtmf_begun = ""

    # -- channel driver interface -----------------------------------------------------
    def answer(self) -> None:
        if self.answered:
            return
        self.answered = True
        self.side.submit(self.side.stack.answer, self.id)
        # 11: DeviceStateChange INUSE follows the inbound channel's Newstate Up.
        self.side.world.device_state(self.side.device, "INUSE")

    def hangup(self) -> None:
        """The channel is hanging up here (Hangup action, AGI HANGUP, Hangup()): BYE."""
        self.emit_qos()
        self.stop_play()
        self.end_call()

    def end_call(self) -> None:
        if self.gone or self.bye_sent:
            return
        self.bye_sent = True
        code = 0 if self.answered else CAUSE_TO_SIP.get(self.ch.hangupcause, 480)
        self.side.submit(self.side.stack.hangup, self.id, code)

    def emit_qos(self) -> None:
        """11: RTPAUDIOQOS, …JITTER, …LOSS, …RTT, …MES, once, if the call had RTP."""
        if self.qos_done or not self.media_up:
            return
        self.qos_done = True
        for name, value in rtp_qos_vars(self.ssrc, self.their_ssrc, self.stats):
            self.side.world.set_var(self.ch, name, value)

    def function(self, arg: str) -> str | None:
        """``CHANNEL(<arg>)`` values chan_pjsip answers (11: ``rtp,src`` and ``pjsip,remote_addr``)."""
        return {
            "rtp,src": self.rtp_local,
            "rtp,dest": self.rtp_remote,
            "pjsip,remote_addr": self.remote_addr,
            "pjsip,local_addr": f"{self.side.host}:{self.side.port}",
            "pjsip,transport": "transport-udp",
        }.get(arg.replace(" ", ""))

    def play(self, name: str, moh: bool = False) -> Callable[[], None] | None:
        """Play prompt ``name`` (or music on hold, looped) to the caller; returns its stop."""
        if self.gone:
            return None
        if moh:
            path = hold_wav(self.side.cache_dir)
        else:
            seconds = self.side.world.prompts.duration(name)
            if seconds is None:
                return None
            path = prompt_wav(name, seconds, self.side.cache_dir)
        self.stop_play()
        key = self.side.new_key("play")
        self.side.submit(self.side.stack.play, key, self.id, str(path), moh)
        self.player = key
        self.update_recordings()

        def stop() -> None:
            if self.player == key:
                self.stop_play()

        return stop

    def stop_play(self) -> None:
        key, self.player = self.player, None
        if key is not None:
            self.side.submit(self.side.stack.stop_player, key)
            self.update_recordings()

    def record(self, rec: Recording, ch: Channel) -> LiveRecording:
        live = LiveRecording(self, rec, ch)
        self.recordings.append(live)
        return live

    # -- the bridge ----------------------------------------------------------------------
    def connect(self, other: SipLeg, on: bool) -> None:
        """Both directions of the two calls' audio through the conference bridge."""
        stack = self.side.stack
        self.side.submit(stack.link, self.key, other.key, on)
        self.side.submit(stack.link, other.key, self.key, on)
        if on:
            self.bridged.add(other)
            other.bridged.add(self)
        else:
            self.bridged.discard(other)
            other.bridged.discard(self)

    def update_recordings(self) -> None:
        for live in list(self.recordings):
            live.update()


class LiveRecording:
    """MixMonitor on a SIP channel: both directions mixed by the bridge into a pjsua2 recorder.

    The recorder runs at the endpoint's 8 kHz clock, so the file is 8 kHz 16-bit
    mono like 04's. Sources: the channel's own audio (read) unless muted; what it
    hears (the bridged party, a prompt) unless muted; nothing at all while
    unbridged with option ``b``. :meth:`finish` blocks until the WAV header is
    final, because the Hangup event follows at once and the controller hashes
    the file when it sees it.
    """

    def __init__(self, leg: SipLeg, rec: Recording, ch: Channel) -> None:
        self.leg, self.rec, self.ch = leg, rec, ch
        self.key = leg.side.new_key("rec")
        self.finished = False
        leg.side.submit(leg.side.stack.record, self.key, str(rec.path))
        self.update()

    def sources(self) -> list[str]:
        rec, ch = self.rec, self.ch
        bridged = ch.bridge is not None and len(ch.bridge.channels) > 1
        if rec.only_bridged and not bridged:
            return []
        out = [] if rec.mute_read else [self.leg.key]
        if not rec.mute_write:
            if bridged:
                out += [o.key for c in ch.bridge.channels if c is not ch and (o := leg_of(c))]
            if self.leg.player is not None:
                out.append(self.leg.player)
        return out

    def update(self) -> None:
        if not self.finished:
            self.leg.side.submit(self.leg.side.stack.record_sources, self.key, self.sources())

    def finish(self) -> float:
        """Stop recording; return its length in seconds once the file is complete."""
        if self.finished:
            return 0.0
        self.finished = True
        if self in self.leg.recordings:
            self.leg.recordings.remove(self)
        try:
            frames: Any = self.leg.side.call(self.leg.side.stack.record_stop, self.key)
        except Exception:
            log.exception("recording %s did not close", self.rec.path)
            return 0.0
        return int(frames) / SAMPLE_RATE
