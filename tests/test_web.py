"""The web edge against the real app: login, roles, API errors, WebSockets, metrics."""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import WSCloseCode, WSMsgType

from callcenter.board import apply
from callcenter.metrics import FloorNow, QueueNow
from callcenter.web.session import COOKIE_NAME
from tests.test_web_support import CALL_ID, PASSWORD, World, screen_pop, wallboard_snapshot


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(world.app())


async def login(client, username: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
    client.session.cookie_jar.clear()
    return await client.post(
        "/login", data={"username": username, "password": password}, allow_redirects=False
    )


def origin(client) -> str:
    return f"http://{client.host}:{client.port}"


# -- login


async def test_login_ok_sets_signed_httponly_strict_cookie(client, world):
    resp = await login(client, "an")
    assert resp.status == 303
    assert resp.headers["Location"] == "/agent"
    cookie = resp.cookies[COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    page = await client.get("/agent")
    assert page.status == 200
    text = await page.text()
    assert "Nguyễn Văn An" in text
    assert page.headers["Content-Type"].endswith("charset=utf-8")


async def test_supervisor_lands_on_wallboard(client):
    resp = await login(client, "lan")
    assert resp.headers["Location"] == "/supervisor"
    page = await client.get("/supervisor")
    assert page.status == 200
    assert "Lê Hoàng Dũng" in await page.text()  # the snapshot rides in the page


async def test_login_bad_password_is_401_page_with_message(client, world):
    resp = await login(client, "an", "wrong")
    assert resp.status == 401
    assert "Wrong username or password" in await resp.text()
    assert COOKIE_NAME not in resp.cookies
    assert world.accounts.asked == ["an"]


async def test_login_keeps_only_local_next(client):
    resp = await client.post(
        "/login",
        data={"username": "lan", "password": PASSWORD, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert resp.headers["Location"] == "/supervisor"


async def test_logged_out_page_redirects_to_login(client):
    resp = await client.get("/supervisor", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/supervisor"


async def test_logout_forgets_the_session(client):
    await login(client, "an")
    resp = await client.post("/logout", allow_redirects=False)
    assert resp.status == 303
    client.session.cookie_jar.update_cookies(resp.cookies)
    assert (await client.get("/api/agents/7")).status == 401


async def test_forged_and_expired_cookies_are_refused(client, world):
    await login(client, "an")
    value = client.session.cookie_jar.filter_cookies(client.make_url("/"))[COOKIE_NAME].value
    version, payload, sig = value.split(".")
    forged = f"{version}.{payload}.{'A' * len(sig)}"
    resp = await client.get("/api/agents/7", cookies={COOKIE_NAME: forged})
    assert resp.status == 401
    world.now += 11 * 3600
    assert (await client.get("/api/agents/7")).status == 401


# -- roles


async def test_agent_cannot_open_supervisor_page_or_wallboard_api(client):
    await login(client, "an")
    page = await client.get("/supervisor")
    assert page.status == 403
    api = await client.get("/api/wallboard")
    assert api.status == 403
    assert (await api.json())["error"] == "forbidden"


async def test_agent_sees_own_data_but_not_another_agents(client):
    await login(client, "an")
    own = await client.get("/api/agents/7")
    assert own.status == 200
    assert (await own.json())["name"] == "Nguyễn Văn An"
    other = await client.get("/api/agents/8")
    assert other.status == 403
    body = await other.json()
    assert body["error"] == "forbidden" and body["reason"]


async def test_supervisor_sees_any_agent_and_wallboard(client, world):
    await login(client, "lan")
    assert (await client.get("/api/agents/8")).status == 200
    unknown = await client.get("/api/agents/999")
    assert unknown.status == 404
    wall = await client.get("/api/wallboard")
    assert (await wall.json())["waiting"] == world.desk.snapshot["waiting"]


async def test_api_without_session_is_401_json(client):
    resp = await client.get("/api/wallboard")
    assert resp.status == 401
    assert (await resp.json())["error"] == "unauthenticated"


# -- agent actions and dispositions


async def test_ready_and_pause_reach_the_desk(client, world):
    await login(client, "an")
    resp = await client.post("/api/agent/ready")
    assert resp.status == 200
    assert (await resp.json())["state"] == "ready"
    resp = await client.post("/api/agent/pause", json={"reason": "lunch"})
    assert (await resp.json())["pause_reason"] == "lunch"
    assert world.desk.actions == [("ready", "7"), ("pause", "7", "lunch")]


async def test_pause_with_invalid_reason_is_400_and_desk_untouched(client, world):
    await login(client, "an")
    resp = await client.post("/api/agent/pause", json={"reason": 42})
    assert resp.status == 400
    assert (await resp.json())["error"] == "invalid_field"
    assert world.desk.actions == []


async def test_ready_while_talking_maps_acd_error_to_409(client, world):
    world.desk.views["7"]["state"] = "talking"
    await login(client, "an")
    resp = await client.post("/api/agent/ready", json={})
    assert resp.status == 409
    body = await resp.json()
    assert body["error"] == "invalid_transition" and "TALKING" in body["reason"]


async def test_error_with_unknown_code_is_a_500_not_a_refusal(aiohttp_client, world):
    class Broken(Exception):
        code = "e3q8"  # SQLAlchemy errors carry a code too: not a domain error

    async def broken_ready(agent_id: str) -> None:
        raise Broken("database went away")

    world.desk.agent_ready = broken_ready
    client = await aiohttp_client(world.app())
    await login(client, "an")
    resp = await client.post("/api/agent/ready")
    assert resp.status == 500


async def test_disposition_saved(client, world):
    await login(client, "an")
    resp = await client.post(
        f"/api/calls/{CALL_ID}/disposition", json={"code": "resolved", "notes": "Đã giải quyết"}
    )
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"saved": True, "call_id": CALL_ID, "code": "resolved",
                                 "fcr": True}  # fmt: skip
    assert world.dispositions.saved == [(CALL_ID, "7", "resolved", "Đã giải quyết")]
    assert world.dispositions.flags == [True]  # resolved is one of the default FCR codes


async def test_disposition_bad_json_is_400_and_nothing_saved(client, world):
    await login(client, "an")
    resp = await client.post(
        f"/api/calls/{CALL_ID}/disposition",
        data=b'{"code": "resolved",',
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "bad_json" and "JSON" in body["reason"]
    assert world.dispositions.saved == []


async def test_disposition_unknown_code_is_400_with_reason_and_nothing_saved(client, world):
    await login(client, "an")
    resp = await client.post(f"/api/calls/{CALL_ID}/disposition", json={"code": "nope"})
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "unknown_code"
    assert "nope" in body["reason"]
    assert world.dispositions.saved == []


async def test_disposition_missing_or_extra_field_is_400(client, world):
    await login(client, "an")
    missing = await client.post(f"/api/calls/{CALL_ID}/disposition", json={"notes": "x"})
    assert missing.status == 400
    assert (await missing.json())["reason"].startswith("code:")
    extra = await client.post(
        f"/api/calls/{CALL_ID}/disposition", json={"code": "resolved", "agent_id": "8"}
    )
    assert extra.status == 400
    assert world.dispositions.saved == []


async def test_disposition_unknown_call_maps_domain_error_to_404(client, world):
    await login(client, "an")
    resp = await client.post("/api/calls/pbx9:1.1/disposition", json={"code": "resolved"})
    assert resp.status == 404
    assert (await resp.json()) == {"error": "unknown_call", "reason": "no call 'pbx9:1.1'"}


async def test_disposition_needs_the_agent_role(client, world):
    await login(client, "lan")
    resp = await client.post(f"/api/calls/{CALL_ID}/disposition", json={"code": "resolved"})
    assert resp.status == 403
    assert world.dispositions.saved == []


async def test_post_from_foreign_origin_is_refused(client, world):
    await login(client, "an")
    resp = await client.post(
        f"/api/calls/{CALL_ID}/disposition",
        json={"code": "resolved"},
        headers={"Origin": "http://evil.example"},
    )
    assert resp.status == 403
    assert world.dispositions.saved == []


# -- WebSockets


async def test_ws_wallboard_sends_snapshot_then_published_update(client, world):
    await login(client, "lan")
    async with client.ws_connect("/ws/wallboard", headers={"Origin": origin(client)}) as ws:
        first = await ws.receive_json(timeout=2)
        assert first["type"] == "wallboard"
        assert first["waiting"] == 3
        assert world.hub.publish_wallboard(wallboard_snapshot(waiting=9)) == 1
        update = await ws.receive_json(timeout=2)
        assert update["type"] == "wallboard_delta"
        assert update["set"]["waiting"] == 9
        board = apply({k: v for k, v in first.items() if k != "type"}, update)
        assert board["waiting"] == 9
        assert board["agents"][0]["name"] == "Nguyễn Văn An"
    assert world.hub.subscriber_count == 0


async def test_ws_agent_receives_screen_pop_and_counts_delivery(client, world):
    await login(client, "an")
    async with client.ws_connect("/ws/agent") as ws:
        first = await ws.receive_json(timeout=2)
        assert first["type"] == "state" and first["state"] == "paused"
        assert world.hub.push_to_agent("8", screen_pop("other")) == 0  # Bình has no desktop open
        world.metrics.screen_pop_sent(screen_pop()["call_id"])  # as the controller does
        assert world.hub.push_to_agent("7", screen_pop()) == 1
        pop = await ws.receive_json(timeout=2)
        assert pop["type"] == "screen_pop"
        assert pop["card"]["name"] == "Nguyễn Thị Minh Khai"
    assert world.hub.screen_pops_delivered == 1
    assert world.hub.pushed["screen_pop"] == 2
    assert b"hotline_screen_pops_total 1.0" in world.metrics.render()
    # its latency, from the offer to the socket, was observed once
    assert b"hotline_screen_pop_seconds_count 1.0" in world.metrics.render()


@pytest.mark.parametrize(("user", "path"), [("lan", "/ws/wallboard"), ("an", "/ws/agent")])
async def test_ws_foreign_origin_is_rejected(client, world, user, path):
    await login(client, user)
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect(path, headers={"Origin": "http://evil.example"})
    assert err.value.status == 403
    assert world.hub.subscriber_count == 0


async def test_ws_needs_login_and_role(client):
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/ws/wallboard")
    assert err.value.status == 401
    await login(client, "an")
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await client.ws_connect("/ws/wallboard")
    assert err.value.status == 403


async def test_shutdown_closes_sockets_with_going_away(aiohttp_client, world):
    client = await aiohttp_client(world.app())
    await login(client, "lan")
    ws = await client.ws_connect("/ws/wallboard")
    await ws.receive_json(timeout=2)
    await client.server.close()
    msg = await ws.receive(timeout=5)
    assert msg.type == WSMsgType.CLOSE
    assert msg.data == WSCloseCode.GOING_AWAY
    assert world.hub.subscriber_count == 0
    await ws.close()


# -- /metrics and /healthz


async def test_metrics_exposes_hotline_names_after_calls(client, world):
    m = world.metrics
    m.know_queues(["support"])
    m.call_outcome("answered", 12.5, queue="support", talk_s=95.0)
    m.call_outcome("abandoned", 48.0, queue="support")
    m.watch_floor(lambda: FloorNow({"ready": 3, "talking": 5},
                                   {"support": QueueNow(4, 61.5, {"ready": 2})}))  # fmt: skip
    m.ami_state("pbx1", True)
    m.recording_started()
    m.loop_lag_observed(0.002)
    resp = await client.get("/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    text = await resp.text()
    for line in (
        'hotline_calls_total{outcome="answered",queue="support"} 1.0',
        'hotline_calls_total{outcome="abandoned",queue="support"} 1.0',
        'hotline_calls_total{outcome="timeout",queue="support"} 0.0',
        'hotline_calls_waiting{queue="support"} 4.0',
        'hotline_longest_wait_seconds{queue="support"} 61.5',
        'hotline_queue_agents{queue="support",state="ready"} 2.0',
        'hotline_queue_agents{queue="support",state="paused"} 0.0',
        'hotline_agents{state="talking"} 5.0',
        'hotline_agents{state="paused"} 0.0',
        'hotline_wait_seconds_bucket{le="20.0",queue="support"} 1.0',
        'hotline_wait_seconds_count{queue="support"} 2.0',
        'hotline_talk_seconds_count{queue="support"} 1.0',
        'hotline_ami_connected{node="pbx1"} 1.0',
        "hotline_screen_pops_total 0.0",
        "hotline_recordings_total 1.0",
        "hotline_event_loop_lag_seconds_count 1.0",
    ):
        assert line in text, line


async def test_healthz_reports_ami_nodes(client, world):
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "ami": {"pbx1": True, "pbx2": True}, "errors": {}}
    down = {"node": "pbx2", "connected": False, "error": "connection refused"}
    world.desk.snapshot = wallboard_snapshot(ami=[{"node": "pbx1", "connected": True}, down])
    resp = await client.get("/healthz")
    assert resp.status == 503
    body = json.loads(await resp.text())
    assert body["ami"]["pbx2"] is False
    assert body["errors"] == {"pbx2": "connection refused"}


async def test_pages_carry_a_strict_content_security_policy(client):
    resp = await client.get("/login")
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    css = await client.get("/static/hotline.css")
    assert css.status == 200
