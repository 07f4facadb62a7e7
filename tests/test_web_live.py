"""LiveHub fan-out, Metrics and session cookies, without sockets."""

from __future__ import annotations

import asyncio
import json

import pytest

from callcenter.board import apply
from callcenter.live import WALLBOARD_BACKLOG, LiveHub
from callcenter.metrics import Metrics
from callcenter.web.session import SessionSigner

KEY = b"k" * 32
AGENTS = [{"id": str(i), "state": "ready", "since": 100.0 + i} for i in range(50)]


async def test_wallboard_gets_a_snapshot_then_each_change_as_a_delta():
    hub = LiveHub()
    box = hub.subscribe_wallboard(lambda: {"at": 0, "waiting": 0, "agents": AGENTS})
    for n in range(1, 4):
        hub.publish_wallboard({"at": n, "waiting": n, "agents": AGENTS})
    hub.publish_wallboard({"at": 9, "waiting": 3, "agents": AGENTS})  # only the clock moved
    texts = []
    while len(box):
        item = await box.get()
        assert item is not None
        texts.append(json.loads(item.text))
    assert [t["type"] for t in texts] == ["wallboard"] + ["wallboard_delta"] * 3
    assert texts[0]["agents"] == AGENTS
    # a delta carries what changed, never the agents who did not
    assert all("agents" not in json.dumps(t.get("upsert", {})) for t in texts[1:])
    board = {k: v for k, v in texts[0].items() if k != "type"}
    for delta in texts[1:]:
        board = apply(board, delta)
    assert board == {"at": 3, "waiting": 3, "agents": AGENTS}
    assert hub.latest_wallboard == {"at": 9, "waiting": 3, "agents": AGENTS}
    assert hub.dropped["wallboard"] == 0


async def test_a_reconnecting_wallboard_starts_from_a_fresh_snapshot():
    hub = LiveHub()
    first = hub.subscribe_wallboard(lambda: {"waiting": 0, "agents": AGENTS})
    hub.publish_wallboard({"waiting": 2, "agents": AGENTS[:10]})
    hub.unsubscribe(first)  # the browser's socket dropped
    hub.publish_wallboard({"waiting": 5, "agents": AGENTS[:20]})
    again = hub.subscribe_wallboard(lambda: {"never": "asked"})
    assert len(again) == 1
    item = await again.get()
    assert item is not None and item.kind == "wallboard"
    assert json.loads(item.text) == {"type": "wallboard", "waiting": 5, "agents": AGENTS[:20]}


async def test_with_no_wallboard_open_no_snapshot_is_kept():
    # the desk builds no snapshot while none is open; the next one opened gets the current
    hub = LiveHub()
    first = hub.subscribe_wallboard(lambda: {"waiting": 0})
    hub.publish_wallboard({"waiting": 2})
    assert hub.wallboards_open == 1
    hub.unsubscribe(first)
    assert hub.wallboards_open == 0
    hub.forget_wallboard()
    assert hub.latest_wallboard is None
    again = hub.subscribe_wallboard(lambda: {"waiting": 7})
    item = await again.get()
    assert item is not None and json.loads(item.text) == {"type": "wallboard", "waiting": 7}


async def test_a_slow_wallboard_gets_one_fresh_snapshot_instead_of_a_backlog():
    hub = LiveHub()
    box = hub.subscribe_wallboard(lambda: {"waiting": 0})
    for n in range(1, WALLBOARD_BACKLOG + 5):
        hub.publish_wallboard({"waiting": n})
    assert len(box) < WALLBOARD_BACKLOG + 1
    board: dict = {}
    while len(box):
        item = await box.get()
        assert item is not None
        msg = json.loads(item.text)
        board = ({k: v for k, v in msg.items() if k != "type"} if msg["type"] == "wallboard"
                 else apply(board, msg))  # fmt: skip
    assert board == {"waiting": WALLBOARD_BACKLOG + 4}


