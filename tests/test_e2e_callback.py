"""The queued callback over the whole hotline: pbxsim over real AMI, real SQL.

A caller on hold presses 1 during the music, confirms its number and hangs up; its
virtual caller keeps its place: a caller who entered later is not served first. At its
turn the agent's phone rings into the callback context, the agent hears the whisper
and the number, the customer's phone rings and is not answered; the agent is released,
and after ``retry_s`` the callback is put through again: the customer answers, talks,
and the call ends ``callback_completed`` with two attempts (outcome ``answered``).
What the caller and the agent heard is read from pbxsim's side (the AGI commands
their channels ran, with results), the outcomes from SQL.
"""

from __future__ import annotations

import datetime as dt
import textwrap
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import aiohttp
import pytest
from sqlalchemy import select

from callcenter.config import load_config
from callcenter.reports.cli import report_of
from callcenter.storage.models import Call, CallbackRequest, CallEvent, QueueOutcome

from .e2e_support import Rig, headers, hotline_rig, scenario, wait_until

FLOW = textwrap.dedent(
    """\
    name: care
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/main-menu
    nodes:
      main:
        prompt: menu
        timeout_s: 8
        options:
          1: {queue: support}
    """
)
CALLBACK_PROMPTS = ("offer", "number-is", "confirm", "enter-number", "invalid-number",
                    "say-name", "thanks", "whisper")  # fmt: skip
SETTINGS = """    callback:
      offer_after_s: 0
      max_attempts: 3
      retry_s: 2
      customer_timeout_s: 3
"""


