"""Real SIP phones in the test process, and ``python -m pbxsim --sip`` as a subprocess.

pjsua2 allows one endpoint per process, so pbxsim runs in a subprocess and the
test process holds :class:`Phones`: one endpoint in its own thread (the same
:class:`pbxsim.sip.engine.PjThread` discipline: every pjsua2 call in that
thread), with a caller account and agent-phone accounts, each on its own UDP
port of 127.0.0.1. What the phones see is kept in :class:`CallView` (plain
values and ``threading.Event``), which the asyncio tests poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import signal
import sys
import threading
import time
import wave
from array import array
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pbxsim.sip import sip_available

ROOT = Path(__file__).resolve().parents[1]
PJ_MISSING = sip_available()  #: why pjsua2 cannot be used here, or None


@dataclass
class CallView:
    """A phone's view of one call, written by the pjsua2 thread, read by tests."""

    states: list[str] = field(default_factory=list)
    codes: list[int] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    confirmed: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)
    key: int = 0  #: the pjsua2 Call is ``Phones.calls[key]``, used only in the pjsua2 thread

    async def wait(self, event: threading.Event, timeout: float = 10.0) -> None:
        end = time.monotonic() + timeout
        while not event.is_set():
            if time.monotonic() > end:
                raise TimeoutError(f"call states so far: {self.states} codes {self.codes}")
            await asyncio.sleep(0.02)


