"""The asyncio AMI client: one per Asterisk node.

:class:`AMIClient` is an :class:`.AMISession` (actions, lists, events) with
the call helpers ``agi()`` and ``originate()`` (:mod:`.calls`) that also
owns its connection: it opens the :class:`.Link`, logs in (:mod:`.login`),
pings, reconnects and closes. The bytes are the sans-I/O codec's job.

Rules:

1. ``connect()`` raises at once on the first failure (refused, not AMI, bad
   login) and does not retry it.
2. Once connected, a lost link is an input: pending actions fail with
   :class:`AMIConnectionError`, the state goes ``DISCONNECTED`` and, with
   ``reconnect=True``, a background task retries with full-jitter backoff
   (:mod:`.backoff`), logs in again and calls the ``on_reconnect``
   callbacks: there the controller resyncs from ``CoreShowChannels``
   (transcript 12: callers stay parked in AsyncAGI across a controller
   restart).
3. A keepalive Ping unanswered within ``action_timeout`` drops the link (and
   so reconnects); a fatal protocol error (oversized frame) does too.
4. ``close()`` logs off, stops every task and ends every event stream.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

from .backoff import Backoff, RandomSource
from .calls import CallSession
from .codec import DEFAULT_MAX_FRAME, AMICodec
from .errors import (
    ActionTimeout,
    AMIConnectionError,
    AMIError,
    AuthenticationError,
    LocalProtocolError,
    NotAMIError,
    RemoteProtocolError,
)
from .link import Link
from .login import log_in
from .message import Response
from .state import ConnectionState
from .waiters import ActionResult

log = logging.getLogger("callcenter.ami.client")

ReconnectCallback = Callable[[], object]


class AMIClient(CallSession):
    """An AMI session to one Asterisk node that survives restarts of either side.

    ``action_id``/``command_id`` are injectable id generators (given the
    action name / the AGI command); by default ``<name>-<n>`` and
    ``<name>-agi-<n>``. ``rng`` (anything with ``random()``) draws the
    reconnect jitter; ``clock`` times the keepalive Ping.
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        auth: Literal["plain", "md5"] = "plain",
        name: str = "node1",
        action_timeout: float = 10.0,
        ping_interval: float | None = 20.0,
        reconnect: bool = True,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        events: Iterable[str] | None = None,
        connect_timeout: float = 5.0,
        rng: RandomSource | None = None,
        clock: Callable[[], float] | None = None,
        max_frame: int = DEFAULT_MAX_FRAME,
        agi_timeout: float = 600.0,
        action_id: Callable[[str], str] | None = None,
        command_id: Callable[[str], str] | None = None,
    ) -> None:
        if auth not in ("plain", "md5"):
            raise ValueError(f"auth must be 'plain' or 'md5', not {auth!r}")
        super().__init__(
            host,
            port,
            name=name,
            action_timeout=action_timeout,
            events=events,
            clock=clock,
            action_id=action_id,
        )
        self.username = username
        self._secret = secret
        self.auth = auth
        self.ping_interval = ping_interval
        self.reconnect = reconnect
        self.connect_timeout = connect_timeout
        self.agi_timeout = agi_timeout
        self.max_frame = max_frame
        self.backoff = Backoff(backoff_initial, backoff_max, rng)
        agi_counter = itertools.count(1)
        self._command_id = command_id or (lambda _cmd: f"{name}-agi-{next(agi_counter)}")

        #: successful reconnects since the client was made
        self.reconnects = 0
        #: the error of the last failed (re)connect attempt
        self.last_error: BaseException | None = None
        #: the last reconnect delays drawn (seconds), newest last
        self.recent_backoffs: deque[float] = deque(maxlen=32)
        #: round-trip time of the last keepalive Ping (seconds)
        self.last_ping_rtt: float | None = None
        #: the banner of the current (or last) connection
        self.banner: str | None = None

        self._reconnect_callbacks: list[ReconnectCallback] = []
        self._ping_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._close_task: asyncio.Task[None] | None = None
        self._bg_tasks: set[asyncio.Task[Any]] = set()
        self._connect_lock = asyncio.Lock()
        self._closing = False

    def on_reconnect(self, callback: ReconnectCallback) -> Callable[[], None]:
        """Call ``callback()`` after each successful reconnect and re-login.

        A coroutine function is run as a task, so it can send actions (the
        reader is already running): the place to resync from CoreShowChannels.
        """
        self._reconnect_callbacks.append(callback)
        return lambda: self._reconnect_callbacks.remove(callback)

    # -- connecting -------------------------------------------------------------

    async def connect(self) -> None:
        """Open the link, check the banner and log in; raise if any of it fails.

        Raises :class:`AMIConnectionError` (refused, unreachable, timed out,
        closed early), :class:`NotAMIError` (the peer is not an Asterisk
        manager port) or :class:`AuthenticationError`. Returns at once if
        already connected; waits for the background reconnect if one runs.
        """
        if self._machine.state is ConnectionState.CLOSED:
            raise self._closed_error()
        if self._reconnect_task is not None and not self._reconnect_task.done():
            await self.wait_connected()
            return
        async with self._connect_lock:
            if self.connected:
                return
            await self._establish()

    async def _establish(self) -> None:
        self._set_state(ConnectionState.CONNECTING)
        link: Link | None = None
        try:
            codec = AMICodec(events=self._codec_wanted, max_frame=self.max_frame)
            link = await Link.open(
                self.host,
                self.port,
                codec=codec,
                connect_timeout=self.connect_timeout,
                on_messages=self._on_messages,
                on_protocol_error=self._on_protocol_error,
                on_lost=self._on_link_lost,
                gate=self._gate_open,
            )
            self._link = link
            self.banner = link.banner.result()
            await self._log_in(link)
            if link.closed:
                raise AMIConnectionError(
                    f"AMI link to {self.where} dropped right after login: {link.lost_reason}",
                    host=self.host,
                    port=self.port,
                )
        except NotAMIError as e:
            self._connect_failed(link)
            reason = e.reason.removeprefix("peer is not Asterisk AMI: ")
            raise NotAMIError(
                f"{self.where} is not an Asterisk Manager Interface (wrong port? AMI listens "
                f"on 5038 by default): {reason}",
                e.offset,
                fatal=True,
            ) from None
        except BaseException:
            self._connect_failed(link)
            raise
        self._set_state(ConnectionState.CONNECTED)
        if self.ping_interval:
            self._ping_task = asyncio.create_task(
                self._keepalive(link, self.ping_interval), name=f"ami-ping-{self.name}"
            )

    def _gate_open(self) -> bool:
        return self.may_act is None or self.may_act()

    async def _log_in(self, link: Link) -> None:
        async def request(action: str, fields: Mapping[str, str]) -> Response:
            resp = await self._request(link, action, fields, check=False)
            return resp.response if isinstance(resp, ActionResult) else resp

        try:
            await log_in(
                request,
                username=self.username,
                secret=self._secret,
                auth=self.auth,
                where=self.where,
            )
        except AuthenticationError:
            # Asterisk closes the socket after a failed login (08-errors.badlogin).
            link.abort("login failed")
            await link.wait_closed()
            raise

    def _connect_failed(self, link: Link | None) -> None:
        if link is not None:
            link.abort("connect failed")
        if self._link is link:
            self._link = None
        if self._machine.state is ConnectionState.CONNECTING:
            self._set_state(ConnectionState.DISCONNECTED)

    # -- losing the link and getting it back ------------------------------------

    def _on_link_lost(self, link: Link, reason: str, error: BaseException | None) -> None:
        if link is not self._link:
            return
        self._link = None
        if self._ping_task is not None:
            self._ping_task.cancel()
            self._ping_task = None
        was_connected = self._machine.state is ConnectionState.CONNECTED
        if was_connected and not self._closing:
            log.warning("AMI %s (%s): link lost: %s", self.name, self.where, reason)
        self._fail_waiters(
            lambda what: AMIConnectionError(
                f"connection to AMI at {self.where} lost while waiting for {what}: {reason}",
                host=self.host,
                port=self.port,
            )
        )
        if was_connected and not self._closing:
            self._set_state(ConnectionState.DISCONNECTED)
            if self.reconnect:
                self._reconnect_task = asyncio.create_task(
                    self._reconnect_loop(), name=f"ami-reconnect-{self.name}"
                )

    async def _reconnect_loop(self) -> None:
        attempt = 0
        while not self._closing:
            delay = self.backoff.delay(attempt)
            self.recent_backoffs.append(delay)
            log.info("AMI %s: reconnecting to %s in %.3f s", self.name, self.where, delay)
            await asyncio.sleep(delay)
            attempt += 1
            try:
                async with self._connect_lock:
                    await self._establish()
            except (AMIError, RemoteProtocolError) as e:
                self.last_error = e
                log.warning("AMI %s: reconnect attempt %d failed: %s", self.name, attempt, e)
                continue
            except Exception as e:  # a bug must not end reconnecting for good
                self.last_error = e
                log.exception("AMI %s: reconnect attempt %d failed", self.name, attempt)
                continue
            self.reconnects += 1
            self._run_reconnect_callbacks()
            return

    def _run_reconnect_callbacks(self) -> None:
        for cb in tuple(self._reconnect_callbacks):
            try:
                result = cb()
            except Exception:
                log.exception("AMI %s: on_reconnect callback %r failed", self.name, cb)
                continue
            if isinstance(result, Awaitable):
                self._spawn(result, f"on_reconnect callback {cb!r}")

    def _spawn(self, awaitable: Awaitable[Any], what: str) -> None:
        async def run() -> None:
            try:
                await awaitable
            except Exception:
                log.exception("AMI %s: %s failed", self.name, what)

        task = asyncio.create_task(run())
        self._bg_tasks.add(task)
        task.add_done_callback(self._bg_tasks.discard)

    async def _keepalive(self, link: Link, interval: float) -> None:
        """Ping every ``interval``; an unanswered Ping drops the link (reconnect follows)."""
        now = self._clock or asyncio.get_running_loop().time
        while True:
            await asyncio.sleep(interval)
            if link is not self._link:
                return
            started = now()
            try:
                await self._request(link, "Ping", None)
            except ActionTimeout:
                log.warning(
                    "AMI %s: keepalive Ping unanswered for %g s; dropping the link",
                    self.name,
                    self.action_timeout,
                )
                link.abort(f"keepalive Ping got no answer within {self.action_timeout:g} s")
                return
            except AMIError:
                return
            self.last_ping_rtt = now() - started

    # -- closing ----------------------------------------------------------------------

    async def close(self) -> None:
        """Log off if connected, stop every task, close the socket. Idempotent."""
        if self._close_task is None:
            self._close_task = asyncio.ensure_future(self._close())
        await asyncio.shield(self._close_task)

    async def _close(self) -> None:
        self._closing = True
        for task in (self._reconnect_task, self._ping_task):
            if task is not None and task is not asyncio.current_task():
                task.cancel()
                try:
                    await task
                except (asyncio.CancelledError, Exception):
                    pass
        link = self._link
        if link is not None and self.connected:
            try:
                await self._request(
                    link, "Logoff", None, timeout=min(self.action_timeout, 2.0), check=False
                )
            except (AMIError, LocalProtocolError) as e:
                log.debug("AMI %s: Logoff failed: %s", self.name, e)
        if link is not None:
            await link.cancel()
        self._link = None
        self._fail_waiters(lambda what: self._closed_error())
        for task in list(self._bg_tasks):
            task.cancel()
        self._set_state(ConnectionState.CLOSED)
        self._dispatcher.close()

    async def __aenter__(self) -> AMIClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<AMIClient {self.name} {self.where} {self._machine.state.name}>"
