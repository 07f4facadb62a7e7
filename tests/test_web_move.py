"""POST /api/calls/{call_id}/move at the web edge (the real app over the test desk): who
may, what a bad body answers, and the ACD's refusals mapped by the edge's table."""

from __future__ import annotations

import pytest

import acd
from tests.test_web import login
from tests.test_web_support import World

URL = "/api/calls/pbx1:1.1/move"


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(world.app())


async def test_a_supervisor_moves_and_the_desk_is_asked(client, world):
    await login(client, "lan")
    resp = await client.post(URL, json={"queue": "billing", "priority": 5, "position": 1})
    assert resp.status == 200 and await resp.json() == {"call": None}
    assert world.desk.actions[-1][:5] == ("move", "pbx1:1.1", "billing", 5, 1)
    assert world.desk.actions[-1][5].startswith("supervisor:")


async def test_agents_may_not_move_calls(client, world):
    assert (await client.post(URL, json={"position": 1})).status == 401
    await login(client, "an")
    assert (await client.post(URL, json={"position": 1})).status == 403
    assert not [a for a in world.desk.actions if a[0] == "move"]


@pytest.mark.parametrize(("body", "field"), [
    ({}, "give a queue, a priority or a position"),
    ({"queue": None, "priority": None}, "give a queue, a priority or a position"),
    ({"priority": 1001}, "priority"),
    ({"priority": -1}, "priority"),
    ({"position": 0}, "position"),
    ({"queue": "no such/queue"}, "queue"),
    ({"position": 1, "agent": "7"}, "agent"),
])  # fmt: skip
async def test_a_bad_body_is_400_naming_the_field(client, world, body, field):
    await login(client, "lan")
    resp = await client.post(URL, json=body)
    assert resp.status == 400
    assert field in (await resp.json())["reason"]
    assert not [a for a in world.desk.actions if a[0] == "move"]


@pytest.mark.parametrize(("error", "status", "code"), [
    (acd.CallNotWaiting("pbx1:1.1", acd.CallState.OFFERED, ("7",)), 409, "call_not_waiting"),
    (acd.PastMaxWait("pbx1:1.1", "billing", 130.0, 120.0), 409, "past_max_wait"),
    (acd.UnknownCall("pbx1:1.1"), 404, "unknown_call"),
    (acd.UnknownQueue("billing"), 404, "unknown_queue"),
])  # fmt: skip
async def test_the_acds_refusals_map_to_statuses(client, world, monkeypatch, error, status, code):
    def refuse(*args: object) -> None:
        raise error

    monkeypatch.setattr(world.desk, "move_call", refuse)
    await login(client, "lan")
    resp = await client.post(URL, json={"position": 1})
    assert resp.status == status
    assert await resp.json() == {"error": code, "reason": str(error)}
