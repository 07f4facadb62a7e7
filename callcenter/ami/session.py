"""One logged-in AMI session's machinery: actions, lists, routing, dispatch.

:class:`AMISession` matches responses to actions by ActionID, gathers
EventLists, feeds the AGI/Originate waiters (:mod:`.waiters`), hands events
to callbacks (:mod:`.dispatch`) and keeps the codec's event filter in step
with what anyone waits for. It does not open sockets: :class:`.AMIClient`
adds connecting, login, keepalive, reconnect and closing, and puts the
current :class:`.Link` in ``_link``.

Rules:

1. Actions are sent only while ``CONNECTED`` (the client logs in through
   ``_request`` directly); otherwise they fail at once.
2. ``events=None`` hands every event to the callbacks. A set of names makes
   the codec skip all others before decoding, plus the names that have an
   ``on_event`` callback and, for as long as it waits, whatever a pending
   ``agi()`` (AsyncAGIExec, AsyncAGIEnd, Hangup), ``originate()``
   (OriginateResponse) or list action (everything) needs.
3. List items go to their action's :class:`ActionResult`, not to callbacks.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping

from .codec import Fields, encode_action
from .dispatch import EventCallback, EventDispatcher, EventStream
from .errors import (
    ActionError,
    ActionTimeout,
    AMIConnectionError,
    AMIError,
    LocalProtocolError,
    NotLeader,
    RemoteProtocolError,
)
from .link import Link
from .message import Event, Message, Response
from .state import ConnectionState, ConnectionStateMachine, StateCallback
from .waiters import (
    AGI_EVENTS,
    ActionResult,
    AgiWaiters,
    OriginateWaiters,
    PendingAction,
    answers_with_list,
    settle,
)

log = logging.getLogger("callcenter.ami.client")


def _field(fields: Fields | None, name: str) -> str | None:
    """The first value of header ``name`` among an action's fields, if a string."""
    items: Iterable[tuple[str, object]]
    items = fields.items() if isinstance(fields, Mapping) else (fields or ())
    for key, value in items:
        if key.lower() == name.lower() and isinstance(value, str):
            return value
    return None


