"""The pjsua2 thread: the process's one ``pj.Endpoint``, created, polled and destroyed there.

Rules (from the pjsua2 book and what pjproject 2.15.1 does):

1. Only this thread touches pjsua2. Others hand it work with :meth:`PjThread.submit`
   (a thread-safe queue drained between ``libHandleEvents`` polls) and get a
   ``concurrent.futures.Future`` back; no pjsua2 object leaves the thread.
2. ``uaConfig.threadCnt = 0``, ``medConfig.threadCnt = 0``, ``mainThreadOnly = True``:
   pjsua runs no SIP or RTP worker of its own, and callbacks raised in its
   internal threads (the conference clock) are posted to the thread that
   called ``libCreate``, this one. So every callback runs here, inside
   ``libHandleEvents``, and is passed on to asyncio by the owner with
   ``loop.call_soon_threadsafe``. Nothing else calls pjsua2, so no other
   thread needs ``libRegisterThread``.
3. ``setNullDev()`` (no sound card) and ``sndAutoCloseTime = -1``: the null
   device drives the conference clock; were it auto-closed when idle, a
   recorder removed from the bridge would never be closed and its WAV header
   never written (seen with 2.15.1).
4. Clock rate 8000 Hz, mono: recorders write 8 kHz 16-bit mono WAV, what
   MixMonitor writes (transcript 04).
5. Shutdown runs the owner's ``teardown`` here (Calls, players and recorders
   deleted first: pjsua2 asserts when a Call outlives the endpoint), then
   ``libDestroy``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("pbxsim.sip")

POLL_MS = 10


class SipUnavailable(RuntimeError):
    """pjsua2 cannot be used here (not installed, or an endpoint already runs)."""


def import_pjsua2() -> Any:
    """The ``pjsua2`` module, or :class:`SipUnavailable` with what to install."""
    try:
        import pjsua2
    except ImportError as exc:
        raise SipUnavailable(
            f"pjsua2 is not importable ({exc}); install the wheel: pip install 'pjsua2-python>=2.15'"
        ) from exc
    return pjsua2


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """pjlib logs to fd 1 before ``libInit`` sets the level; keep stdout for our own lines."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class PjThread:
    """One thread owning one ``pj.Endpoint``; at most one per process."""

    _claimed = threading.Lock()

    def __init__(self, name: str = "pjsua2", log_level: int = 0) -> None:
        self.name = name
        self.log_level = log_level
        self.pj = import_pjsua2()
        self.ep: Any = None
        self.tick: Callable[[], None] | None = None  #: called after every poll, in the thread
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Any]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._running = False
        self._teardown: Callable[[], None] | None = None
        self._stopped: concurrent.futures.Future[None] = concurrent.futures.Future()

    # -- any thread -------------------------------------------------------------
    def start(self, setup: Callable[[Any], Any]) -> concurrent.futures.Future[Any]:
        """Create the endpoint in a new thread, run ``setup(ep)`` there, then ``libStart``."""
        if not PjThread._claimed.acquire(blocking=False):
            raise SipUnavailable("a pjsua2 endpoint already runs in this process (one per process)")
        started: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=self._run, args=(setup, started), name=self.name, daemon=True
        )
        self._thread.start()
        return started

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn(*args)`` in the pjsua2 thread; its result or exception in the future."""
        fut: concurrent.futures.Future[Any] = concurrent.futures.Future()
        if not self._running:
            fut.set_exception(SipUnavailable("the pjsua2 thread is not running"))
            return fut
        self._jobs.put((fn, args, fut))
        return fut

    def stop(self, teardown: Callable[[], None] | None = None) -> concurrent.futures.Future[None]:
        """Run ``teardown`` in the thread, destroy the endpoint, end the thread."""
        if self._thread is None or not self._running:
            if not self._stopped.done():
                self._stopped.set_result(None)
            return self._stopped
        self._jobs.put((self._finish, (teardown,), None))
        return self._stopped

    @property
    def in_thread(self) -> bool:
        return threading.current_thread() is self._thread

    # -- the pjsua2 thread ----------------------------------------------------------
    def _run(self, setup: Callable[[Any], Any], started: concurrent.futures.Future[Any]) -> None:
        pj = self.pj
        try:
            ep = self.ep = pj.Endpoint()
            with _stdout_to_stderr():
                ep.libCreate()
            cfg = pj.EpConfig()
            cfg.uaConfig.threadCnt = 0
            cfg.uaConfig.mainThreadOnly = True
            # pjsua defaults to 4 calls; a hotline holds a caller and an agent leg each
            cfg.uaConfig.maxCalls = 32
            cfg.uaConfig.userAgent = "Asterisk PBX 22.10.1"
            cfg.medConfig.threadCnt = 0
            cfg.medConfig.clockRate = 8000
            cfg.medConfig.sndClockRate = 8000
            cfg.medConfig.channelCount = 1
            cfg.medConfig.sndAutoCloseTime = -1
            cfg.logConfig.level = self.log_level
            cfg.logConfig.consoleLevel = self.log_level
            ep.libInit(cfg)
            ep.audDevManager().setNullDev()
            result = setup(ep)
            ep.libStart()
        except BaseException as exc:  # handed to the starter
            self._destroy()
            PjThread._claimed.release()
            started.set_exception(exc)
            return
        self._running = True
        started.set_result(result)
        try:
            while self._running:
                ep.libHandleEvents(POLL_MS)
                self._drain()
                if self.tick is not None and self._running:
                    self._guard(self.tick)
        finally:
            self._running = False
            self._fail_pending()
            self._destroy()
            PjThread._claimed.release()
            if not self._stopped.done():
                self._stopped.set_result(None)

    def _drain(self) -> None:
        while self._running:
            try:
                fn, args, fut = self._jobs.get_nowait()
            except queue.Empty:
                return
            if fut is not None and not fut.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # handed to the caller
                if fut is None:
                    log.exception("pjsua2 job %r failed", fn)
                else:
                    fut.set_exception(exc)
            else:
                if fut is not None:
                    fut.set_result(result)

    def _finish(self, teardown: Callable[[], None] | None) -> None:
        if teardown is not None:
            self._guard(teardown)
        self._running = False

    def _fail_pending(self) -> None:
        while True:
            try:
                _, _, fut = self._jobs.get_nowait()
            except queue.Empty:
                return
            if fut is not None and fut.set_running_or_notify_cancel():
                fut.set_exception(SipUnavailable("the pjsua2 thread stopped"))

    def _destroy(self) -> None:
        ep, self.ep = self.ep, None
        if ep is None:
            return
        try:
            ep.libDestroy()
        except Exception:  # nothing more to do at shutdown
            log.exception("pjsua2 libDestroy failed")

    def pump(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """In the thread: handle events for up to ``seconds`` (sooner once ``until()``)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and not (until is not None and until()):
            self.ep.libHandleEvents(POLL_MS)

    @staticmethod
    def _guard(fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:  # a callback must not kill the thread
            log.exception("pjsua2 thread: %r failed", fn)