def tone_wav(path: Path, hz: int, seconds: float = 1.0, level: int = 8000) -> Path:
    """A sine WAV (8 kHz mono); integer ``hz`` over whole seconds loops without a click."""
    n = int(8000 * seconds)
    samples = array("h", (int(level * math.sin(2 * math.pi * hz * i / 8000)) for i in range(n)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(samples.tobytes())
    return path


def goertzel(samples: array, hz: float, rate: int = 8000) -> float:
    """Power of ``samples`` at ``hz`` (Goertzel), normalised by length."""
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / max(1, len(samples)) ** 2


def tone_power(samples: array, hz: float, window: int = 4000) -> float:
    """Mean Goertzel power over 0.5 s windows (a long window smears a tone that drifts)."""
    chunks = [samples[i : i + window] for i in range(0, len(samples) - window + 1, window)]
    return sum(goertzel(c, hz) for c in chunks) / max(1, len(chunks))


class Phones:
    """The test process's pjsua2 endpoint: a caller and agent phones on 127.0.0.1."""

    def __init__(self, workdir: Path) -> None:
        from pbxsim.sip.engine import PjThread

        self.workdir = workdir
        self.engine = PjThread("test-phones")
        self.pj = self.engine.pj
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.calls: dict[int, Any] = {}  #: pjsua2 Calls by CallView.key
        self.keep: list[Any] = []  #: pjsua2 objects to delete before the endpoint
        self.call_cls, self.acc_cls = _classes(self)

    def start(self) -> None:
        self.engine.start(lambda ep: None).result(15)
        self.engine.tick = self._tick

    def stop(self) -> None:
        self.engine.stop(self._teardown).result(15)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.engine.submit(fn, *args).result(10)

    def account(self, user: str, mode: str = "answer", answer_after: float = 1.0,
                hz: int = 620) -> tuple[Any, int]:  # fmt: skip
        """An account on its own UDP port: ``mode`` answer (after ``answer_after`` s) / busy / noanswer."""
        return self.run(self._account, user, mode, answer_after, hz)  # type: ignore[no-any-return]

    def call(self, acc: Any, uri: str, hz: int = 440, record: Path | None = None) -> CallView:
        """Call ``uri`` from ``acc``, playing a ``hz`` tone once answered (recording what is heard)."""
        view = CallView()
        self.run(self._call, acc, uri, hz, record, view)
        return view

    def dtmf(self, view: CallView, digits: str) -> None:
        """RFC 4733 digits (pjsua2's default DTMF method)."""
        self.run(lambda: self.calls[view.key].dialDtmf(digits))

    def hangup(self, view: CallView) -> None:
        self.run(lambda: self.calls[view.key].hangup(self.pj.CallOpParam()))

    # -- in the pjsua2 thread ---------------------------------------------------------
    def _account(self, user: str, mode: str, answer_after: float, hz: int) -> tuple[Any, int]:
        pj, ep = self.pj, self.engine.ep
        tc = pj.TransportConfig()
        tc.port = 0
        tc.boundAddress = tc.publicAddress = "127.0.0.1"
        tid = ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tc)
        port = int(ep.transportGetInfo(tid).localName.rpartition(":")[2])
        cfg = pj.AccountConfig()
        cfg.idUri = f"sip:{user}@127.0.0.1:{port}"
        cfg.sipConfig.transportId = tid
        cfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        cfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
        acc = self.acc_cls(self, mode, answer_after, hz)
        acc.create(cfg)
        self.keep.append(acc)
        return acc, port

    def _call(self, acc: Any, uri: str, hz: int, record: Path | None, view: CallView) -> None:
        call = self.call_cls(self, acc, self.pj.PJSUA_INVALID_ID, view, hz, record)
        view.key = len(self.calls) + 1
        self.calls[view.key] = call
        call.makeCall(uri, self.pj.CallOpParam(True))

    def _tick(self) -> None:
        now = time.monotonic()
        due = [t for t in self.timers if t[0] <= now]
        for t in due:
            self.timers.remove(t)
            t[1]()

    def _teardown(self) -> None:
        self.engine.ep.hangupAllCalls()
        self.engine.pump(1.0)
        self.calls.clear()  # Calls, players, recorders, accounts: before libDestroy
        self.keep.clear()


def _classes(phones: Phones) -> tuple[type, type]:
    pj = phones.pj

    class TestCall(pj.Call):  # type: ignore[misc, name-defined]
        def __init__(self, ph: Phones, acc: Any, cid: int, view: CallView, hz: int,
                     record: Path | None) -> None:  # fmt: skip
            super().__init__(acc, cid)
            self.ph, self.view, self.hz, self.record = ph, view, hz, record
            self.media: list[Any] = []

        def onCallState(self, prm: Any) -> None:
            ci = self.getInfo()
            self.view.states.append(ci.stateText)
            self.view.codes.append(ci.lastStatusCode)
            if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
                self.view.confirmed.set()
            elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.media.clear()
                self.view.ended.set()

        def onCallMediaState(self, prm: Any) -> None:
            info = self.getInfo()  # keep it alive: ``media`` points into it (SWIG)
            for mi in info.media:
                if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                    am = self.getAudioMedia(mi.index)
                    player = pj.AudioMediaPlayer()
                    player.createPlayer(
                        str(tone_wav(self.ph.workdir / f"tone{self.hz}.wav", self.hz))
                    )
                    player.startTransmit(am)
                    self.media.append(player)
                    if self.record is not None:
                        rec = pj.AudioMediaRecorder()
                        rec.createRecorder(str(self.record))
                        am.startTransmit(rec)
                        self.media.append(rec)
                    return

        def onDtmfEvent(self, prm: Any) -> None:
            if prm.flags & 2:
                self.view.digits.append(prm.digit)

    class TestAccount(pj.Account):  # type: ignore[misc, name-defined]
        def __init__(self, ph: Phones, mode: str, answer_after: float, hz: int) -> None:
            super().__init__()
            self.ph, self.mode, self.answer_after, self.hz = ph, mode, answer_after, hz
            self.views: list[CallView] = []

        def onIncomingCall(self, prm: Any) -> None:
            view = CallView()
            call = TestCall(self.ph, self, prm.callId, view, self.hz, None)
            view.key = len(self.ph.calls) + 1
            self.ph.calls[view.key] = call
            self.views.append(view)
            op = pj.CallOpParam()
            op.statusCode = 486 if self.mode == "busy" else 180
            call.answer(op)
            if self.mode == "answer":

                def pick_up() -> None:
                    if not view.ended.is_set():
                        ok = pj.CallOpParam()
                        ok.statusCode = 200
                        call.answer(ok)

                self.ph.timers.append((time.monotonic() + self.answer_after, pick_up))

    return TestCall, TestAccount


@contextlib.asynccontextmanager
async def pbxsim_sip(tmp_path: Path, *extra: str) -> AsyncIterator[tuple[int, int]]:
    """``python -m pbxsim --port 0 --sip 127.0.0.1:0``: yields (AMI port, SIP port)."""
    log = (tmp_path / "pbxsim.stderr").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pbxsim", "--port", "0", "--sip", "127.0.0.1:0",
        "--spool", str(tmp_path / "spool"), *extra,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=log,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        async with asyncio.timeout(20):
            first = (await proc.stdout.readline()).decode()
            second = (await proc.stdout.readline()).decode()
        m1 = re.fullmatch(r"pbxsim listening on 127\.0\.0\.1:(\d+)\n", first)
        m2 = re.fullmatch(r"pbxsim sip on 127\.0\.0\.1:(\d+)\n", second)
        err = (tmp_path / "pbxsim.stderr").read_text(errors="replace")
        assert m1 and m2, (first, second, err)
        yield int(m1.group(1)), int(m2.group(1))
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(15):
                    await proc.wait()
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()
    # Reached when the test body passed: pbxsim must also have shut down cleanly
    # (a pjsua2 assertion at teardown would abort it with SIGABRT).
    err = (tmp_path / "pbxsim.stderr").read_text(errors="replace")
    assert proc.returncode == 0, (proc.returncode, err)
    assert "Traceback" not in err and "Assertion" not in err, err
