"""``POST /api/calls/{call_id}/transfer`` over the real web app and a stand-in desk: who
may transfer a call (its own agent only), and every bad input named, nothing reaching
the controller."""

from __future__ import annotations

from typing import Any

import pytest

from tests.test_web import login
from tests.test_web_support import World

CALL = "pbx1:1700000000.42"  # agent 7's call, talking
OTHER = "pbx1:1700000000.50"  # agent 8's call
BARE = "pbx1:1700000000.60"  # agent 7's call, not talking (ringing)
TO_SALES = {"queue": "sales", "mode": "blind"}


@pytest.fixture
def world() -> World:
    w = World()
    w.desk.live_calls = {CALL: ("7", True), OTHER: ("8", True), BARE: ("7", False)}
    w.desk.not_talking = {BARE}
    return w


@pytest.fixture
async def client(aiohttp_client, world):
    return await aiohttp_client(world.app())


@pytest.mark.parametrize(
    ("who", "call", "body", "status", "error"),
    [
        (None, CALL, TO_SALES, 401, None),
        ("an", CALL, TO_SALES, 202, None),
        ("an", CALL, {"queue": "sales"}, 202, None),  # blind is the default
        ("an", OTHER, TO_SALES, 403, "not_your_call"),
        ("binh", CALL, TO_SALES, 403, "not_your_call"),
        ("lan", CALL, TO_SALES, 403, None),  # a supervisor: not the call's agent
        ("an", "pbx1:9.9", TO_SALES, 404, "unknown_call"),
        ("an", CALL, {"queue": "nowhere"}, 404, "unknown_queue"),
        ("an", BARE, TO_SALES, 409, "not_talking"),
        ("an", CALL, {}, 400, "queue"),
        ("an", CALL, {"queue": ""}, 400, "queue"),
        ("an", CALL, {"queue": "sa les"}, 400, "queue"),
        ("an", CALL, {"agent": "8"}, 202, None),  # to agent 8, in the call's queue
        ("an", CALL, {"queue": "sales", "agent": "8"}, 202, None),
        ("an", CALL, {"agent": "42"}, 404, "unknown_agent"),
        ("an", CALL, {"agent": "9"}, 409, "agent_unavailable"),  # logged out
        ("an", BARE, {"agent": "8"}, 409, "not_talking"),
        ("binh", CALL, {"agent": "8"}, 403, "not_your_call"),
        ("an", CALL, {"agent": "7"}, 400, "agent"),  # the call is already theirs
        ("an", CALL, {"agent": ""}, 400, "agent"),
        ("an", CALL, {"agent": "a b"}, 400, "agent"),
        ("an", CALL, {"agent": "8", "mode": "consult"}, 400, "mode"),
        ("an", CALL, {"mode": "blind"}, 400, "queue"),  # neither queue nor agent
        ("an", "bad id!", TO_SALES, 400, "call_id"),
    ],
)
async def test_only_the_calls_agent_transfers_it_and_bad_input_is_named(
    client: Any, world: World, who: str | None, call: str, body: Any, status: int,
    error: str | None,
) -> None:  # fmt: skip
    if who is not None:
        await login(client, who)
    resp = await client.post(f"/api/calls/{call}/transfer", json=body)
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] == "transfer"]
    if status == 202:
        queue, agent = body.get("queue"), body.get("agent")
        if agent is None:
            assert done == [("transfer", call, "sales", "7")]
        else:
            assert done == [("transfer", call, queue or "", "7", agent)]
        assert await resp.json() == {"call_id": call, "queue": queue, "agent": agent,
                                     "mode": "blind"}  # fmt: skip
        return
    assert done == [], "a refused request reached the controller"
    answer = await resp.json()
    if error is not None:
        assert error in (answer["error"] + " " + answer["reason"]), answer


