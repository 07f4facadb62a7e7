"""A callback scheduled from the desk survives a controller restart (flow core rule 18).

The whole hotline (pbxsim over real AMI, SQLite and PostgreSQL): agent 1's answered
call is in SQL; the agent schedules a callback on it (the API the desk posts to) a few
seconds ahead; the controller stops before it is due. A new controller reads the
pending request back (nothing written again), waits for its time, then dials it: the
agent's leg hears the whisper at or after the due time, the customer answers, the
request ends ``completed``, one ``callback_completed``."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.app import Hotline
from callcenter.config import load_config
from callcenter.flow.callback import scheduled_call_id
from callcenter.storage.models import CallbackRequest

from .e2e_support import wait_until
from .test_e2e_callback import callback_rig
from .test_e2e_callback_scheduled import _sql
from .test_openapi import _cookie
from .test_web_scheduled_callback import _calls

SOURCE = "pbxsim:1800000000.1"  # agent1's answered call (test_web_scheduled_callback)
NUMBER = "0912000001"
AHEAD_S = 15


async def test_a_scheduled_callback_is_dialled_after_a_restart(
    tmp_path: Path, db_url: str
) -> None:
    async with callback_rig(tmp_path, db_url, {NUMBER: ["answer"]}, agents=2) as rig:
        await _calls(rig)
        base = rig.hotline.urls.supervisor.rsplit("/supervisor", 1)[0]
        due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=AHEAD_S)).replace(microsecond=0)
        async with aiohttp.ClientSession() as http:
            cookie = await _cookie(http, base, "agent1")
        async with aiohttp.ClientSession(cookies={"hotline_session": cookie}) as http:
            async with http.post(f"{base}/api/calls/{SOURCE}/callback",
                                 json={"at": due.isoformat(), "note": "n"}) as r:  # fmt: skip
                assert r.status == 201, await r.text()
        await rig.hotline.writer.flush()
        me = str(next(a.id for a in await rig.hotline.store.list_agents()
                      if a.username == "agent1"))  # fmt: skip
        await rig.hotline.stop()  # before it is due
        rig.hotline.runner = rig.hotline.metrics_runner = None
        assert dt.datetime.now(dt.UTC) < due, "the first controller stopped in time"

        rung: list[dt.datetime] = []

        def on_whisper(name: str, data: bytes) -> None:
            if name == "AGIExecStart" and b"callback-whisper" in data:
                rung.append(dt.datetime.now(dt.UTC))

        rig.sim.world.listeners.append(on_whisper)
        again = Hotline(load_config(rig.config_path), web_port=0, auto_login_agents=False)
        try:
            await again.start()
            ctl: Any = again.controller
            await wait_until(lambda: [r.call_id for r in ctl.flow.scheduled()] == [SOURCE]
                             or scheduled_call_id(SOURCE) in ctl.flow.calls, 60,
                             "the request read back")  # fmt: skip
            await ctl.agent_ready(me)

            def customer_talking() -> Any:
                return next((ch for ch in rig.sim.world.channels.values()
                             if ch.name.startswith(f"Local/{NUMBER}@hotline-callback-out")
                             and ch.name.endswith(";1") and ch.bridge is not None), None)  # fmt: skip

            await wait_until(customer_talking, AHEAD_S + 90, "the customer bridged")
            rig.sim.world.hangup(customer_talking().peer, how="remote", cause=16)
            rig.hotline = again  # _sql reads through rig.hotline
            start = dt.datetime.now(dt.UTC)
            while True:
                requests, events, outcomes = await _sql(rig, SOURCE)
                if requests and requests[0].status != "pending" and outcomes:
                    break
                assert (dt.datetime.now(dt.UTC) - start).total_seconds() < 90, requests
                await asyncio.sleep(0.2)
        finally:
            await again.stop()
            rig.hotline.runner = rig.hotline.metrics_runner = None
    assert rung and rung[0] >= due, (rung, due)
    [request] = requests
    assert isinstance(request, CallbackRequest)
    assert (request.status, request.attempts, request.agent_id) == ("completed", 1, int(me))
    assert [e.data for e in events if e.kind == "callback_completed"] == [
        {"attempts": 1, "agent": me}]  # fmt: skip
    assert [o.outcome for o in outcomes] == ["answered"]
