"""An agent softphone on real SIP: ``python -m pbxsim.phone``.

A pjsua2 (pjproject 2.15.1) user agent that registers nothing and waits for
INVITEs on one UDP port. Each incoming call gets ``180 Ringing``, then after
``--answer-after`` seconds ``200 OK`` and a continuous sine tone
(``--tone-hz``) as the agent's voice; ``--busy`` answers ``486 Busy Here``,
``--no-answer`` rings until the caller gives up, ``--hangup-after`` makes the
agent hang up. It stops on SIGINT/SIGTERM or when its parent process dies.
At most 4 calls at once (the wheel's PJSUA_MAX_CALLS): pjsua itself answers
a 5th ``486 Busy Here``. stdout carries ``phone listening on HOST:PORT``
once, then one line per call event::

    incoming <sip:probe@127.0.0.1>
    dtmf 1                      (an RFC 4733 digit received)
    answered
    ended 200                   (the call's last SIP status: 200, 486, 487 ...)

It imports nothing of Hotline's, nor of ``pbxsim.sip``: it is an outside
party, like a desk phone. pjsua2 runs in the thread that calls `Phone.run`
(``threadCnt = 0``, our own ``libHandleEvents`` loop; media and clock threads
are pjmedia's), with the null audio device; callbacks only queue lines and
timers that the loop thread then prints and fires. A call's C++ objects are
deleted in its own DISCONNECTED callback (`_free`), before pjsua reuses its slot.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

try:
    import pjsua2 as pj
except ImportError as _exc:  # pragma: no cover - depends on the machine
    pj = None
    PJSUA2_MISSING: str | None = f"pjsua2 is not importable ({_exc}); install pjsua2-python"
else:
    PJSUA2_MISSING = None

CLOCK_RATE = 8000  #: the conference bridge rate: G.711 is 8 kHz anyway


@dataclass(frozen=True, slots=True)
class PhoneOptions:
    """What the agent phone does with a call."""

    host: str = "127.0.0.1"
    port: int = 5070
    user: str = "1001"
    answer_after: float = 1.0
    tone_hz: float = 620.0
    busy: bool = False
    no_answer: bool = False
    hangup_after: float | None = None
    log_level: int = 0


def _print(line: str) -> None:
    print(line, flush=True)


@contextlib.contextmanager
def _stdout_to(fd: int) -> Iterator[None]:
    """Point file descriptor 1 at ``fd`` for a while: ``libCreate`` logs to stdout
    before any log setting can be applied, and stdout is our event channel."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(fd, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


if pj is not None:

    class _StderrLog(pj.LogWriter):  # type: ignore[misc]
        def write(self, entry: Any) -> None:
            sys.stderr.write(entry.msg if entry.msg.endswith("\n") else entry.msg + "\n")

    class _AgentCall(pj.Call):  # type: ignore[misc]
        """One call on the phone; the tone is its voice."""

        def __init__(self, phone: Phone, account: Any, call_id: int) -> None:
            super().__init__(account, call_id)
            self.phone = phone
            self.tone: Any = None
            self.serial = 0

        def onCallState(self, prm: Any) -> None:  # noqa: N802 - pjsua2's name
            info = self.getInfo()
            if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
                self.phone._answered(self)
            elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.phone._ended(self, info.lastStatusCode)

        def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
            info = self.getInfo()
            for index, media in enumerate(info.media):
                if (
                    media.type == pj.PJMEDIA_TYPE_AUDIO
                    and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE
                ):
                    self._speak(self.getAudioMedia(index))

        def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802 - a media thread
            self.phone.lines.append(f"dtmf {prm.digit}")

        def _speak(self, audio: Any) -> None:
            if self.tone is None:
                self.tone = pj.ToneGenerator()
                self.tone.createToneGenerator(CLOCK_RATE, 1)
                desc = pj.ToneDesc()
                desc.freq1 = int(self.phone.options.tone_hz)
                desc.freq2 = 0
                desc.on_msec = 30000  # one sine, restarted (phase jump) every 30 s
                desc.off_msec = 0
                desc.volume = 0  # pjmedia's default amplitude
                tones = pj.ToneDescVector()
                tones.append(desc)
                self.tone.play(tones, True)
            self.tone.startTransmit(audio)

    class _Account(pj.Account):  # type: ignore[misc]
        def __init__(self, phone: Phone) -> None:
            super().__init__()
            self.phone = phone

        def onIncomingCall(self, prm: Any) -> None:  # noqa: N802
            self.phone._incoming(_AgentCall(self.phone, self, prm.callId))


