"""Live fan-out between web nodes over Redis pub/sub (issue 18; ``bench/fanout.py`` and
``bench/README.md`` say why Redis and not PostgreSQL's LISTEN/NOTIFY).

Rules:

1. The node that drives the PBXs publishes every live message its hub takes
   (:class:`PublishingHub`): each wallboard snapshot whole, each agent message as
   it is. One channel carries them as JSON ``{"topic": "wallboard" | "agent:<id>",
   "message": {...}}``. A web-only node (:func:`follow`) subscribes and hands each
   one to its own ``LiveHub``, which sends its browsers the board's delta and the
   agent's message as if the node had made them. A standby controller follows the
   same way until it leads; then it stops following (:meth:`Following.stop`: it
   would get its own messages back) and publishes.
2. Publishing never waits and never fails the caller: :meth:`RedisFanout.publish`
   drops the message into an outbox that one task drains. While Redis is away the
   outbox keeps the latest snapshot and at most ``OUTBOX`` agent messages (older
   ones dropped and counted); they go when it is back.
3. Redis away is a state, not an exception path: ``up`` False with the ``error``,
   tried again with backoff (``RETRY_S`` doubling up to ``RETRY_MAX_S``); a link
   made again after it was up counts in ``reconnects``. A subscriber back from an
   outage gets the next snapshot whole (the leader publishes at least once a
   second): its wallboards catch up by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis.asyncio as redis
from redis.exceptions import RedisError

from callcenter.live import LiveHub

if TYPE_CHECKING:
    from callcenter.web.ports import WallboardSnapshot

log = logging.getLogger(__name__)

#: agent messages kept while Redis is away (the oldest dropped past it)
OUTBOX = 1000
RETRY_S = 0.2
RETRY_MAX_S = 5.0
#: seconds a subscriber waits for a message before it checks the link (PING)
IDLE_CHECK_S = 5.0
WALLBOARD = "wallboard"

#: ``handler(topic, message)``: one message from the channel
Handler = Callable[[str, dict[str, Any]], None]


class Fanout(Protocol):
    """The web layer's view of the fan-out: publish here, receive there."""

    def publish(self, topic: str, message: Mapping[str, Any]) -> None: ...

    def subscribe(self, handler: Handler) -> None: ...

    def unsubscribe(self, handler: Handler) -> None: ...