class AMISession:
    """Actions and events over the current link of one Asterisk node.

    ``action_id`` is an injectable id generator (given the action name); by
    default ``<name>-<n>`` with ``name`` the node's name and ``n`` counting up
    for the object's life, so a late answer from an old connection never
    matches a new action. ``clock`` (default: the loop's monotonic clock)
    times Pings.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str = "node1",
        action_timeout: float = 10.0,
        events: Iterable[str] | None = None,
        clock: Callable[[], float] | None = None,
        action_id: Callable[[str], str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.name = name
        self.action_timeout = action_timeout
        self._clock = clock
        counter = itertools.count(1)
        self._action_id = action_id or (lambda _action: f"{name}-{next(counter)}")
        #: frames the codec could not read (malformed or oversized)
        self.protocol_errors = 0

        self._machine = ConnectionStateMachine()
        self._dispatcher = EventDispatcher(f"AMI {name} ({self.where})")
        self._dispatcher.on_names_changed = self._update_subscription
        if isinstance(events, str):
            events = (events,)
        self._user_events: frozenset[str] | None = None if events is None else frozenset(events)
        self._dispatch_names: frozenset[str] | None = None
        self._codec_wanted: frozenset[str] | None = None
        self._subscription_key: tuple[object, ...] | None = None
        self._link: Link | None = None
        self._pending: dict[str, PendingAction] = {}
        #: the leader's gate (``callcenter.leader``): when it says False no action is sent,
        #: :class:`NotLeader` is raised instead; None: always send
        self.may_act: Callable[[], bool] | None = None
        self._collecting: dict[str, PendingAction] = {}
        self._expecting_lists: set[str] = set()
        self._agi = AgiWaiters()
        self._originates = OriginateWaiters()
        self._connected_event = asyncio.Event()
        self._update_subscription()

    # -- observable state -----------------------------------------------------

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def state(self) -> ConnectionState:
        return self._machine.state

    @property
    def connected(self) -> bool:
        return self._machine.state is ConnectionState.CONNECTED

    @property
    def callback_errors(self) -> int:
        """Event callbacks that raised (each logged, none stopped the reader)."""
        return self._dispatcher.callback_errors

    @property
    def skipped_events(self) -> int:
        """Events of the current connection dropped unread by the codec's filter."""
        return self._link.codec.skipped if self._link is not None else 0

    def on_state(self, callback: StateCallback) -> Callable[[], None]:
        """Call ``callback(new_state)`` on every state change; returns a remover."""
        self._machine.listeners.append(callback)
        return lambda: self._machine.listeners.remove(callback)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the client is CONNECTED (raises TimeoutError, or if closed)."""
        async with asyncio.timeout(timeout):
            while not self.connected:
                if self._machine.state is ConnectionState.CLOSED:
                    raise self._closed_error()
                self._connected_event.clear()
                await self._connected_event.wait()

    def _set_state(self, new: ConnectionState) -> None:
        if not self._machine.move(new):
            return
        log.info("AMI %s (%s): %s", self.name, self.where, new.name)
        if new is ConnectionState.CONNECTED or new is ConnectionState.CLOSED:
            self._connected_event.set()
        for cb in tuple(self._machine.listeners):
            try:
                cb(new)
            except Exception:
                log.exception("AMI %s: state callback %r failed", self.name, cb)

    # -- events ---------------------------------------------------------------

    def on_event(self, name: str, callback: EventCallback) -> Callable[[], None]:
        """Call ``callback(event)`` for each event ``name`` (exact spelling) or ``"*"``.

        Callbacks run in registration order, those of the name before those
        of ``"*"``; one that raises is logged and counted in
        :attr:`callback_errors`. With a finite ``events=`` set, the name is
        added to what the codec hands out, and ``"*"`` gets only the
        subscribed names. Returns a function that removes the callback.
        """
        return self._dispatcher.add(name, callback)

    def events(self, *names: str, maxsize: int = 10_000) -> EventStream:
        """An async iterator over events of ``names`` (none = ``"*"``).

        ``async with client.events("Hangup") as stream: async for ev in stream``.
        Ends when the client closes; events past ``maxsize`` unread are dropped.
        """
        return self._dispatcher.stream(names, maxsize)

    def subscribe(self, events: Iterable[str] | None) -> None:
        """Replace the ``events=`` set given at construction (``None`` = all)."""
        if isinstance(events, str):
            events = (events,)
        self._user_events = None if events is None else frozenset(events)
        self._update_subscription()

    def _update_subscription(self) -> None:
        # called twice per AGI command and Originate: nothing to do unless what decides
        # the filter changed (the name sets are kept objects: compared by identity first)
        user = self._user_events
        key = (user, self._dispatcher.names, bool(self._collecting or self._expecting_lists),
               bool(self._agi), bool(self._originates))  # fmt: skip
        if key == self._subscription_key:
            return
        self._subscription_key = key
        if user is None:
            self._dispatch_names = None
            wanted = None
        else:
            self._dispatch_names = user | self._dispatcher.names
            if self._collecting or self._expecting_lists:
                wanted = None  # list items have names we cannot know in advance
            else:
                wanted = self._dispatch_names
                if self._agi:
                    wanted = wanted | AGI_EVENTS
                if self._originates:
                    wanted = wanted | {"OriginateResponse"}
        if wanted != self._codec_wanted:
            self._codec_wanted = wanted
            if self._link is not None:
                self._link.codec.subscribe(wanted)

    # -- reading ------------------------------------------------------------------

    def _on_protocol_error(self, error: RemoteProtocolError) -> None:
        self.protocol_errors += 1
        level = logging.ERROR if error.fatal else logging.WARNING
        log.log(level, "AMI %s (%s): %s", self.name, self.where, error)

    def _on_messages(self, batch: list[Message]) -> None:
        """The messages of one read, in order: the reader's hot path.

        An event that no action or waiter needs goes straight to the
        dispatcher. A malformed header line (found when a header is first
        read) or a failing handler is reported and the batch goes on.
        """
        dispatch = self._dispatcher.dispatch
        for msg in batch:
            try:
                if type(msg) is not Event:
                    if isinstance(msg, Response):
                        self._on_response(msg)
                    elif isinstance(msg, Event):
                        self._on_event(msg)
                elif self._collecting or self._agi or self._originates:
                    self._on_event(msg)
                else:
                    wanted = self._dispatch_names
                    if wanted is None or msg.name in wanted:
                        dispatch(msg)
            except RemoteProtocolError as e:
                self._on_protocol_error(e)
            except Exception:
                log.exception("AMI %s: handling %r failed", self.name, msg)

    def _on_response(self, resp: Response) -> None:
        pending = self._pending
        # no pending action (the common case): not even the ActionID is read
        p = pending.get(resp.action_id) if pending else None  # type: ignore[arg-type]
        if p is None:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("AMI %s: response for no pending action: %r", self.name, resp.as_dict())
            return
        if p.on_response(resp):
            self._collecting[p.action_id] = p
            self._update_subscription()

    def _on_event(self, event: Event) -> None:
        # A list item: cheap byte test first, since .get() decodes every header.
        if self._collecting and b"ActionID" in event.raw:
            aid = event.get("ActionID")
            p = self._collecting.get(aid) if aid is not None else None
            if p is not None:
                if p.on_list_event(event):
                    del self._collecting[p.action_id]
                    self._update_subscription()
                return
        name = event.name
        if self._agi and name in AGI_EVENTS:
            self._agi.feed(event)
        if self._originates and name == "OriginateResponse":
            self._originates.feed(event)
        wanted = self._dispatch_names
        if wanted is None or name in wanted:
            self._dispatcher.dispatch(event)

    # -- actions --------------------------------------------------------------------

    def _require_link(self) -> Link:
        link = self._link
        if self._machine.state is ConnectionState.CLOSED:
            raise self._closed_error()
        if link is None or not self.connected:
            raise AMIConnectionError(
                f"AMI {self.name} is not connected to {self.where} "
                f"(state {self._machine.state.name})",
                host=self.host,
                port=self.port,
            )
        return link

    def _closed_error(self) -> AMIConnectionError:
        return AMIConnectionError(
            f"AMI client {self.name} for {self.where} is closed", host=self.host, port=self.port
        )

    def _fail_waiters(self, make: Callable[[str], AMIError]) -> None:
        for p in list(self._pending.values()):  # an AGI command removes itself when failed
            if not p.future.done():
                p.future.set_exception(make(f"{p.name} (ActionID {p.action_id})"))
        self._agi.fail_all(make("an AGI result"))
        self._originates.fail_all(make("an OriginateResponse"))

    async def send_action(
        self,
        name: str,
        fields: Fields | None = None,
        *,
        timeout: float | None = None,
        check: bool = True,
        action_id: str | None = None,
        expect_list: bool | None = None,
    ) -> Response | ActionResult:
        """Send one action and wait for its whole answer.

        Returns the :class:`Response`, or an :class:`ActionResult` when the
        response opened an EventList (``EventList: start``): then every
        event with our ActionID is collected until the ``<X>Complete`` one.
        ``Response: Error`` raises :class:`ActionError` unless ``check=False``.
        No complete answer within ``timeout`` (default ``action_timeout``)
        raises :class:`ActionTimeout`; a lost link, :class:`AMIConnectionError`.

        ``expect_list``: whether the answer is an EventList (default: known
        from the action's name, :data:`.waiters.LIST_ACTIONS`). It matters
        only with a finite ``events=`` set, whose filter must be off before
        the list's items arrive; :meth:`send_list_action` sets it.
        """
        return await self._request(
            self._require_link(),
            name,
            fields,
            timeout=timeout,
            check=check,
            action_id=action_id,
            expect_list=expect_list,
        )

    async def send_list_action(
        self, name: str, fields: Fields | None = None, *, timeout: float | None = None
    ) -> ActionResult:
        """Like :meth:`send_action`, always as an :class:`ActionResult`.

        Also turns the codec's event filter off before sending, for list
        actions not in :data:`.waiters.LIST_ACTIONS`. A response that opens
        no list (Ping's) gives ``events=[]`` and ``complete=None``.
        """
        result = await self.send_action(name, fields, timeout=timeout, expect_list=True)
        return result if isinstance(result, ActionResult) else ActionResult(result)

    async def _request(
        self,
        link: Link,
        name: str,
        fields: Fields | None,
        *,
        timeout: float | None = None,
        check: bool = True,
        action_id: str | None = None,
        expect_list: bool | None = None,
    ) -> Response | ActionResult:
        self._check_gate(name)
        aid = action_id if action_id is not None else self._action_id(name)
        if aid in self._pending:
            raise LocalProtocolError(f"ActionID {aid!r} is already in use by a pending action")
        data = encode_action(name, fields, aid)
        if expect_list is None:
            expect_list = answers_with_list(name, _field(fields, "Channel"))
        if expect_list and self._user_events is not None:
            self._expecting_lists.add(aid)
            self._update_subscription()
        limit = self.action_timeout if timeout is None else timeout
        future: asyncio.Future[Response | ActionResult] = asyncio.get_running_loop().create_future()
        pending = self._pending[aid] = PendingAction(name, aid, future)
        try:
            async with asyncio.timeout(limit):
                link.write(data)
                await link.drain()
                result = await future
        except TimeoutError:
            so_far = (
                f" (list incomplete: {len(pending.events)} events)" if pending.collecting else ""
            )
            raise ActionTimeout(
                f"{name} (ActionID {aid}) got no answer from AMI at {self.where} "
                f"within {limit:g} s{so_far}",
                action=name,
                timeout=limit,
            ) from None
        finally:
            del self._pending[aid]
            collected = self._collecting.pop(aid, None) is not None
            if collected or aid in self._expecting_lists:
                self._expecting_lists.discard(aid)
                self._update_subscription()
            settle(future)
        if check:
            resp = result.response if isinstance(result, ActionResult) else result
            if not resp.ok:
                raise ActionError(name, resp.message or resp.name, resp)
        return result

    def _check_gate(self, name: str) -> None:
        if self.may_act is not None and not self.may_act():
            raise NotLeader(f"{name} not sent to {self.where}: this controller does not lead")

    async def ping(self, *, timeout: float | None = None) -> float:
        """Send a Ping; return the round-trip time in seconds."""
        now = self._clock or asyncio.get_running_loop().time
        started = now()
        await self.send_action("Ping", timeout=timeout)
        return now() - started