@pytest.mark.parametrize(
    ("who", "call", "body", "status", "error"),
    [
        (None, CALL, {"agent": "8", "mode": "attended"}, 401, None),
        ("an", CALL, {"agent": "8", "mode": "attended"}, 202, None),
        ("an", CALL, {"agent": "8", "queue": "sales", "mode": "attended"}, 400, "queue"),
        ("an", CALL, {"mode": "attended"}, 400, "queue"),  # neither queue nor agent
        ("an", CALL, {"agent": "7", "mode": "attended"}, 400, "agent"),  # themself
        ("an", CALL, {"agent": "42", "mode": "attended"}, 404, "unknown_agent"),
        ("an", CALL, {"agent": "9", "mode": "attended"}, 409, "agent_unavailable"),
        ("an", CALL, {"agent": "busy8", "mode": "attended"}, 409, "agent_busy"),
        ("an", "pbx1:1700000000.70", {"agent": "8", "mode": "attended"}, 409, "consulting"),
        ("an", BARE, {"agent": "8", "mode": "attended"}, 409, "not_talking"),
        ("binh", CALL, {"agent": "8", "mode": "attended"}, 403, "not_your_call"),
        ("lan", CALL, {"agent": "8", "mode": "attended"}, 403, None),
        # a queue's next Ready agent (the ACD's pick), not a named one
        ("an", CALL, {"queue": "support", "mode": "attended"}, 202, None),
        ("an", CALL, {"queue": "sales", "mode": "attended"}, 409, "no_agent_ready"),
        ("an", CALL, {"queue": "nowhere", "mode": "attended"}, 404, "unknown_queue"),
        ("an", CALL, {"queue": "sa les", "mode": "attended"}, 400, "queue"),
        ("an", "pbx1:1700000000.70", {"queue": "support", "mode": "attended"}, 409,
         "consulting"),
        ("an", BARE, {"queue": "support", "mode": "attended"}, 409, "not_talking"),
        ("binh", CALL, {"queue": "support", "mode": "attended"}, 403, "not_your_call"),
    ],
)
async def test_an_attended_transfer_consults_the_agent_and_bad_input_is_named(
    client: Any, world: World, who: str | None, call: str, body: Any, status: int,
    error: str | None,
) -> None:  # fmt: skip
    world.desk.transfer_agents = {"8": True, "9": False, "busy8": True}
    world.desk.busy_agents = {"busy8"}
    world.desk.live_calls["pbx1:1700000000.70"] = ("7", True)
    world.desk.consulting = {"pbx1:1700000000.70": False}
    if who is not None:
        await login(client, who)
    resp = await client.post(f"/api/calls/{call}/transfer", json=body)
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] in ("consult", "transfer")]
    if status == 202:
        if "agent" in body:
            assert done == [("consult", call, "7", body["agent"])]
        else:
            assert done == [("consult", call, "7", None, body["queue"])]
        assert await resp.json() == {"call_id": call, "queue": body.get("queue"),
                                     "agent": body.get("agent"), "mode": "attended"}  # fmt: skip
        return
    assert done == [], "a refused request reached the controller"
    answer = await resp.json()
    if error is not None:
        assert error in (answer["error"] + " " + answer["reason"]), answer


CONSULTING = "pbx1:1700000000.70"  # agent 7's call, the consulted agent answered
RINGING = "pbx1:1700000000.71"  # agent 7's call, the consulted agent's phone rings


@pytest.mark.parametrize(
    ("who", "call", "action", "status", "error"),
    [
        (None, CONSULTING, "complete", 401, None),
        ("an", CONSULTING, "complete", 202, None),
        ("an", CONSULTING, "cancel", 202, None),
        ("an", RINGING, "cancel", 202, None),
        ("an", RINGING, "complete", 409, "not_answered"),
        ("an", CALL, "complete", 409, "not_consulting"),
        ("an", CALL, "cancel", 409, "not_consulting"),
        ("an", BARE, "cancel", 409, "not_talking"),
        ("an", "pbx1:9.9", "cancel", 404, "unknown_call"),
        ("an", "bad id!", "cancel", 400, "call_id"),
        ("binh", CONSULTING, "complete", 403, "not_your_call"),
        ("lan", CONSULTING, "cancel", 403, None),
    ],
)
async def test_only_the_consulting_agent_completes_or_cancels(
    client: Any, world: World, who: str | None, call: str, action: str, status: int,
    error: str | None,
) -> None:  # fmt: skip
    world.desk.live_calls.update({CONSULTING: ("7", True), RINGING: ("7", True)})
    world.desk.consulting = {CONSULTING: True, RINGING: False}
    if who is not None:
        await login(client, who)
    resp = await client.post(f"/api/calls/{call}/transfer/{action}")
    assert resp.status == status, await resp.text()
    done = [a for a in world.desk.actions if a[0] in ("complete", "cancel")]
    if status == 202:
        assert done == [(action, call, "7")]
        assert await resp.json() == {"call_id": call, "action": action}
        return
    assert done == [], "a refused request reached the controller"
    answer = await resp.json()
    if error is not None:
        assert error in (answer["error"] + " " + answer["reason"]), answer
