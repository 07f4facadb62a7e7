"""What the client is waiting for, and how answers find their waiter.

Pure bookkeeping (no socket, no loop calls besides resolving futures):

- :class:`PendingAction`: one action in flight, keyed by its ActionID. A
  response with ``EventList: start`` turns it into a list collection that
  gathers every event carrying the same ActionID until the one with
  ``EventList: Complete`` (where the ActionID sits in the event varies:
  second in ``CoreShowChannel``, last in ``Status``; README of the
  transcripts). The result is an :class:`ActionResult`.
- :class:`AgiWaiters`: AGI commands waiting for their ``AsyncAGIExec``,
  matched on ``CommandId`` (lower-case *d* on the event; never on
  ``AGIExecStart``/``AGIExecEnd``, whose CommandId is Asterisk's own number).
- :class:`OriginateWaiters`: async Originates waiting for their
  ``OriginateResponse``, matched on ActionID (third header there).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from .errors import AgiHangup
from .message import Event, Response

_T_contra = TypeVar("_T_contra", contravariant=True)


class Outcome(Protocol[_T_contra]):
    """What a waiter resolves: an :class:`asyncio.Future`, or anything that takes a
    result or an error the same way (``calls.AgiInFlight``: no future per AGI command)."""

    def done(self) -> bool: ...

    def set_result(self, result: _T_contra, /) -> None: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The answer to an action whose response opened an EventList."""

    #: the ``Response: Success`` with ``EventList: start``
    response: Response
    #: the list items, in wire order (the closing event excluded)
    events: list[Event] = field(default_factory=list)
    #: the ``<X>Complete`` event (``EventList: Complete``); None when the
    #: response did not open a list (see ``AMIClient.send_list_action``)
    complete: Event | None = None

    @property
    def ok(self) -> bool:
        return self.response.ok


class PendingAction:
    """One action awaiting its response (and, for lists, its events)."""

    __slots__ = ("name", "action_id", "future", "response", "events")

    def __init__(self, name: str, action_id: str, future: Outcome[Response | ActionResult]) -> None:
        self.name = name
        self.action_id = action_id
        self.future = future
        self.response: Response | None = None
        self.events: list[Event] = []

    @property
    def collecting(self) -> bool:
        return self.response is not None

    def on_response(self, response: Response) -> bool:
        """Take the response; True if it opened a list (keep collecting)."""
        if self.future.done():
            return False
        if response.ok and response.is_list_start:
            self.response = response
            return True
        self.future.set_result(response)
        return False

    def on_list_event(self, event: Event) -> bool:
        """Take one event of the list; True when the list is complete."""
        if event.is_list_complete:
            assert self.response is not None
            if not self.future.done():
                self.future.set_result(ActionResult(self.response, self.events, event))
            return True
        self.events.append(event)
        return False


#: Actions that answer with an EventList in Asterisk 22 (lower-case). With a
#: finite event subscription the client turns the codec's filter off *before*
#: sending one of these: the codec classifies a whole read at once, so items
#: that arrive in the same read as the response would be gone by the time the
#: response says ``EventList: start``. Other actions: ``expect_list=True``.
LIST_ACTIONS: Final = frozenset(
    name.lower()
    for name in (
        "Agents", "BridgeInfo", "BridgeList", "BridgeTechnologyList", "ConfbridgeList",
        "ConfbridgeListRooms", "CoreShowChannelMap", "CoreShowChannels", "DAHDIShowChannels",
        "DBGet", "DBGetTree", "DeviceStateList", "ExtensionStateList", "FAXSessions",
        "IAXpeerlist", "IAXpeers", "MeetmeList", "MeetmeListRooms", "ParkedCalls",
        "Parkinglots", "PJSIPShowAors", "PJSIPShowAuths", "PJSIPShowContacts",
        "PJSIPShowEndpoint", "PJSIPShowEndpoints", "PJSIPShowRegistrationsInbound",
        "PJSIPShowRegistrationsOutbound", "PJSIPShowResourceLists",
        "PJSIPShowSubscriptionsInbound", "PJSIPShowSubscriptionsOutbound", "PresenceStateList",
        "QueueStatus", "QueueSummary", "ShowDialPlan", "Status", "VoicemailUsersList",
    )
)  # fmt: skip


