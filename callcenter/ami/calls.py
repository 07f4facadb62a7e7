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
from .codec import Fields, FieldValue
from .errors import ActionTimeout
from .message import Event
from .session import AMISession
from .waiters import settle


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
        check ``result.ok``.
        """
        link = self._require_link()
        cid = command_id if command_id is not None else self._command_id(command)
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._agi.add(channel, command, cid, future)  # before sending: no race
        self._update_subscription()
        limit = self.agi_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                await self._request(
                    link, "AGI", {"Channel": channel, "Command": command, "CommandID": cid}
                )
                event = await future
        except TimeoutError:
            raise ActionTimeout(
                f"AGI {command!r} on {channel} (CommandID {cid}) got no AsyncAGIExec from "
                f"{self.where} within {limit:g} s",
                action="AGI",
                timeout=limit,
            ) from None
        finally:
            self._agi.remove(cid)
            self._update_subscription()
            settle(future)
        return parse_agi_result(event.get("Result") or "")

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
