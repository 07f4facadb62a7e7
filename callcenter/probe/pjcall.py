"""The pjsua2 objects of one probe call; they live in the "pjsua2" thread (see `sip`).

`Call` reports state changes and SIP responses to its `CallSink` through the
engine's ``post`` (thread-safe hand-over to the event loop); `Ear`, an
`AudioMediaPort` (pjsua2 >= 2.12, works in 2.15.1), listens to the call's
audio on pjmedia's clock thread and hands it over in 100 ms batches.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol

try:
    import pjsua2 as pj
except ImportError as _exc:  # pragma: no cover - depends on the machine
    pj = None
    PJSUA2_MISSING: str | None = (
        f"pjsua2 is not importable ({_exc}); install it with: pip install 'hotline[sip]'"
    )
else:
    PJSUA2_MISSING = None

__all__ = ["CLOCK_RATE", "PJSUA2_MISSING", "Call", "CallSink", "StderrLog", "free_call", "pj"]

CLOCK_RATE = 8000  #: the conference bridge and our ports: G.711 is 8 kHz anyway
_BATCH = CLOCK_RATE // 10 * 2  # bytes of 16-bit audio per hand-over (100 ms)
_STATES = {
    0: "null",
    1: "calling",
    2: "incoming",
    3: "early",
    4: "connecting",
    5: "confirmed",
    6: "disconnected",
}


class CallSink(Protocol):
    """Receives one call's events, always on the event loop."""

    def on_state(self, state: str, code: int, reason: str, at: float) -> None: ...

    def on_response(self, code: int) -> None: ...

    def on_audio(self, end: float, pcm: bytes) -> None: ...


class Engine(Protocol):
    """What the pjsua2 objects need of `sip.SipEngine`."""

    def post(self, fn: Any, *args: Any) -> None: ...

    def _ended(self, call: Any) -> None: ...


if pj is not None:

    class StderrLog(pj.LogWriter):  # type: ignore[misc]
        def write(self, entry: Any) -> None:
            sys.stderr.write(entry.msg if entry.msg.endswith("\n") else entry.msg + "\n")

    class Ear(pj.AudioMediaPort):  # type: ignore[misc]
        """A conference port that only listens: frames go to the engine in batches."""

        def __init__(self, engine: Engine, sink: CallSink) -> None:
            super().__init__()
            self.engine = engine
            self.sink = sink
            self.buffer = bytearray()
            fmt = pj.MediaFormatAudio()
            fmt.type = pj.PJMEDIA_TYPE_AUDIO
            fmt.clockRate = CLOCK_RATE
            fmt.channelCount = 1
            fmt.bitsPerSample = 16
            fmt.frameTimeUsec = 20000
            fmt.avgBps = fmt.maxBps = CLOCK_RATE * 16
            self.createPort("probe-ear", fmt)

        def onFrameReceived(self, frame: Any) -> None:  # noqa: N802 - pjmedia clock thread
            buffer = getattr(self, "buffer", None)
            if buffer is None:  # a proxy torn down by refcount (`free_call` avoids it)
                return
            if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
                buffer += bytes(frame.buf)[: frame.size]
            else:  # no audio this tick: keep the timeline with silence
                buffer += bytes(CLOCK_RATE // 50 * 2)
            if len(buffer) >= _BATCH:
                self.buffer = bytearray()
                self.engine.post(self.sink.on_audio, time.monotonic(), bytes(buffer))

    class Call(pj.Call):  # type: ignore[misc]
        def __init__(self, engine: Engine, account: Any, sink: CallSink) -> None:
            super().__init__(account)
            self.engine = engine
            self.sink = sink
            self.audio: Any = None
            self.ear: Any = None
            self.tone: Any = None

        def onCallState(self, prm: Any) -> None:  # noqa: N802
            info = self.getInfo()
            state = _STATES.get(info.state, str(info.state))
            self.engine.post(
                self.sink.on_state, state, info.lastStatusCode, info.lastReason, time.monotonic()
            )
            if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.engine._ended(self)

        def onCallTsxState(self, prm: Any) -> None:  # noqa: N802
            # every response received for our INVITE, 100 Trying included (which
            # changes no call state); not the codes pjsip makes up locally
            if prm.e.type != pj.PJSIP_EVENT_TSX_STATE:
                return
            event = prm.e.body.tsxState
            tsx = event.tsx
            if (
                event.type == pj.PJSIP_EVENT_RX_MSG
                and tsx.role == pj.PJSIP_ROLE_UAC
                and tsx.method == "INVITE"
            ):
                self.engine.post(self.sink.on_response, tsx.statusCode)

        def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
            info = self.getInfo()
            for index, media in enumerate(info.media):
                if (
                    media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
                ):
                    self.audio = self.getAudioMedia(index)
                    if self.ear is None:
                        self.ear = Ear(self.engine, self.sink)
                    self.audio.startTransmit(self.ear)
                    if self.tone is not None:
                        self.tone.startTransmit(self.audio)


def free_call(call: Any) -> None:
    """Delete a call's C++ objects while their Python proxies are still alive.

    pjmedia's clock thread calls ``Ear.onFrameReceived`` until the port's
    destructor has left the conference bridge, and the SWIG wrapper releases
    the GIL meanwhile: dying by refcount, the proxy could be entered (and
    freed twice) half torn down. And ``~Call`` clears the user data of, and
    hangs up, whatever call holds its slot id: run late, it hits the slot's
    next call. So: ports first, then the Call itself, inside its DISCONNECTED
    callback (pjsua2 allows that), before pjsua can hand the slot on.
    """
    for part in (call.tone, call.ear, call):
        if part is not None and part.thisown:
            type(part).__swig_destroy__(part)  # the proxy is disowned: no second delete
    call.tone = call.ear = call.audio = None
