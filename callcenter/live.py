"""Live fan-out: wallboard snapshots and deltas to supervisors, screen-pops to agents.

Rules:

1. The controller never waits on a browser. ``publish_wallboard`` and
   ``push_to_agent`` are plain synchronous calls that serialize the message
   once and drop it into per-socket mailboxes; the WebSocket handlers drain
   the mailboxes at their own pace.
2. A wallboard gets the latest snapshot first (``subscribe_wallboard``), then
   each publish as a delta from the one before (``callcenter.board.diff``: what
   changed, not every agent again), in order. A browser so slow that
   ``WALLBOARD_BACKLOG`` deltas wait unsent gets them replaced by one fresh
   snapshot: never a backlog, never a gap. A reconnect subscribes again, so it
   starts from a fresh snapshot too. ``deltas=False`` sends every publish as a
   whole snapshot (the earlier way; ``bench/wallboard.py`` compares the two).
3. An agent mailbox is a bounded FIFO (screen-pops must arrive in order); when
   a browser is so slow that it fills up, the oldest message is dropped and
   counted in ``dropped``.
4. ``delivered`` counts a message once, the first time a handler reports that
   it reached an open socket (an agent with two tabs open is still one pop).

Call the hub from the event loop's thread only (a pjsua2 or other thread hands
over with ``loop.call_soon_threadsafe``). Nothing here knows about aiohttp: a mailbox yields ``Outgoing`` items and the
handler reports back with ``record_delivery``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.board import diff

if TYPE_CHECKING:
    from callcenter.web.ports import WallboardSnapshot

DEFAULT_AGENT_MAILBOX = 64
#: unsent deltas a wallboard may have waiting before they become one snapshot
WALLBOARD_BACKLOG = 32


@dataclass(slots=True, eq=False)
class Outgoing:
    """One message, serialized once, shared by every mailbox it was put in."""

    #: The message's ``type`` (``wallboard``, ``screen_pop``, ``state`` ...).
    kind: str
    text: str
    delivered: bool = field(default=False)


class Mailbox:
    """The queue between the hub and one open WebSocket."""

    __slots__ = ("topic", "_items", "_wakeup", "_closed", "__weakref__")

    def __init__(self, topic: str, maxlen: int) -> None:
        #: ``"wallboard"`` or ``"agent:<id>"``.
        self.topic = topic
        self._items: deque[Outgoing] = deque(maxlen=maxlen)
        self._wakeup = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: Outgoing) -> Outgoing | None:
        """Queue ``item``; return the message pushed out to make room, if any."""
        if self._closed:
            return None
        evicted = self._items[0] if len(self._items) == self._items.maxlen else None
        self._items.append(item)
        self._wakeup.set()
        return evicted

    def reset(self, item: Outgoing) -> None:
        """Drop every unsent message and queue ``item`` alone."""
        if self._closed:
            return
        self._items.clear()
        self._items.append(item)
        self._wakeup.set()

    def close(self) -> None:
        """Wake the reader; ``get`` returns ``None`` once the queue is drained."""
        self._closed = True
        self._wakeup.set()

    async def get(self) -> Outgoing | None:
        """The next message, or ``None`` when the mailbox was closed."""
        while not self._items:
            if self._closed:
                return None
            self._wakeup.clear()
            await self._wakeup.wait()
        return self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)


def _dumps(message: Mapping[str, Any]) -> str:
    # ensure_ascii=False: Vietnamese names travel as UTF-8, not \u escapes.
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class LiveHub:
    """Fan-out of live updates to the open WebSockets of one controller."""

    def __init__(self, *, agent_mailbox: int = DEFAULT_AGENT_MAILBOX, deltas: bool = True) -> None:
        if agent_mailbox < 1:
            raise ValueError("agent_mailbox must be at least 1")
        self._agent_mailbox = agent_mailbox
        self._deltas = deltas
        self._wallboards: set[Mailbox] = set()
        self._agents: dict[str, set[Mailbox]] = {}
        self._latest: WallboardSnapshot | None = None
        #: Messages handed to the hub, by type.
        self.pushed: Counter[str] = Counter()
        #: Messages that reached at least one open socket, by type.
        self.delivered: Counter[str] = Counter()
        #: Messages evicted from a full mailbox before being sent, by type.
        self.dropped: Counter[str] = Counter()

    # -- publishing (the controller's side)

    @property
    def latest_wallboard(self) -> WallboardSnapshot | None:
        """The last snapshot published, or ``None``."""
        return self._latest

    @property
    def wallboards_open(self) -> int:
        """How many wallboards are open (none: the desk builds no snapshot)."""
        return len(self._wallboards)

    def forget_wallboard(self) -> None:
        """Keep no snapshot (none is built while no wallboard is open): the next
        wallboard opened gets the desk's current one."""
        self._latest = None

    def publish_wallboard(self, snapshot: WallboardSnapshot) -> int:
        """Keep ``snapshot`` as the latest and send every wallboard what changed.

        Returns the number of open wallboards. Never blocks. Nothing is sent when
        nothing but the clock moved; a wallboard with ``WALLBOARD_BACKLOG`` unsent
        deltas gets one snapshot in their place (not counted as dropped).
        """
        before, self._latest = self._latest, snapshot
        self.pushed["wallboard"] += 1
        if not self._wallboards:  # no wallboard open: nothing to compare or encode
            return 0
        whole: Outgoing | None = None
        if not self._deltas or before is None:
            whole = self._snapshot_item(snapshot)
            for mailbox in self._wallboards:
                if self._deltas:
                    mailbox.reset(whole)
                else:
                    mailbox.put(whole)
            return len(self._wallboards)
        delta = diff(before, snapshot)
        if delta is None:
            return len(self._wallboards)
        item = Outgoing("wallboard_delta", _dumps({"type": "wallboard_delta", **delta}))
        for mailbox in self._wallboards:
            if len(mailbox) >= WALLBOARD_BACKLOG:
                whole = whole or self._snapshot_item(snapshot)
                mailbox.reset(whole)
            else:
                mailbox.put(item)
        return len(self._wallboards)

    @staticmethod
    def _snapshot_item(snapshot: WallboardSnapshot) -> Outgoing:
        return Outgoing("wallboard", _dumps({"type": "wallboard", **snapshot}))

    def push_to_agent(self, agent_id: str, message: Mapping[str, Any]) -> int:
        """Queue ``message`` (a dict with a ``type``) for every socket of the agent.

        Returns how many open sockets it was queued for; 0 means the agent has
        no desktop open right now (the message is not kept for later: the
        desktop asks for the current state when it connects).
        """
        kind = message.get("type")
        if not isinstance(kind, str) or not kind:
            raise ValueError("an agent message needs a string 'type'")
        self.pushed[kind] += 1
        mailboxes = self._agents.get(agent_id, ())
        if not mailboxes:  # no desktop open: nothing to encode
            return 0
        item = Outgoing(kind, _dumps(message))
        for mailbox in mailboxes:
            evicted = mailbox.put(item)
            if evicted is not None and not evicted.delivered:
                self.dropped[evicted.kind] += 1
        return len(mailboxes)

    def record_delivery(self, item: Outgoing) -> None:
        """Called by a handler once ``item`` was written to its open socket."""
        if not item.delivered:
            item.delivered = True
            self.delivered[item.kind] += 1

    @property
    def screen_pops_delivered(self) -> int:
        return self.delivered["screen_pop"]

    # -- subscribing (the WebSocket handlers' side)

    def subscribe_wallboard(self, current: Callable[[], WallboardSnapshot]) -> Mailbox:
        """A mailbox whose first message is the latest snapshot (``current()`` if none
        was published yet), then each publish's delta from the one before."""
        if self._latest is None:
            self._latest = current()
        maxlen = WALLBOARD_BACKLOG + 1 if self._deltas else 1
        mailbox = Mailbox("wallboard", maxlen=maxlen)
        mailbox.put(self._snapshot_item(self._latest))
        self._wallboards.add(mailbox)
        return mailbox

    def subscribe_agent(self, agent_id: str) -> Mailbox:
        """A mailbox that receives every message pushed to ``agent_id``."""
        mailbox = Mailbox(f"agent:{agent_id}", maxlen=self._agent_mailbox)
        self._agents.setdefault(agent_id, set()).add(mailbox)
        return mailbox

    def unsubscribe(self, mailbox: Mailbox) -> None:
        """Forget ``mailbox`` (idempotent) and wake its reader."""
        mailbox.close()
        self._wallboards.discard(mailbox)
        if mailbox.topic.startswith("agent:"):
            agent_id = mailbox.topic.removeprefix("agent:")
            boxes = self._agents.get(agent_id)
            if boxes is not None:
                boxes.discard(mailbox)
                if not boxes:
                    del self._agents[agent_id]

    def agent_connected(self, agent_id: str) -> bool:
        """Whether the agent has at least one desktop open."""
        return bool(self._agents.get(agent_id))

    @property
    def subscriber_count(self) -> int:
        return len(self._wallboards) + sum(len(b) for b in self._agents.values())

    def close(self) -> None:
        """Close every mailbox (shutdown): the handlers' ``get`` returns ``None``."""
        for mailbox in list(self._wallboards):
            self.unsubscribe(mailbox)
        for boxes in list(self._agents.values()):
            for mailbox in list(boxes):
                self.unsubscribe(mailbox)
