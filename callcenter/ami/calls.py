"""AsyncAGI commands and async Originates over an :class:`.AMISession`.

Both are an action plus a later event matched to it (:mod:`.waiters`):

- ``agi()``: ``Action: AGI`` is acknowledged at once (``Added AGI command to
  queue``); the result comes later as ``AsyncAGIExec`` whose ``CommandId``
  (lower-case *d*) echoes ours (transcript 02). The waiter is registered
  before the action is written, so a result that overtakes the response is
  not lost.
- ``originate()``: with ``Async: true`` the response only says the call was
  queued; ``OriginateResponse`` (ActionID third) says how it went.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

from .agi import AgiResult, parse_agi_result
from .codec import Fields, FieldValue, encode_action
from .errors import ActionError, ActionTimeout, AgiHangup, AMIError, LocalProtocolError
from .message import Event, Response
from .session import AMISession
from .waiters import PendingAction, settle

#: how an AGI command sent by :meth:`CallSession.agi_soon` ends: its result, or the
#: error :meth:`CallSession.agi` would raise
AgiDone = Callable[[AgiResult | None, AMIError | None], None]


class CallSession(AMISession):
    """An :class:`.AMISession` with the two call helpers the hotline lives on."""

    #: default limit for one AGI command's result (a prompt can be long)
    agi_timeout: float = 600.0
    #: makes a CommandID for an AGI command
    _command_id: Callable[[str], str]

    async def agi(
        self,
        channel: str,
        command: str,
        *,
        command_id: str | None = None,
        timeout: float | None = None,
    ) -> AgiResult:
        """Run one AGI command on a channel parked in AsyncAGI; return its result.

        Sends ``Action: AGI`` (``Channel``, ``Command``, ``CommandID``) and
        waits for the ``AsyncAGIExec`` whose ``CommandId`` is ours. An error
        response (no such channel, not in AsyncAGI: transcript 08) raises
        :class:`ActionError`; a ``Hangup`` or ``AsyncAGIEnd`` of the channel
        first raises :class:`AgiHangup`; no result within ``timeout``
        (default ``agi_timeout``: a prompt can be long) raises
        :class:`ActionTimeout`. A 5xx AGI code is returned, not raised:
        check ``result.ok``. The awaitable form of :meth:`agi_soon`.
        """
        future: asyncio.Future[AgiResult] = asyncio.get_running_loop().create_future()

        def done(result: AgiResult | None, error: AMIError | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        sent = self.agi_soon(channel, command, done, command_id=command_id, timeout=timeout)
        try:
            return await future
        finally:
            sent.cancel()  # nothing once it ended; a cancelled agi() stops waiting

    def agi_soon(
        self,
        channel: str,
        command: str,
        done: AgiDone,
        *,
        command_id: str | None = None,
        timeout: float | None = None,
    ) -> AgiInFlight:
        """Send one AGI command; ``done(result, None)`` or ``done(None, error)`` later.

        What :meth:`agi` does, without a task, futures or ``asyncio.timeout``
        (the controller sends six per call): the response and the
        ``AsyncAGIExec`` are taken by callbacks, one timer handle bounds the
        wait, and ``done`` is called on a later turn of the loop (as an
        awaiting task would resume), with the error :meth:`agi` would raise.
        Raises :class:`AMIConnectionError` at once when not connected.
        """
        link = self._require_link()
        self._check_gate("AGI")
        cid = command_id if command_id is not None else self._command_id(command)
        aid = self._action_id("AGI")
        if aid in self._pending:
            raise LocalProtocolError(f"ActionID {aid!r} is already in use by a pending action")
        if cid in self._agi:
            raise ValueError(f"AGI CommandID {cid!r} is already waiting for a result")
        data = encode_action("AGI", {"Channel": channel, "Command": command, "CommandID": cid}, aid)
        limit = self.agi_timeout if timeout is None else timeout
        sent = AgiInFlight(self, channel, command, cid, aid, limit, done)
        self._agi.add(channel, command, cid, sent)  # before sending: no race
        self._pending[aid] = PendingAction("AGI", aid, sent)
        self._update_subscription()
        link.write(data)
        return sent

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int | str | None = None,
        application: str | None = None,
        data: str | None = None,
        caller_id: str | None = None,
        dial_timeout: float | None = None,
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        extra: Mapping[str, FieldValue] | None = None,
        timeout: float | None = None,
    ) -> Event:
        """Originate asynchronously and return its ``OriginateResponse`` event.

        Give ``context``/``exten`` (``priority`` defaults to 1) or
        ``application``/``data``. ``dial_timeout`` is in seconds (sent as
        ``Timeout`` in ms). The event says ``Response: Success`` or
        ``Failure`` with ``Reason`` 4 answered, 5 busy, 3 no answer, 0 failed
        (transcripts 03, 08): a failure is returned, not raised. A
        synchronous rejection (``Extension does not exist.``) raises
        :class:`ActionError`. The wait is bounded by ``timeout`` (default:
        the dial timeout, 30 s if none, plus ``action_timeout``).
        """
        if (context is None) == (application is None):
            raise ValueError("originate needs either context/exten or application")
        fields: list[tuple[str, FieldValue]] = [("Channel", channel)]
        if context is not None:
            fields += [("Context", context), ("Exten", exten or "s")]
            fields.append(("Priority", str(1 if priority is None else priority)))
        else:
            fields.append(("Application", application or ""))
            if data is not None:
                fields.append(("Data", data))
        if caller_id is not None:
            fields.append(("CallerID", caller_id))
        if dial_timeout is not None:
            fields.append(("Timeout", str(round(dial_timeout * 1000))))
        fields.append(("Async", "true"))
        if variables:
            fields.append(("Variable", [f"{k}={v}" for k, v in variables.items()]))
        if channel_id is not None:
            fields.append(("ChannelId", channel_id))
        if other_channel_id is not None:
            fields.append(("OtherChannelId", other_channel_id))
        if extra:
            fields += list(extra.items())
        link = self._require_link()
        aid = self._action_id("Originate")
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._originates.add(aid, future)
        self._update_subscription()
        limit = timeout
        if limit is None:
            limit = (30.0 if dial_timeout is None else dial_timeout) + self.action_timeout
        try:
            await self._request(link, "Originate", _fields(fields), action_id=aid)
            async with asyncio.timeout(limit):
                return await future
        except TimeoutError:
            raise ActionTimeout(
                f"Originate {channel} (ActionID {aid}) got no OriginateResponse from "
                f"{self.where} within {limit:g} s",
                action="Originate",
                timeout=limit,
            ) from None
        finally:
            self._originates.remove(aid)
            self._update_subscription()
            settle(future)


def _fields(pairs: list[tuple[str, FieldValue]]) -> Fields:
    # encode_action repeats a header for a list value (Variable: a=1, b=2)
    return pairs  # type: ignore[return-value]


class AgiInFlight:
    """One AGI command sent by :meth:`CallSession.agi_soon`, until it ends.

    It stands where :meth:`CallSession.agi` had two futures: the response's (for
    ``PendingAction``) and the ``AsyncAGIExec``'s (for ``AgiWaiters``); both
    hand it what they get, in either order. It ends when the response came and
    the result or the channel's end did: an error response wins over a
    ``Hangup`` seen before it, as in :meth:`CallSession.agi`. One timer handle,
    re-armed once: the response within ``action_timeout`` (or ``limit`` if
    shorter), the result within ``limit`` of the start.
    """

    __slots__ = ("_session", "_channel", "_command", "_cid", "_aid", "_limit", "_done",
                 "_started", "_response", "_event", "_error", "_timer", "_over")  # fmt: skip

    def __init__(
        self,
        session: CallSession,
        channel: str,
        command: str,
        command_id: str,
        action_id: str,
        limit: float,
        done: AgiDone,
    ) -> None:
        self._session = session
        self._channel = channel
        self._command = command
        self._cid = command_id
        self._aid = action_id
        self._limit = limit
        self._done = done
        self._response: Response | None = None
        self._event: Event | None = None
        self._error: AMIError | None = None
        self._over = False
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._timer: asyncio.TimerHandle | None = loop.call_at(
            self._started + min(session.action_timeout, limit), self._expired
        )

    # -- what PendingAction and AgiWaiters call (the future's interface they use) ------
    def done(self) -> bool:
        return self._over

    def set_result(self, message: object) -> None:
        if self._over:
            return
        if isinstance(message, Response):
            self._response = message
            if not message.ok:
                self._end(None, ActionError("AGI", message.message or message.name, message))
            elif self._error is not None:
                self._end(None, self._error)
            elif self._event is not None:
                self._end(self._event, None)
        elif isinstance(message, Event):
            self._event = message
            if self._response is not None:
                self._end(message, None)

    def set_exception(self, error: BaseException) -> None:
        if self._over:
            return
        assert isinstance(error, AMIError)
        if isinstance(error, AgiHangup) and self._response is None:
            self._error = error  # the response may still say the command was refused
        else:
            self._end(None, error)

    def cancel(self) -> None:
        """Stop waiting; ``done`` is not called (nothing once it ended)."""
        if not self._over:
            self._finish()

    # -- ending --------------------------------------------------------------------
    def _expired(self) -> None:
        self._timer = None
        if self._over:
            return
        session = self._session
        if self._response is None and session.action_timeout < self._limit:
            self._end(None, ActionTimeout(
                f"AGI (ActionID {self._aid}) got no answer from AMI at {session.where} "
                f"within {session.action_timeout:g} s",
                action="AGI", timeout=session.action_timeout,
            ))  # fmt: skip
            return
        deadline = self._started + self._limit
        loop = asyncio.get_running_loop()
        if self._response is not None and loop.time() < deadline:
            self._timer = loop.call_at(deadline, self._expired)
            return
        self._end(None, ActionTimeout(
            f"AGI {self._command!r} on {self._channel} (CommandID {self._cid}) got no "
            f"AsyncAGIExec from {session.where} within {self._limit:g} s",
            action="AGI", timeout=self._limit,
        ))  # fmt: skip

    def _finish(self) -> None:
        self._over = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        session = self._session
        session._pending.pop(self._aid, None)
        session._agi.remove(self._cid)
        session._update_subscription()

    def _end(self, event: Event | None, error: AMIError | None) -> None:
        self._finish()
        result = None if event is None else parse_agi_result(event.peek("Result") or "")
        asyncio.get_running_loop().call_soon(self._done, result, error)
