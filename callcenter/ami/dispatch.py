"""Event dispatch by name: callbacks in registration order, and async streams.

A callback that raises is logged and counted, and the next one still runs:
one bad listener must not stop the reader that every call depends on.
Callbacks are plain functions run on the reader's turn of the loop, so they
must not block; one that returns an awaitable has it run as a task (its
order against later events is then not guaranteed).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from types import TracebackType
from typing import Final

from .message import Event

log = logging.getLogger("callcenter.ami.client")

EventCallback = Callable[[Event], object]

#: the name that registers a callback for every dispatched event
ALL: Final = "*"


class EventDispatcher:
    """Callbacks by Event name (exact, as Asterisk spells it) plus ``"*"``."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.callback_errors = 0
        self._handlers: dict[str, list[EventCallback]] = {}
        # per event name, the callbacks to call in order (the name's, then "*"'s);
        # built on first dispatch of a name, dropped when any callback changes
        self._targets: dict[str, tuple[EventCallback, ...]] = {}
        self._names: frozenset[str] | None = None  # ``names``, until a name comes or goes
        self._streams: set[EventStream] = set()
        self._tasks: set[asyncio.Task[object]] = set()
        #: called when the set of names with a callback changes
        self.on_names_changed: Callable[[], None] = lambda: None

    @property
    def names(self) -> frozenset[str]:
        """Event names that have at least one callback (``"*"`` excluded)."""
        if self._names is None:
            self._names = frozenset(n for n in self._handlers if n != ALL)
        return self._names

    def add(self, name: str, callback: EventCallback) -> Callable[[], None]:
        """Register ``callback`` for ``name``; returns a function that removes it."""
        if not name:
            raise ValueError("event name must not be empty")
        self._targets = {}
        handlers = self._handlers.get(name)
        if handlers is None:
            handlers = self._handlers[name] = []
            self._names = None
            handlers.append(callback)
            self.on_names_changed()
        else:
            handlers.append(callback)
        return lambda: self.remove(name, callback)

    def remove(self, name: str, callback: EventCallback) -> None:
        handlers = self._handlers.get(name)
        if handlers is None or callback not in handlers:
            return
        handlers.remove(callback)
        self._targets = {}
        if not handlers:
            del self._handlers[name]
            self._names = None
            self.on_names_changed()

    def dispatch(self, event: Event) -> None:
        """Call the callbacks of ``event.name``, then those of ``"*"``.

        The hot path of every event: one dict lookup for the callbacks, then
        the calls. A callback that returns ``None`` is not inspected further.
        """
        name = event.name
        callbacks = self._targets.get(name)
        if callbacks is None:
            callbacks = self._targets_of(name)
        for cb in callbacks:
            try:
                result = cb(event)
            except Exception:
                self.callback_errors += 1
                log.exception("%s: callback %r failed on %s event", self.label, cb, name)
                continue
            if result is not None and inspect.isawaitable(result):
                self._spawn(result, cb, name)

    def _targets_of(self, name: str) -> tuple[EventCallback, ...]:
        targets = (*self._handlers.get(name, ()), *self._handlers.get(ALL, ()))
        if len(self._targets) < 1024:  # names come from the peer: keep the cache bounded
            self._targets[name] = targets
        return targets

    def _spawn(self, awaitable: object, cb: EventCallback, name: str) -> None:
        async def run() -> object:
            try:
                return await awaitable  # type: ignore[misc]
            except Exception:
                self.callback_errors += 1
                log.exception("%s: async callback %r failed on %s event", self.label, cb, name)
                return None

        task: asyncio.Task[object] = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def stream(self, names: Iterable[str], maxsize: int) -> EventStream:
        s = EventStream(self, tuple(names) or (ALL,), maxsize)
        self._streams.add(s)
        return s

    def close(self) -> None:
        """End every stream (the client closed); pending callback tasks are cancelled."""
        for s in list(self._streams):
            s._end()
        for t in list(self._tasks):
            t.cancel()


_END: Final = object()


class EventStream:
    """An async iterator over events of some names, fed by the dispatcher.

    Use ``async with client.events("Hangup") as stream: async for ev in stream``
    so the stream unregisters when the block exits. The queue is bounded:
    when a slow consumer lets ``maxsize`` events pile up, newer events are
    dropped and counted in :attr:`dropped` (logged once per overflow).
    """

    def __init__(self, dispatcher: EventDispatcher, names: tuple[str, ...], maxsize: int) -> None:
        self._dispatcher = dispatcher
        self.names = names
        self.dropped = 0
        self._queue: asyncio.Queue[object] = asyncio.Queue(maxsize)
        self._closed = False
        self._overflowing = False
        self._removers = [dispatcher.add(n, self._put) for n in names]

    def _put(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
            self._overflowing = False
        except asyncio.QueueFull:
            self.dropped += 1
            if not self._overflowing:
                self._overflowing = True
                log.warning(
                    "%s: event stream %s is full (%d); dropping events",
                    self._dispatcher.label,
                    ",".join(self.names),
                    self._queue.maxsize,
                )

    def _end(self, *, discard: bool = False) -> None:
        if self._closed:
            return
        self._unregister()
        # Make room for the end marker: a closing client beats unread events.
        while discard and not self._queue.empty() or self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)

    def _unregister(self) -> None:
        self._closed = True
        for remove in self._removers:
            remove()
        self._dispatcher._streams.discard(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        if self._closed and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            raise StopAsyncIteration
        assert isinstance(item, Event)
        return item

    async def aclose(self) -> None:
        """Stop receiving events; events already queued are discarded."""
        self._end(discard=True)

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        await self.aclose()
