"""The live fan-out over a real Redis (a private redis-server on a free port): what
the publishing node pushes reaches a subscriber's hub, and Redis going away is a
state both sides report and come back from, the publisher never raising."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from callcenter.fanout import PublishingHub, RedisFanout, follow
from callcenter.live import LiveHub

from .e2e_support import wait_until
from .redis_support import PrivateRedis
from .test_app_lifecycle import free_port


@pytest.fixture
async def pair(private_redis: PrivateRedis) -> AsyncIterator[tuple[RedisFanout, RedisFanout]]:
    leader = RedisFanout(private_redis.url, "test:live")
    standby = RedisFanout(private_redis.url, "test:live")
    yield leader, standby
    await leader.close()
    await standby.close()


async def test_the_leaders_pushes_reach_the_standbys_hub(pair: tuple[RedisFanout, RedisFanout]):
    leader, standby = pair
    leader_hub, standby_hub = LiveHub(), LiveHub()
    following = follow(standby, standby_hub)
    leader.start()
    standby.start()
    await wait_until(lambda: leader.up and standby.up, 60, "both links up")
    pushes = PublishingHub(leader_hub, leader)
    desk = standby_hub.subscribe_agent("7")
    board = {"at": 1.0, "waiting": 1, "agents": [{"id": "7", "state": "ringing"}]}
    pop = {"type": "screen_pop", "call_id": "pbx1:1.1", "card": {"full_name": "Nguyễn Văn A"}}
    # a wallboard on another node may be open: the desk builds a board every publish
    assert pushes.wallboards_open == 1
    pushes.publish_wallboard(board)
    pushes.push_to_agent("7", pop)
    await wait_until(lambda: len(desk) == 1, 60, "the pop on the standby")
    item = await desk.get()
    assert item is not None and item.kind == "screen_pop" and "Nguyễn Văn A" in item.text
    await wait_until(lambda: standby_hub.latest_wallboard == board, 60, "the board")
    assert following.pops["7"]["call_id"] == "pbx1:1.1"
    assert leader.health()["published"] == 2 and standby.health()["received"] == 2
    assert standby.health()["role"] == "subscriber" and leader.health()["role"] == "publisher"


async def test_redis_away_is_reported_and_both_sides_come_back(
    pair: tuple[RedisFanout, RedisFanout], private_redis: PrivateRedis
):
    leader, standby = pair
    standby_hub = LiveHub()
    follow(standby, standby_hub)
    leader.start()
    standby.start()
    await wait_until(lambda: leader.up and standby.up, 60, "both links up")
    private_redis.stop()
    pushes = PublishingHub(LiveHub(), leader)
    for n in range(5):  # the leader keeps pushing: nothing raises, nothing waits
        assert pushes.push_to_agent("7", {"type": "state", "n": n}) == 0
        pushes.publish_wallboard({"at": float(n)})
        await asyncio.sleep(0.05)
    await wait_until(lambda: leader.up is False and standby.up is False, 60, "both links down")
    assert leader.error and standby.error
    assert leader.health()["up"] is False
    private_redis.start()
    desk = standby_hub.subscribe_agent("7")
    await wait_until(lambda: leader.up and standby.up, 60, "both links back")
    assert leader.reconnects == 1 and standby.reconnects == 1 and leader.error is None
    pushes.push_to_agent("7", {"type": "state", "n": 99})
    # what waited in the outbox went once the link was back; the newest reaches the desk
    await wait_until(lambda: any(b'"n":99' in i.text.encode() for i in desk._items), 60,
                     "a message after the outage")  # fmt: skip
    assert leader.health()["published"] >= 6


async def test_a_full_outbox_drops_the_oldest_and_counts_them(tmp_path: Path):
    fanout = RedisFanout(f"redis://127.0.0.1:{free_port()}/0", "test:live", outbox=3)
    fanout.start()  # nobody listens on that port
    try:
        for n in range(5):
            fanout.publish("agent:7", {"type": "state", "n": n})
        await wait_until(lambda: fanout.up is False, 60, "the link down")
        assert fanout.health()["dropped"] == 2 and len(fanout._outbox) == 3
    finally:
        await fanout.close()


async def test_a_standby_that_leads_stops_following_and_only_publishes(
    pair: tuple[RedisFanout, RedisFanout], private_redis: PrivateRedis
):
    # a standby follows the leader's feed, then leads (callcenter.mirror.MirrorDesk.drive):
    # it must leave the channel, or it would get its own messages back
    leader, standby = pair
    standby_hub = LiveHub()
    following = follow(standby, standby_hub)
    leader.start()
    standby.start()
    await wait_until(lambda: leader.up and standby.up, 60, "both links up")
    pushes = PublishingHub(LiveHub(), leader)
    pushes.publish_wallboard({"at": 1.0})
    await wait_until(lambda: standby_hub.latest_wallboard == {"at": 1.0}, 60, "the first board")
    following.stop()
    assert standby.health()["role"] == "publisher"
    client = redis.from_url(private_redis.url)
    try:
        # Redis itself has nobody on the channel any more: nothing can reach the standby
        end = asyncio.get_running_loop().time() + 60
        while (subscribers := await client.pubsub_numsub("test:live")) != [(b"test:live", 0)]:
            assert asyncio.get_running_loop().time() < end, f"still subscribed: {subscribers}"
            await asyncio.sleep(0.1)
    finally:
        await client.aclose()
    pushes.publish_wallboard({"at": 2.0})
    await wait_until(lambda: leader.health()["published"] == 2, 60, "the second board sent")
    assert standby_hub.latest_wallboard == {"at": 1.0}
    assert standby.health()["received"] == 1
    # the standby publishes as a leader does
    standby.publish("agent:7", {"type": "state"})
    await wait_until(lambda: standby.health()["published"] == 1, 60, "the standby's own message")
