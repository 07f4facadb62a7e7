"""``POST /api/calls/{call_id}/callback`` over the whole hotline (the real web app,
controller, flow core and SQL; pbxsim with nobody calling): who may schedule a callback
(the call's own agent), each bad input refused with its field named and nothing
scheduled, the agent's time zone read for a time without an offset, and the request
listed by ``GET /api/callbacks`` with its due time, agent and note."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp
from yarl import URL

from callcenter.facts import RecordCallStarted, RecordCallUpdate

from .e2e_support import hotline_rig, no_caller_world
from .test_e2e_browser import agent_id_of
from .test_openapi import _cookie

NOW = dt.datetime.now(dt.UTC)
MINE = "pbxsim:1800000000.1"  # answered by agent1 in support
MINE2 = "pbxsim:1800000000.2"  # the same, for the time zone case
OTHER = "pbxsim:1800000000.3"  # answered by agent2
HIDDEN = "pbxsim:1800000000.4"  # agent1's, caller id withheld
NO_QUEUE = "pbxsim:1800000000.5"  # agent1's, never in a queue


def _iso(delta: dt.timedelta) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat()


async def _calls(rig: Any) -> None:
    me = await agent_id_of(rig, "agent1")
    other = await agent_id_of(rig, "agent2")
    for call_id, agent, number, queue in (
        (MINE, me, "0912000001", "support"), (MINE2, me, "0912000002", "support"),
        (OTHER, other, "0912000003", "support"), (HIDDEN, me, "anonymous", "support"),
        (NO_QUEUE, me, "0912000005", None),
    ):  # fmt: skip
        linkedid = call_id.split(":", 1)[1]
        await rig.hotline.store.apply(
            RecordCallStarted(call_id, linkedid, "pbxsim", NOW, caller_number=number),
            RecordCallUpdate(call_id, queue=queue, queued_at=NOW if queue else None,
                             answered_at=NOW, agent_id=agent, ended_at=NOW),
        )  # fmt: skip


async def test_only_the_calls_agent_schedules_a_callback_and_bad_input_is_named(
    tmp_path: Path, db_url: str
) -> None:
    async with hotline_rig(tmp_path, db_url, no_caller_world, agents=2) as rig:
        await _calls(rig)
        assert rig.hotline.urls is not None
        base = rig.hotline.urls.supervisor.rsplit("/supervisor", 1)[0]
        async with aiohttp.ClientSession() as http:
            cookies = {who: await _cookie(http, base, who)
                       for who in ("agent1", "agent2", "supervisor")}  # fmt: skip

        async def post(who: str | None, call: str, body: Any,
                       zone: str | None = None) -> tuple[int, dict[str, Any]]:  # fmt: skip
            jar = {} if who is None else {"hotline_session": cookies[who]}
            if zone is not None:
                jar["hotline_tz"] = zone
            async with aiohttp.ClientSession(cookies=jar) as http:
                async with http.post(f"{base}/api/calls/{call}/callback", json=body) as r:
                    return r.status, await r.json(content_type=None)

        soon = {"at": _iso(dt.timedelta(hours=2)), "note": "the invoice"}
        bad: list[tuple[str | None, str, Any, int, str]] = [
            (None, MINE, soon, 401, ""),
            ("supervisor", MINE, soon, 403, ""),
            ("agent2", MINE, soon, 403, "not_your_call"),
            ("agent1", OTHER, soon, 403, "not_your_call"),
            ("agent1", "pbxsim:9.9", soon, 404, "unknown_call"),
            ("agent1", "bad id!", soon, 400, "call_id"),
            ("agent1", NO_QUEUE, soon, 409, "no_queue"),
            ("agent1", MINE, {}, 400, "at"),
            ("agent1", MINE, {"at": "tomorrow at noon"}, 400, "at: String should match"),
            ("agent1", MINE, {"at": "2026-13-45T10:00+07:00"}, 400, "ISO-8601"),
            ("agent1", MINE, {"at": _iso(-dt.timedelta(minutes=1))}, 400, "in the past"),
            ("agent1", MINE, {"at": _iso(dt.timedelta(days=31))}, 400, "30 days ahead"),
            ("agent1", MINE, {**soon, "number": "09abc"}, 400, "number"),
            ("agent1", MINE, {**soon, "number": "0900"}, 400, "not a valid phone number"),
            ("agent1", HIDDEN, soon, 400, "the caller's number cannot be called back"),
            ("agent1", MINE, {**soon, "note": "a\x07b"}, 400, "note"),
            ("agent1", MINE, {**soon, "note": "x" * 501}, 400, "note"),
            ("agent1", MINE, {**soon, "when": "now"}, 400, "when"),
        ]
        for who, call, body, status, says in bad:
            got, answer = await post(who, call, body)
            assert got == status, (who, call, body, answer)
            if says:
                assert says in f"{answer.get('error')} {answer.get('reason')}", (body, answer)
        assert rig.hotline.controller.flow.scheduled() == [], "nothing scheduled"

        # scheduled: 201, with the number dialled and the queue
        got, answer = await post("agent1", MINE, soon)
        assert got == 201, answer
        assert (answer["number"], answer["queue"]) == ("0912000001", "support")
        due = dt.datetime.fromisoformat(answer["due_at"])
        assert due == dt.datetime.fromisoformat(soon["at"])
        got, answer = await post("agent1", MINE, soon)
        assert (got, answer["error"]) == (409, "already_scheduled"), answer
        # another number, a time without an offset: read in the desk's chosen zone
        local = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).astimezone(
            dt.timezone(dt.timedelta(hours=7))).replace(tzinfo=None, microsecond=0)  # fmt: skip
        got, answer = await post("agent1", MINE2, {"at": local.isoformat(),
                                                   "number": "+84912000099"},
                                 zone="Asia/Ho_Chi_Minh")  # fmt: skip
        assert got == 201, answer
        assert answer["time_zone"] == "Asia/Ho_Chi_Minh"
        assert dt.datetime.fromisoformat(answer["due_at"]) == local.replace(
            tzinfo=dt.timezone(dt.timedelta(hours=7)))  # fmt: skip
        assert [r.call_id for r in rig.hotline.controller.flow.scheduled()] == [MINE, MINE2]

        # GET /api/callbacks lists both with their due time, agent and note
        await rig.hotline.writer.flush(timeout=30)
        me = str(await agent_id_of(rig, "agent1"))
        async with aiohttp.ClientSession(
            cookies={"hotline_session": cookies["supervisor"]}
        ) as http:
            async with http.get(URL(f"{base}/api/callbacks")) as r:
                assert r.status == 200
                listed = (await r.json())["callbacks"]
        assert [(c["call_id"], c["node"], c["status"], c["agent_id"], c["note"], c["number"])
                for c in listed] == [
            (MINE, "desk", "pending", me, "the invoice", "0912000001"),
            (MINE2, "desk", "pending", me, None, "+84912000099"),
        ]  # fmt: skip
        assert dt.datetime.fromisoformat(listed[0]["due_at"]) == due