def world_with(plans: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def world(numbers: list[str]) -> dict[str, Any]:
        # the customers' phones are agents-table phones keyed by their number (pbxsim)
        phones: dict[str, Any] = {n: {"plan": p, "answer_delay": 1} for n, p in plans.items()}
        w = scenario(numbers, arrivals={"kind": "trace", "calls": []},
                     callers={"press_delay": [1.0, 1.2]},
                     agents={"default": {"answer_delay": [1, 1.5], "talk_time": [3, 4],
                                         "agent_hangs_up_probability": 0.0},
                             "phones": phones})  # fmt: skip
        w["prompts"] = {"hotline/vi/main-menu": 1.0, "hotline/vi/callback-offer": 0.05}
        w["prompts"].update({f"hotline/vi/callback-{p}": 1.0 for p in CALLBACK_PROMPTS
                             if p != "offer"})  # fmt: skip
        return w

    return world


@asynccontextmanager
async def callback_rig(
    tmp_path: Path, db_url: str, answers: dict[str, list[str]], *, agents: int = 1,
    heard: Heard | None = None, **options: Any,
) -> AsyncIterator[Rig]:
    """The hotline on the callback flow (``FLOW``, the queue ``configured``), pbxsim's
    customers answering each attempt as ``answers`` says (``world_with``), ``agents``
    logged out, an offer ringing 20 s; ``heard`` (when given) hears pbxsim's world."""
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    async with hotline_rig(tmp_path, db_url, world_with(answers), ivr_file=ivr,
                           auto_login=False, agents=agents, offer_timeout_s=20,
                           edit_config=configured, **options) as rig:  # fmt: skip
        if heard is not None:
            rig.sim.world.listeners.append(heard.on_event)
        yield rig


def configured(text: str) -> str:
    return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n" + SETTINGS, 1)


@dataclass
class Heard:
    """Per channel, in order: (AGI command, its result) and bridge entries, from pbxsim."""

    steps: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    music: dict[str, list[str]] = field(default_factory=dict)
    #: per channel, when (this process's monotonic clock) its first hold music began
    held_at: dict[str, float] = field(default_factory=dict)

    def on_event(self, name: str, data: bytes) -> None:
        if name == "AGIExecStart" and headers(data)["Command"].startswith("SET MUSIC ON"):
            self.held_at.setdefault(headers(data)["Channel"], time.monotonic())
        if name in ("AGIExecEnd", "BridgeEnter"):
            h = headers(data)
            step = (h["Command"], "") if name == "AGIExecEnd" else ("Bridge", "")
            self.steps.setdefault(h["Channel"], []).append(step)
        elif name == "AsyncAGIExec":  # the reply of the command that just ended
            h = headers(data)
            steps = self.steps.get(h["Channel"])
            if steps and steps[-1][1] == "":
                steps[-1] = (steps[-1][0], unquote(h.get("Result", "")))
        elif name in ("MusicOnHoldStart", "MusicOnHoldStop"):
            self.music.setdefault(headers(data)["Channel"], []).append(name)

    def commands(self, channel: str) -> list[str]:
        return [c for c, _r in self.steps.get(channel, [])]


def _call(rig: Rig, number: str) -> Any:
    return next((c for c in rig.ctl.core.snapshot(rig.ctl.now()).calls
                 if c.caller_number == number), None)  # fmt: skip


async def _rows(rig: Rig, number: str) -> tuple[Any, list[Any], list[Any], list[Any]]:
    await rig.hotline.writer.flush()
    async with rig.hotline.store.sessions() as s:
        [call] = list(await s.scalars(select(Call).where(Call.caller_number == number)))
        events = list(await s.scalars(select(CallEvent).where(CallEvent.call_id == call.id)
                                      .order_by(CallEvent.id)))  # fmt: skip
        outcomes = list(await s.scalars(select(QueueOutcome).where(QueueOutcome.call_id == call.id)))
        requests = list(await s.scalars(select(CallbackRequest)
                                        .where(CallbackRequest.call_id == call.id)))  # fmt: skip
    return call, events, outcomes, requests


async def _virtual_caller(rig: Rig, heard: Heard, number: str) -> Any:
    """``number`` calls, presses 1 at the menu, 1 during the hold music, 1 to confirm its
    number, and is hung up: its call waits on as a virtual caller."""
    caller = rig.sim.world.population.arrive(number, ("1", "1", "1"), patience=600)
    await wait_until(lambda: caller.outcome, 90, "the caller to be hung up after the dialog")
    await wait_until(lambda: _call(rig, number) is not None, 30, "its call in the ACD")
    return caller


async def test_pressing_1_during_the_hold_music_starts_the_callback_dialog(
    tmp_path: Path, db_url: str
) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    heard = Heard()
    async with hotline_rig(tmp_path, db_url, world_with({}), ivr_file=ivr, auto_login=False,
                           agents=1, edit_config=configured) as rig:  # fmt: skip
        rig.sim.world.listeners.append(heard.on_event)
        number = rig.numbers[0]
        caller = await _virtual_caller(rig, heard, number)
        view = _call(rig, number)
        call, events, outcomes, requests = await _rows(rig, number)
    steps = heard.steps[caller.channel]
    commands = [c for c, _r in steps]
    dialog = commands.index('STREAM FILE hotline/vi/callback-number-is ""')
    # the 1 ended a hold slice, with the music on (15, 22): WAIT FOR DIGIT said 49
    wait, result = steps[dialog - 1]
    assert wait.startswith("WAIT FOR DIGIT") and "result=49" in result, steps
    music_on = max(i for i, c in enumerate(commands[:dialog]) if c == "SET MUSIC ON default")
    assert all(c.startswith("WAIT FOR DIGIT") for c in commands[music_on + 1 : dialog]), steps
    assert "MusicOnHoldStart" in heard.music[caller.channel]
    assert commands[dialog:] == [
        'STREAM FILE hotline/vi/callback-number-is ""',
        f'SAY DIGITS {number.lstrip("+")} ""',
        "GET DATA hotline/vi/callback-confirm 5000 1",
        'STREAM FILE hotline/vi/callback-thanks ""',
        "HANGUP",
    ], steps
    assert caller.outcome == "ended", "hung up by the hotline, not out of patience"
    # the caller is gone; its call is still in line, no outcome, the request stored
    assert view is not None and view.queue == "support" and view.position == 1
    assert outcomes == [] and call.outcome is None
    kinds = [e.kind for e in events]
    assert kinds.index("callback_offered") < kinds.index("callback_dialog") < kinds.index(
        "callback_queued")  # fmt: skip
    [req] = requests
    assert (req.number, req.queue, req.node, req.own_number) == (number, "support", "queued", True)


async def test_a_callback_keeps_its_place_and_completes_after_a_no_answer_retry(
    tmp_path: Path, db_url: str
) -> None:
    heard = Heard()
    first, later = "0912000101", "0912000102"
    async with callback_rig(tmp_path, db_url, {first: ["noanswer", "answer"]},
                            heard=heard) as rig:  # fmt: skip
        ctl, sim = rig.ctl, rig.sim
        [agent] = [str(a.id) for a in await rig.hotline.store.list_agents()
                   if a.username == "agent1"]  # fmt: skip
        await _virtual_caller(rig, heard, first)
        # a caller who enters later, and waits (no callback for it: it presses nothing)
        later_caller = sim.world.population.arrive(later, ("1",), patience=600)
        await wait_until(lambda: _call(rig, later) is not None, 60, "the later caller in line")
        assert _call(rig, first).position == 1 and _call(rig, later).position == 2
        # its wait runs from its entry, before the dialog: the place was never given up
        held = heard.held_at[next(ch for ch in heard.steps if ch.startswith("PJSIP/trunk")
                                  and ch in heard.held_at)]  # fmt: skip
        assert _call(rig, first).wait_s >= time.monotonic() - held - 0.2
        await ctl.agent_ready(agent)

        # the agent is rung for the callback, not for the later caller
        def agent_leg() -> str | None:
            return next((ch for ch, steps in heard.steps.items() if ch.startswith("PJSIP/1001")
                         and any("callback-whisper" in c for c, _r in steps)), None)  # fmt: skip

        await wait_until(agent_leg, 60, "the agent's phone in the callback context")
        assert not later_caller.talked, "the later caller was not served first"
        # the customer does not answer: the later caller talks meanwhile, then the retry
        await wait_until(lambda: later_caller.talked, 90, "the later caller served meanwhile")
        await wait_until(lambda: len([ch for ch in sim.world.channels
                                      if ch.startswith(f"Local/{first}@")]) >= 2, 90,
                         "the customer's phone rung again")  # fmt: skip

        def customer_talking() -> Any:
            return next((ch for ch in sim.world.channels.values()
                         if ch.name.startswith(f"Local/{first}@hotline-callback-out")
                         and ch.name.endswith(";1") and ch.bridge is not None), None)  # fmt: skip

        await wait_until(customer_talking, 90, "the customer bridged with the agent")
        leg = customer_talking()
        sim.world.hangup(leg.peer, how="remote", cause=16)  # the customer hangs up
        await wait_until(lambda: ctl.counters["outcomes"] >= 2, 60, "both outcomes")
        call, events, outcomes, requests = await _rows(rig, first)
    # SQL: one outcome, answered by the agent; two attempts, the first not answered
    [outcome] = outcomes
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == ("support", "answered", int(agent))
    kinds = [e.kind for e in events]
    attempts = [e.data for e in events if e.kind == "callback_attempt"]
    assert [a["attempt"] for a in attempts] == [1, 2]
    [missed] = [e.data for e in events if e.kind == "callback_no_answer"]
    assert missed["why"] == "no-answer"
    [done] = [e.data for e in events if e.kind == "callback_completed"]
    assert done == {"attempts": 2, "agent": agent}
    assert kinds.index("callback_no_answer") < kinds.index("callback_answered")
    # pbxsim: each agent leg heard the whisper and the number before the customer rang
    legs = [ch for ch in heard.steps if ch.startswith("PJSIP/1001")
            and any("callback-whisper" in c for c in heard.commands(ch))]  # fmt: skip
    assert len(legs) == 2, heard.steps.keys()
    for ch in legs:
        assert heard.commands(ch)[:2] == ['STREAM FILE hotline/vi/callback-whisper ""',
                                          f'SAY DIGITS {first} ""'], heard.steps[ch]  # fmt: skip
    assert ("Bridge", "") in heard.steps[legs[1]]


async def test_the_acds_live_figures_and_the_wallboard_agree_with_the_report(
    tmp_path: Path, db_url: str
) -> None:
    # docs/kpis.md "What the ACD's live figures count": a callback whose first attempt
    # reached nobody and a caller overflowed from billing into support each count once,
    # in the ACD's tallies and the wallboard's estimate inputs as in the report (SQL)
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW.replace("          1: {queue: support}\n",
                                "          1: {queue: support}\n          2: {queue: billing}\n"))
    first, second = "0912000101", "0912000102"
    world = world_with({first: ["noanswer", "answer"]})

    def edit(text: str) -> str:
        return configured(text).replace(
            SETTINGS, SETTINGS + "  - name: billing\n    max_wait_s: 2\n"
            "    overflow: {queue: support}\n", 1)  # fmt: skip

    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr, auto_login=False, agents=1,
                           offer_timeout_s=20, edit_config=edit) as rig:  # fmt: skip
        ctl, sim = rig.ctl, rig.sim
        [agent] = [str(a.id) for a in await rig.hotline.store.list_agents()
                   if a.username == "agent1"]  # fmt: skip
        await _virtual_caller(rig, Heard(), first)
        overflowing = sim.world.population.arrive(second, ("2",), patience=600)
        await wait_until(lambda: getattr(_call(rig, second), "queue", None) == "support", 60,
                         "the billing caller overflowed into support")  # fmt: skip
        await ctl.agent_ready(agent)
        await wait_until(lambda: overflowing.talked, 120, "the overflowed caller served")
        await wait_until(lambda: len([ch for ch in sim.world.channels
                                      if ch.startswith(f"Local/{first}@")]) >= 2, 120,
                         "the customer's phone rung again")  # fmt: skip

        def customer_talking() -> Any:
            return next((ch for ch in sim.world.channels.values()
                         if ch.name.startswith(f"Local/{first}@hotline-callback-out")
                         and ch.name.endswith(";1") and ch.bridge is not None), None)  # fmt: skip

        await wait_until(customer_talking, 90, "the customer bridged with the agent")
        sim.world.hangup(customer_talking().peer, how="remote", cause=16)
        await wait_until(lambda: ctl.counters["outcomes"] >= 2, 60, "both outcomes")
        await rig.hotline.writer.flush()
        live = {q: ctl.core.queue_stats(q, ctl.now()) for q in ("support", "billing")}
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            base = rig.hotline.urls.base
            login = {"username": "supervisor", "password": "supervisor-pass"}
            async with http.post(f"{base}/login", data=login) as resp:
                resp.raise_for_status()
            async with http.get(f"{base}/api/wallboard") as resp:
                board = await resp.json()
        call, events, _outcomes, _requests = await _rows(rig, first)
    assert [e.data["why"] for e in events if e.kind == "callback_no_answer"] == ["no-answer"]
    now = dt.datetime.now(dt.UTC)
    report = await report_of(load_config(rig.config_path), now - dt.timedelta(days=1),
                             now + dt.timedelta(days=1), "queue")  # fmt: skip
    rows = {row.queue: row.figures for row in report.rows}
    tiles = {t["name"]: t for t in board["queues"]}
    assert (rows["support"].offered, rows["support"].answered, rows["billing"].offered) == (2, 2, 0)
    for queue in ("support", "billing"):
        f, acd_live, inputs = rows[queue], live[queue], tiles[queue]["ewt_inputs"]
        assert (acd_live.offered, acd_live.answered, acd_live.abandoned, acd_live.timed_out) == (
            f.offered, f.answered, f.abandoned, f.timed_out), queue  # fmt: skip
        assert acd_live.waiting == 0
        assert acd_live.asa_s == (None if f.asa_s is None else pytest.approx(f.asa_s)), queue
        # the wallboard's estimate inputs: one talk sample per answered call, the report's
        assert inputs["talk_samples"] == f.handled, queue
        if f.handled:
            assert inputs["talk_s"] == round(f.talk_s / f.handled, 1), queue
