"""The recording routes of the real web app over a stand-in desk: who may do what
(a table over every recording route, role by role), and what each refusal says."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_web import login
from tests.test_web_support import World

CALL = "pbx1:1700000000.42"  # agent 7's call, recording
OTHER = "pbx1:1700000000.50"  # agent 8's call, recording
BARE = "pbx1:1700000000.60"  # agent 7's call, nothing recorded (policy)


@pytest.fixture
def world() -> World:
    w = World()
    w.desk.live_calls = {CALL: ("7", True), OTHER: ("8", True), BARE: ("7", False)}
    return w


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(world.app())


# (who, method, path, body) -> status; None: nobody logged in. Every recording route.
ROUTES: list[tuple[str | None, str, str, Any, int]] = [
    (None, "POST", f"/api/calls/{CALL}/recording/mute", {"muted": True}, 401),
    ("an", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": True}, 200),
    ("an", "POST", f"/api/calls/{OTHER}/recording/mute", {"muted": True}, 403),
    ("an", "POST", f"/api/calls/{BARE}/recording/mute", {"muted": True}, 409),
    ("an", "POST", "/api/calls/pbx1:9.9/recording/mute", {"muted": True}, 404),
    ("an", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": "yes"}, 400),
    ("binh", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": False}, 403),
    ("binh", "POST", f"/api/calls/{OTHER}/recording/mute", {"muted": False}, 200),
    ("lan", "POST", f"/api/calls/{CALL}/recording/mute", {"muted": True}, 200),
    ("lan", "POST", f"/api/calls/{OTHER}/recording/mute", {"muted": False}, 200),
    ("lan", "POST", f"/api/calls/{BARE}/recording/mute", {"muted": True}, 409),
]


@pytest.mark.parametrize(("who", "method", "path", "body", "status"), ROUTES)
async def test_each_role_gets_exactly_what_it_may(client, world, who, method, path, body, status):
    if who is not None:
        await login(client, who)
    resp = await client.request(method, path, json=body)
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] in ("mute", "unmute")]
    if status == 200:
        role = "supervisor" if who == "lan" else "agent"
        account = {"an": "7", "binh": "8", "lan": "2"}[who or ""]
        call = path.split("/")[3]
        verb = "mute" if body["muted"] else "unmute"
        assert done == [(verb, call, f"{role}:{account}")]
        assert await resp.json() == {"call_id": call, "muted": body["muted"]}
    else:
        assert done == [], "a refused request reached the controller"
        assert (await resp.json())["error"]


async def test_a_mute_from_a_foreign_origin_is_refused(client, world):
    await login(client, "lan")
    resp = await client.post(f"/api/calls/{CALL}/recording/mute", json={"muted": True},
                             headers={"Origin": "http://evil.example"})  # fmt: skip
    assert resp.status == 403 and world.desk.actions == []