class Phone:
    """The softphone: `run` owns the pjsua2 endpoint for its whole life."""

    def __init__(self, options: PhoneOptions, emit: Callable[[str], None] = _print) -> None:
        self.options = options
        self.emit = emit
        self.port: int | None = None
        #: lines from pj callbacks (some on media threads), printed by the loop
        self.lines: deque[str] = deque()
        self._calls: dict[int, Any] = {}  # pjsua call id -> _AgentCall
        #: (when, call id, call serial, action): the serial keeps a timer of an
        #: ended call off the next call given the same pjsua id
        self._timers: list[tuple[float, int, int, str]] = []
        self._serial = 0

    def run(self, stop: threading.Event) -> None:
        """Listen and handle calls until ``stop`` is set (or the parent process
        dies: a test or demo that forgot its phones), then hang up and clean up."""
        if pj is None:
            raise RuntimeError(PJSUA2_MISSING)
        ep = pj.Endpoint()
        sink = sys.stderr.fileno() if self.options.log_level else os.open(os.devnull, os.O_WRONLY)
        try:
            with _stdout_to(sink):
                ep.libCreate()
        finally:
            if not self.options.log_level:
                os.close(sink)
        account = None
        try:
            ep.libInit(self._config())
            ep.audDevManager().setNullDev()
            transport = pj.TransportConfig()
            transport.port = self.options.port
            transport.boundAddress = self.options.host
            transport.publicAddress = self.options.host
            tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
            self.port = int(ep.transportGetInfo(tid).localName.rsplit(":", 1)[1])
            ep.libStart()
            account = _Account(self)
            account.create(self._account_config(tid))
            self.emit(f"phone listening on {self.options.host}:{self.port}")
            parent, checked = os.getppid(), time.monotonic()
            while not stop.is_set():
                self._tick(ep)
                if time.monotonic() - checked > 1.0:  # orphaned: whoever ran us is gone
                    checked = time.monotonic()
                    if os.getppid() != parent:
                        break
            ep.hangupAllCalls()
            deadline = time.monotonic() + 2.0
            while self._calls and time.monotonic() < deadline:
                self._tick(ep)
            self._tick(ep)  # print the last "ended" lines
        finally:
            flags = 0 if self._calls else pj.PJSUA_DESTROY_NO_NETWORK  # no 1 s settle wait
            for call in self._calls.values():
                _free(call)
            self._calls.clear()
            account = None  # Call and Account objects go before the endpoint
            ep.libDestroy(flags)

    def _config(self) -> Any:
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.maxCalls = 4  # the wheel's PJSUA_MAX_CALLS: a 5th caller gets an error
        cfg.uaConfig.userAgent = "pbxsim-phone"
        cfg.logConfig.level = self.options.log_level
        cfg.logConfig.consoleLevel = self.options.log_level
        if self.options.log_level:
            cfg.logConfig.writer = _StderrLog().__disown__()  # the endpoint deletes it
        cfg.medConfig.clockRate = CLOCK_RATE
        cfg.medConfig.sndClockRate = CLOCK_RATE
        cfg.medConfig.ecTailLen = 0
        return cfg

    def _account_config(self, tid: int) -> Any:
        cfg = pj.AccountConfig()
        cfg.idUri = f"sip:{self.options.user}@{self.options.host}:{self.port}"
        cfg.sipConfig.transportId = tid
        rtp = cfg.mediaConfig.transportConfig
        rtp.boundAddress = self.options.host
        rtp.publicAddress = self.options.host
        rtp.port = 0  # any free port: several phones share one host
        return cfg

    def _tick(self, ep: Any) -> None:
        ep.libHandleEvents(10)
        while self.lines:
            self.emit(self.lines.popleft())
        now = time.monotonic()
        due = [t for t in self._timers if t[0] <= now]
        if due:
            self._timers = [t for t in self._timers if t[0] > now]
            for _, call_id, serial, action in due:
                self._fire(call_id, serial, action)

    def _fire(self, call_id: int, serial: int, action: str) -> None:
        call = self._calls.get(call_id)
        if call is None or call.serial != serial:
            return
        prm = pj.CallOpParam()
        try:
            if action == "answer":
                prm.statusCode = 200
                call.answer(prm)
            else:
                call.hangup(prm)
        except pj.Error as exc:
            print(f"phone: {action} failed: {exc.info()}", file=sys.stderr, flush=True)

    def _incoming(self, call: Any) -> None:
        info = call.getInfo()
        self._serial += 1
        call.serial = self._serial
        self._calls[info.id] = call
        self.lines.append(f"incoming {info.remoteUri}")
        prm = pj.CallOpParam()
        prm.statusCode = 486 if self.options.busy else 180
        call.answer(prm)
        if not (self.options.busy or self.options.no_answer):
            when = time.monotonic() + self.options.answer_after
            self._timers.append((when, info.id, call.serial, "answer"))

    def _answered(self, call: Any) -> None:
        self.lines.append("answered")
        if self.options.hangup_after is not None:
            when = time.monotonic() + self.options.hangup_after
            self._timers.append((when, call.getId(), call.serial, "hangup"))

    def _ended(self, call: Any, code: int) -> None:
        self.lines.append(f"ended {code}")
        self._calls.pop(call.getId(), None)
        _free(call)