def answers_with_list(name: str, channel: str | None) -> bool:
    """Whether action ``name`` (with its ``Channel`` field) answers with an EventList.

    ``Hangup`` does when its Channel is a ``/regex/`` (transcript 06).
    """
    key = name.lower()
    if key in LIST_ACTIONS:
        return True
    return key == "hangup" and channel is not None and channel.startswith("/")


#: the events that resolve or end an AGI command
AGI_EVENTS: Final = frozenset({"AsyncAGIExec", "AsyncAGIEnd", "Hangup"})


class _AgiWaiter:
    __slots__ = ("channel", "command", "future")

    def __init__(self, channel: str, command: str, future: Outcome[Event]) -> None:
        self.channel = channel
        self.command = command
        self.future = future


class AgiWaiters:
    """AGI commands in flight, by CommandID and by channel."""

    def __init__(self) -> None:
        self._by_id: dict[str, _AgiWaiter] = {}
        self._by_channel: dict[str, set[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, command_id: object) -> bool:
        return command_id in self._by_id

    def add(self, channel: str, command: str, command_id: str, future: Outcome[Event]) -> None:
        if command_id in self._by_id:
            raise ValueError(f"AGI CommandID {command_id!r} is already waiting for a result")
        self._by_id[command_id] = _AgiWaiter(channel, command, future)
        self._by_channel.setdefault(channel, set()).add(command_id)

    def remove(self, command_id: str) -> None:
        w = self._by_id.pop(command_id, None)
        if w is None:
            return
        ids = self._by_channel.get(w.channel)
        if ids is not None:
            ids.discard(command_id)
            if not ids:
                del self._by_channel[w.channel]

    def feed(self, event: Event) -> None:
        """Resolve on ``AsyncAGIExec``; fail the channel's commands on Hangup/AsyncAGIEnd."""
        if event.name == "AsyncAGIExec":
            cid = event.peek("CommandId")  # read for two headers: not decoded whole
            w = self._by_id.get(cid) if cid is not None else None
            if w is not None and not w.future.done():
                w.future.set_result(event)
            return
        channel = event.get("Channel")
        ids = self._by_channel.get(channel) if channel is not None else None
        if not ids:
            return
        if event.name == "Hangup":
            why = f"the channel hung up (Cause {event.get('Cause')} {event.get('Cause-txt')})"
        else:
            why = "the channel left AsyncAGI (AsyncAGIEnd)"
        for cid in list(ids):
            w = self._by_id[cid]
            if not w.future.done():
                w.future.set_exception(
                    AgiHangup(
                        f"AGI {w.command!r} on {channel} (CommandID {cid}): {why} "
                        "before the result came back",
                        channel=w.channel,
                        command=w.command,
                        event=event,
                    )
                )

    def fail_all(self, exc: BaseException) -> None:
        for w in list(self._by_id.values()):  # a waiter may remove itself when failed
            if not w.future.done():
                w.future.set_exception(exc)


class OriginateWaiters:
    """Async Originates waiting for their ``OriginateResponse``, by ActionID."""

    def __init__(self) -> None:
        self._by_id: dict[str, asyncio.Future[Event]] = {}

    def __bool__(self) -> bool:
        return bool(self._by_id)

    def add(self, action_id: str, future: asyncio.Future[Event]) -> None:
        self._by_id[action_id] = future

    def remove(self, action_id: str) -> None:
        self._by_id.pop(action_id, None)

    def feed(self, event: Event) -> None:
        aid = event.get("ActionID")
        fut = self._by_id.get(aid) if aid is not None else None
        if fut is not None and not fut.done():
            fut.set_result(event)

    def fail_all(self, exc: BaseException) -> None:
        for fut in self._by_id.values():
            if not fut.done():
                fut.set_exception(exc)


def settle(future: asyncio.Future[Any]) -> None:
    """Cancel a future nobody will await, or mark its exception as retrieved."""
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()
