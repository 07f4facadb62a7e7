"""A callback scheduled from the desk is dialled at its time, not before, and reaches the
customer (flow core rule 18). Chromium over the whole hotline (pbxsim over real AMI,
SQLite and PostgreSQL): a caller talks to agent 1; on the disposition form the agent
picks a time a few seconds ahead in their chosen zone (Asia/Bangkok, not the
hotline's UTC) and schedules a callback with a note. Nothing rings before that time; at
it the agent's phone rings into the callback context, the desk's pop says who
scheduled it and the note, the customer answers, and the callback ends
``callback_completed`` once, its request row ``completed``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.flow.callback import scheduled_call_id
from callcenter.storage.models import CallbackRequest, CallEvent, QueueOutcome

from .e2e_support import wait_until
from .test_e2e_browser import (
    LIVE_MS,
    agent_id_of,
    chromium,
    expect,
    log_in,
    open_page,
    pytestmark,  # noqa: F401 (skipped without Chromium)
)
from .test_e2e_callback import Heard, _call, callback_rig

ZONE = dt.timezone(dt.timedelta(hours=7))  # Asia/Bangkok (the picker lists it): no DST
#: how far ahead the callback is set: long enough to see nothing ring before it
AHEAD_S = 20


async def _sql(rig: Any, source: str) -> tuple[list[Any], list[Any], list[Any]]:
    await rig.hotline.writer.flush()
    cb = scheduled_call_id(source)
    async with rig.hotline.store.sessions() as s:
        requests = list(await s.scalars(select(CallbackRequest)
                                        .where(CallbackRequest.call_id == source)))  # fmt: skip
        events = list(await s.scalars(select(CallEvent).where(CallEvent.call_id == cb)
                                      .order_by(CallEvent.id)))  # fmt: skip
        outcomes = list(await s.scalars(select(QueueOutcome).where(QueueOutcome.call_id == cb)))
    return requests, events, outcomes


async def test_a_callback_scheduled_on_the_desk_rings_at_its_time_and_completes(
    tmp_path: Path, db_url: str
) -> None:
    heard = Heard()
    number = "0912000101"
    errors: list[str] = []
    async with callback_rig(tmp_path, db_url, {number: ["answer"]}, heard=heard) as rig:
        sim, ctl = rig.sim, rig.ctl
        rung: list[dt.datetime] = []  # when pbxsim saw the agent leg's whisper begin

        def on_whisper(name: str, data: bytes) -> None:
            if name == "AGIExecStart" and b"callback-whisper" in data:
                rung.append(dt.datetime.now(dt.UTC))

        sim.world.listeners.append(on_whisper)
        me = str(await agent_id_of(rig, "agent1"))
        async with chromium() as browser:
            desk = await open_page(browser, errors)
            await log_in(desk, rig.hotline.urls.agent, "agent1")
            await desk.select_option("#tz", "Asia/Bangkok")
            await ctl.agent_ready(me)
            await ctl.wait_synced(30)
            caller = sim.world.population.arrive(number, ("1",), patience=600)
            await wait_until(lambda: caller.talked, 90, "the caller talking to agent 1")
            source = await desk.locator("#call-id").text_content()
            assert source and source.startswith("pbxsim:")
            await wait_until(lambda: caller.outcome, 90, "the first call over")

            # the form: a time AHEAD_S seconds from now, as the agent's zone reads it
            due = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=AHEAD_S)).replace(microsecond=0)
            local = due.astimezone(ZONE).replace(tzinfo=None).isoformat()
            await desk.fill("#sched-at", local)
            await desk.fill("#sched-note", "wants the invoice resent")
            await desk.click("#sched-submit")
            await expect(desk.get_by_test_id("sched-result")).to_contain_text(
                f"Callback scheduled for {due.astimezone(ZONE):%Y-%m-%d %H:%M} to {number}",
                timeout=LIVE_MS)  # fmt: skip
            cb = scheduled_call_id(source)
            assert [r.call_id for r in ctl.flow.scheduled()] == [source]
            assert _call(rig, number) is None, "nothing in line before its time"

            def agent_rung() -> str | None:
                return next((ch for ch, steps in heard.steps.items()
                             if ch.startswith("PJSIP/1001")
                             and any("callback-whisper" in c for c, _r in steps)), None)  # fmt: skip

            # the desk says who scheduled it, with the note, when the phone rings
            await expect(desk.get_by_test_id("callback-note")).to_contain_text(
                f"Scheduled by agent {me}. Note: wants the invoice resent",
                timeout=(AHEAD_S + 60) * 1000)  # fmt: skip
            await wait_until(agent_rung, 90, "the agent's phone in the callback context")
            assert rung and rung[0] >= due, (rung, due)  # dialled at its time, not before

            def customer_talking() -> Any:
                return next((ch for ch in sim.world.channels.values()
                             if ch.name.startswith(f"Local/{number}@hotline-callback-out")
                             and ch.name.endswith(";1") and ch.bridge is not None), None)  # fmt: skip

            await wait_until(customer_talking, 90, "the customer bridged with the agent")
            sim.world.hangup(customer_talking().peer, how="remote", cause=16)

            async def completed() -> bool:
                requests, _events, _outcomes = await _sql(rig, source)
                return bool(requests) and requests[0].status == "completed"

            deadline = 90
            start = dt.datetime.now(dt.UTC)
            while not await completed():
                assert (dt.datetime.now(dt.UTC) - start).total_seconds() < deadline, "completed"
                await desk.wait_for_timeout(200)
            requests, events, outcomes = await _sql(rig, source)
    assert errors == []
    [request] = requests
    assert (request.node, request.number, request.queue, request.agent_id, request.note) == (
        "desk", number, "support", int(me), "wants the invoice resent")  # fmt: skip
    assert request.due_at is not None and request.due_at.replace(tzinfo=dt.UTC) == due
    queued = next(e for e in events if e.kind == "callback_queued")
    assert queued.at.replace(tzinfo=dt.UTC) >= due, "entered the queue at its time"
    assert [e.data for e in events if e.kind == "callback_completed"] == [
        {"attempts": 1, "agent": me}]  # fmt: skip
    [outcome] = outcomes
    assert (outcome.call_id, outcome.outcome) == (cb, "answered")