def _free(call: Any) -> None:
    """Delete the call's C++ objects now, in its DISCONNECTED callback (pjsua2
    allows it), while the Python proxies live: ``~Call`` clears the user data
    of, and hangs up, whatever call holds its slot id, so run late (when the
    proxy happens to die) it would hit the next call given that slot."""
    for part in (call.tone, call):
        if part is not None and part.thisown:
            type(part).__swig_destroy__(part)  # disowns the proxy: no second delete
    call.tone = None


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pbxsim.phone", description=__doc__.split("\n")[0])
    p.add_argument(
        "--bind", type=_address, default=("127.0.0.1", 5070), help="HOST:PORT (port 0: any)"
    )
    p.add_argument("--user", default="1001", help="the user part of the phone's own URI")
    p.add_argument("--answer-after", type=float, default=1.0, metavar="S")
    p.add_argument("--tone-hz", type=float, default=620.0, help="the agent's voice")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--busy", action="store_true", help="answer 486 Busy Here")
    mode.add_argument("--no-answer", action="store_true", help="ring until the caller gives up")
    p.add_argument("--hangup-after", type=float, default=None, metavar="S")
    p.add_argument("--log-level", type=int, default=0, help="pjsua2 log level on stderr")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if PJSUA2_MISSING is not None:
        print(f"pbxsim.phone: {PJSUA2_MISSING}", file=sys.stderr)
        return 2
    host, port = args.bind
    options = PhoneOptions(
        host=host,
        port=port,
        user=args.user,
        answer_after=args.answer_after,
        tone_hz=args.tone_hz,
        busy=args.busy,
        no_answer=args.no_answer,
        hangup_after=args.hangup_after,
        log_level=args.log_level,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        Phone(options).run(stop)
    except pj.Error as exc:
        print(f"pbxsim.phone: {exc.info()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