async def test_without_deltas_every_publish_is_a_whole_snapshot_coalesced():
    hub = LiveHub(deltas=False)
    box = hub.subscribe_wallboard(lambda: {"waiting": 0})
    for n in range(5):
        hub.publish_wallboard({"waiting": n})
    assert len(box) == 1
    item = await box.get()
    assert item is not None and item.kind == "wallboard" and '"waiting":4' in item.text


async def test_agent_mailbox_is_bounded_and_counts_drops():
    hub = LiveHub(agent_mailbox=2)
    box = hub.subscribe_agent("7")
    for n in range(3):
        hub.push_to_agent("7", {"type": "state", "n": n})
    assert len(box) == 2
    assert hub.dropped["state"] == 1
    first = await box.get()
    assert first is not None and '"n":1' in first.text


async def test_delivery_is_counted_once_per_message_even_with_two_tabs():
    hub = LiveHub()
    tab1, tab2 = hub.subscribe_agent("7"), hub.subscribe_agent("7")
    assert hub.push_to_agent("7", {"type": "screen_pop", "call_id": "c1"}) == 2
    for box in (tab1, tab2):
        item = await box.get()
        assert item is not None
        hub.record_delivery(item)
    assert hub.screen_pops_delivered == 1


async def test_unsubscribe_wakes_the_reader_and_is_idempotent():
    hub = LiveHub()
    box = hub.subscribe_agent("7")
    reader = asyncio.create_task(box.get())
    await asyncio.sleep(0)
    hub.unsubscribe(box)
    hub.unsubscribe(box)
    assert await asyncio.wait_for(reader, 1) is None
    assert not hub.agent_connected("7")
    assert hub.push_to_agent("7", {"type": "state"}) == 0


def test_push_needs_a_type():
    with pytest.raises(ValueError):
        LiveHub().push_to_agent("7", {"call_id": "x"})


def test_metrics_registries_are_independent_and_outcomes_checked():
    a, b = Metrics(queues=["support"]), Metrics(queues=["support"])
    a.call_outcome("answered", 3, queue="support")
    assert b'hotline_calls_total{outcome="answered",queue="support"} 1.0' in a.render()
    assert b'hotline_calls_total{outcome="answered",queue="support"} 0.0' in b.render()
    with pytest.raises(ValueError):
        a.call_outcome("teleported")


def test_session_cookie_roundtrip_tamper_and_expiry():
    signer = SessionSigner(KEY, ttl_s=60)
    value = signer.issue("7", "agent", "Nguyễn Văn An", now=1000)
    session = signer.check(value, now=1030)
    assert session is not None and session.name == "Nguyễn Văn An" and session.role == "agent"
    assert signer.check(value, now=1061) is None
    assert SessionSigner(b"x" * 32).check(value, now=1030) is None
    head, payload, sig = value.split(".")
    assert signer.check(f"{head}.{payload}x.{sig}", now=1030) is None
    assert signer.check("garbage", now=1030) is None
    with pytest.raises(ValueError):
        SessionSigner(b"short")


def test_a_role_changed_in_sql_is_the_role_of_every_open_session_of_that_login():
    # a login's role changed (admin API, `callcenter users role`): its sessions kept the
    # role they were issued with, so a demoted supervisor still watched the wallboard
    signer = SessionSigner(KEY, ttl_s=60)
    sup = [signer.issue("7", "supervisor", "Lan", now=1000) for _ in range(2)]
    other = signer.issue("8", "supervisor", "Minh", now=1000)
    assert signer.take_roles({"7": "agent", "8": "supervisor", "9": "admin"}) == 2
    assert [signer.check(v, now=1010).role for v in sup] == ["agent", "agent"]  # type: ignore[union-attr]
    assert signer.check(other, now=1010).role == "supervisor"  # type: ignore[union-attr]
    assert signer.take_roles({"7": "agent"}) == 0  # nothing changed: nothing counted
    assert signer.live_count == 3