def _dumps(message: Mapping[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class RedisFanout:
    """Publish and subscribe on one Redis pub/sub channel (see the module's rules).

    ``start()`` runs the publisher, and a subscriber once a handler is given;
    ``close()`` stops both. Nothing here raises when Redis is away."""

    def __init__(self, url: str, channel: str, *, outbox: int = OUTBOX) -> None:
        self.url, self.channel = url, channel
        self._outbox: deque[str] = deque(maxlen=outbox)
        self._board: str | None = None
        self._wake = asyncio.Event()
        self._handlers: list[Handler] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._subscriber_task: asyncio.Task[None] | None = None
        #: whether every link this node runs is up (None before the first try)
        self.up: bool | None = None
        #: why the link is down (``None`` while up)
        self.error: str | None = None
        self._ever_up = False
        self.reconnects = 0
        #: messages published, received and dropped (outbox full), by direction
        self.messages: Counter[str] = Counter()

    # -- the two sides ------------------------------------------------------------
    def publish(self, topic: str, message: Mapping[str, Any]) -> None:
        """Queue ``message`` for every other node (never waits; rule 2)."""
        text = _dumps({"topic": topic, "message": message})
        if topic == WALLBOARD:
            self._board = text  # only the latest snapshot matters
        else:
            if len(self._outbox) == self._outbox.maxlen:
                self.messages["dropped"] += 1
            self._outbox.append(text)
        self._wake.set()

    def subscribe(self, handler: Handler) -> None:
        """Hand every message of the channel to ``handler`` (from the subscriber task)."""
        self._handlers.append(handler)

    def unsubscribe(self, handler: Handler) -> None:
        """Hand ``handler`` nothing more; with no handler left, leave the channel (the
        node publishes only: a standby that leads now)."""
        self._handlers.remove(handler)
        if not self._handlers and self._subscriber_task is not None:
            self._subscriber_task.cancel()  # close() awaits it

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._publisher(), name="fanout publish"))
        if self._handlers:
            task = self._subscriber_task = loop.create_task(self._subscriber(),
                                                            name="fanout subscribe")  # fmt: skip
            self._tasks.append(task)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._subscriber_task = None

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: the link's state and figures."""
        return {"up": bool(self.up), "error": self.error, "reconnects": self.reconnects,
                "role": "subscriber" if self._handlers else "publisher",
                **{k: self.messages[k] for k in ("published", "received", "dropped")}}  # fmt: skip

    def _link(self, up: bool, error: BaseException | None = None) -> None:
        if up:
            if self.up is False and self._ever_up:
                self.reconnects += 1
            if self.up is False:
                log.info("fan-out: Redis at %s reached again", self.url)
            self._ever_up = True
            self.error = None
        elif self.up is not False:
            log.warning("fan-out: Redis at %s unreachable (%r); trying again", self.url, error)
        if not up:
            self.error = repr(error)
        self.up = up

    def _client(self) -> redis.Redis:
        return redis.from_url(self.url, socket_connect_timeout=2.0, socket_timeout=None,
                              health_check_interval=int(IDLE_CHECK_S))  # fmt: skip

    async def _publisher(self) -> None:
        delay = RETRY_S
        while True:
            client = self._client()
            try:
                await client.ping()
                self._link(True)
                delay = RETRY_S
                while True:
                    await self._drain(client)
                    self._wake.clear()
                    if not self._outbox and self._board is None:
                        await self._wake.wait()
            except (RedisError, OSError) as exc:
                self._link(False, exc)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _drain(self, client: redis.Redis) -> None:
        """Send what waits; a message leaves the outbox only once Redis took it."""
        while self._outbox or self._board is not None:
            if self._outbox:
                await client.publish(self.channel, self._outbox[0])
                self._outbox.popleft()
            else:
                board = self._board
                assert board is not None
                await client.publish(self.channel, board)
                if self._board is board:
                    self._board = None
            self.messages["published"] += 1

    async def _subscriber(self) -> None:
        delay = RETRY_S
        while True:
            client = self._client()
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._link(True)
                delay = RETRY_S
                while True:
                    item = await pubsub.get_message(timeout=IDLE_CHECK_S)
                    if item is None:
                        await pubsub.ping()  # silence: is the link still there?
                        continue
                    if item.get("type") == "message":
                        self._received(item["data"])
            except (RedisError, OSError) as exc:
                self._link(False, exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                with contextlib.suppress(Exception):
                    await client.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    def _received(self, data: bytes | str) -> None:
        try:
            envelope = json.loads(data)
            topic, message = envelope["topic"], envelope["message"]
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("fan-out: an unreadable message on %s dropped (%r)", self.channel, exc)
            return
        self.messages["received"] += 1
        for handler in self._handlers:
            try:
                handler(topic, message)
            except Exception:  # one bad message must not end the subscription
                log.exception("fan-out: handling a %s message failed", topic)


class PublishingHub:
    """The controller's hub on a node that publishes (rule 1): every message goes to
    the local ``LiveHub`` and to the fan-out. The controller and the desk take it for
    the hub (``callcenter.ports.Pushes``)."""

    def __init__(self, hub: LiveHub, fanout: Fanout) -> None:
        self.hub, self.fanout = hub, fanout

    def push_to_agent(self, agent_id: str, message: Mapping[str, Any]) -> int:
        self.fanout.publish(f"agent:{agent_id}", message)
        return self.hub.push_to_agent(agent_id, message)

    def publish_wallboard(self, snapshot: WallboardSnapshot) -> int:
        self.fanout.publish(WALLBOARD, snapshot)
        return self.hub.publish_wallboard(snapshot)

    @property
    def wallboards_open(self) -> int:
        """At least 1: a wallboard may be open on another node, so the desk builds a
        snapshot every publish (at least once a second)."""
        return max(1, self.hub.wallboards_open)

    def forget_wallboard(self) -> None:
        self.hub.forget_wallboard()


class Following:
    """What a web-only node or a standby learnt from the feed: the latest screen-pop per
    agent (a desk that connects while its phone rings shows it)."""

    def __init__(self, hub: LiveHub, fanout: Fanout) -> None:
        self.hub, self.fanout = hub, fanout
        self.pops: dict[str, dict[str, Any]] = {}

    def stop(self) -> None:
        """Feed the hub nothing more (a standby that leads: its own controller feeds it)."""
        self.fanout.unsubscribe(self)
        self.pops.clear()

    def __call__(self, topic: str, message: dict[str, Any]) -> None:
        if topic == WALLBOARD:  # the driving node's snapshot, as it sent it
            self.hub.publish_wallboard(cast("WallboardSnapshot", message))
            return
        if not topic.startswith("agent:"):
            return
        agent_id = topic.removeprefix("agent:")
        kind = message.get("type")
        if kind == "screen_pop":
            self.pops[agent_id] = message
        elif kind == "call_ended" and self.pops.get(agent_id, {}).get("call_id") == message.get(
            "call_id"
        ):
            self.pops.pop(agent_id, None)
        self.hub.push_to_agent(agent_id, message)


def follow(fanout: Fanout, hub: LiveHub) -> Following:
    """Subscribe ``hub`` to the fan-out: a web-only node's (or a standby's) browsers get
    the leader's live messages (rule 1)."""
    following = Following(hub, fanout)
    fanout.subscribe(following)
    return following
