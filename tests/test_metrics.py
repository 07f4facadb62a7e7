"""/metrics: bounded labels, every label set exported before the first call, the
figures a real run gives (pbxsim over TCP, SQLite, the web app), and the counting
rules of ``callcenter.metrics.Metrics``."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

import acd
from acd import kpis
from callcenter.app import recent_service_levels
from callcenter.board import DayBoard, call_record
from callcenter.metrics import (
    AGENT_STATES,
    NO_QUEUE,
    OUTCOMES,
    FloorNow,
    Metrics,
    QueueNow,
)
from callcenter.reports.cli import report_of

from .e2e_support import drain, hotline_rig, no_caller_world, wait_until


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition (parsed by prometheus_client): (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


# -- the rules of counting ----------------------------------------------------------------


def test_an_ivr_hangup_is_counted_but_never_observed_as_a_queue_wait():
    # regression: IVR hang-ups were observed as 0 s queue waits (a flattered SL)
    m = Metrics(queues=["support"])
    m.call_outcome("ivr_hangup", 0.0)
    m.call_outcome("abandoned", 35.0, queue="support")
    text = m.render().decode()
    assert value(text, "hotline_calls_total", queue=NO_QUEUE, outcome="ivr_hangup") == 1
    assert value(text, "hotline_wait_seconds_count", queue=NO_QUEUE) is None
    assert value(text, "hotline_wait_seconds_count", queue="support") == 1
    assert value(text, "hotline_wait_seconds_bucket", queue="support", le="30.0") == 0
    assert value(text, "hotline_wait_seconds_bucket", queue="support", le="45.0") == 1


def test_every_label_set_is_there_before_anything_is_counted():
    m = Metrics(queues=["support", "sales"], nodes=["pbx1", "pbx2"])
    text = m.render().decode()
    for queue in ("support", "sales"):
        for outcome in OUTCOMES:
            assert value(text, "hotline_calls_total", queue=queue, outcome=outcome) == 0
        for state in AGENT_STATES:
            assert value(text, "hotline_queue_agents", queue=queue, state=state) == 0
        assert value(text, "hotline_calls_waiting", queue=queue) == 0
        assert value(text, "hotline_longest_wait_seconds", queue=queue) == 0
        for hist in ("hotline_wait_seconds", "hotline_talk_seconds", "hotline_wrap_up_seconds"):
            assert value(text, f"{hist}_count", queue=queue) == 0, hist
    for node in ("pbx1", "pbx2"):
        assert value(text, "hotline_ami_connected", node=node) == 0
        assert value(text, "hotline_ami_reconnects_total", node=node) == 0
    for reason in ("timeout", "error"):
        assert value(text, "hotline_crm_lookup_failures_total", reason=reason) == 0
    assert {state for (name, labels) in samples(text) if name == "hotline_agents"
            for k, state in labels if k == "state"} == set(AGENT_STATES)  # fmt: skip
    assert set(AGENT_STATES) == {"ready", "ringing", "talking", "wrapup", "paused", "offline"}
    assert len(AGENT_STATES) == len(acd.AgentState)


def test_a_queue_added_later_gets_its_series_once():
    m = Metrics(queues=["support"])
    m.call_outcome("answered", 3.0, queue="support", talk_s=40.0)
    m.know_queues(["support", "billing"])  # a reload: support's counts stay
    text = m.render().decode()
    assert value(text, "hotline_calls_total", queue="support", outcome="answered") == 1
    assert value(text, "hotline_calls_total", queue="billing", outcome="answered") == 0
    assert value(text, "hotline_talk_seconds_count", queue="support") == 1
    assert m.queues == ["support", "billing"]


def test_a_reconnect_is_a_link_back_up_after_it_was_up():
    m = Metrics(nodes=["pbx1"])
    m.ami_state("pbx1", False)  # connecting
    m.ami_state("pbx1", True)  # first connection: not a reconnect
    m.ami_state("pbx1", True)  # the same state told twice (connect, then link state)
    assert value(m.render().decode(), "hotline_ami_reconnects_total", node="pbx1") == 0
    m.ami_state("pbx1", False)
    assert value(m.render().decode(), "hotline_ami_connected", node="pbx1") == 0
    m.ami_state("pbx1", True)
    text = m.render().decode()
    assert value(text, "hotline_ami_reconnects_total", node="pbx1") == 1
    assert value(text, "hotline_ami_connected", node="pbx1") == 1


def test_the_floor_is_read_at_scrape_time():
    m = Metrics(queues=["support"])
    floor = {"now": FloorNow()}
    m.watch_floor(lambda: floor["now"])
    assert value(m.render().decode(), "hotline_calls_waiting", queue="support") == 0
    floor["now"] = FloorNow(
        {"ready": 1, "talking": 2}, {"support": QueueNow(3, 42.0, {"talking": 2})}
    )
    text = m.render().decode()
    assert value(text, "hotline_calls_waiting", queue="support") == 3
    assert value(text, "hotline_longest_wait_seconds", queue="support") == 42
    assert value(text, "hotline_queue_agents", queue="support", state="talking") == 2
    assert value(text, "hotline_agents", state="talking") == 2
    assert value(text, "hotline_agents", state="offline") == 0


def test_crm_failures_add_the_card_lookups_and_the_account_lookups():
    class Figures:
        timeouts = 2
        errors = 1

    m = Metrics()
    m.watch_crm(lambda: Figures())
    m.crm_account_failure("timeout")
    m.crm_lookup(0.004)
    text = m.render().decode()
    assert value(text, "hotline_crm_lookup_failures_total", reason="timeout") == 3
    assert value(text, "hotline_crm_lookup_failures_total", reason="error") == 1
    assert value(text, "hotline_crm_lookup_seconds_count") == 1


def test_a_screen_pop_is_timed_only_when_it_was_sent_to_an_open_desktop():
    m = Metrics()
    m.screen_pop_delivered("never-sent")
    m.screen_pop_sent("c1")
    m.screen_pop_delivered("c1")
    text = m.render().decode()
    assert value(text, "hotline_screen_pops_total") == 2
    assert value(text, "hotline_screen_pop_seconds_count") == 1


# -- a real run -----------------------------------------------------------------------------


async def scrape(rig: Any) -> str:
    assert rig.hotline.urls is not None
    async with aiohttp.ClientSession() as http:
        async with http.get(rig.hotline.urls.metrics) as resp:
            assert resp.status == 200
            return await resp.text()


async def test_a_real_run_exports_every_label_set_before_the_first_call(tmp_path: Path):
    db = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    async with hotline_rig(tmp_path, db, no_caller_world, agents=2) as rig:
        cfg = rig.hotline.config
        await wait_until(lambda: all(n.synced.is_set() for n in rig.ctl.nodes.values()),
                         60, "every node synced")  # fmt: skip
        await wait_until(
            lambda: value(rig.hotline.metrics.render().decode(), "hotline_agents",
                          state="ready") == 2, 60, "two agents ready")  # fmt: skip
        text = await scrape(rig)
        assert rig.ctl.counters["calls"] == 0
    queues = [q.name for q in cfg.queues]
    assert queues
    for queue in queues:
        for outcome in OUTCOMES:
            assert value(text, "hotline_calls_total", queue=queue, outcome=outcome) == 0
        assert value(text, "hotline_calls_waiting", queue=queue) == 0
        assert value(text, "hotline_longest_wait_seconds", queue=queue) == 0
        assert value(text, "hotline_queue_agents", queue=queue, state="ready") == 2
        for hist in ("hotline_wait_seconds", "hotline_talk_seconds", "hotline_wrap_up_seconds"):
            assert value(text, f"{hist}_count", queue=queue) == 0, hist
    for node in cfg.nodes:
        assert value(text, "hotline_ami_connected", node=node.name) == 1
        assert value(text, "hotline_ami_reconnects_total", node=node.name) == 0
    for name in cfg.ivr.nodes:
        assert value(text, "hotline_ivr_entries_total", flow=cfg.ivr.name, node=name) == 0
        assert value(text, "hotline_ivr_dropoffs_total", flow=cfg.ivr.name, node=name) == 0
    build = [s for (n, s) in samples(text) if n == "hotline_build_info"]
    assert len(build) == 1 and dict(build[0])["version"] not in ("", "unknown")


async def test_a_real_run_counts_talk_wrap_up_and_the_routing_decision(tmp_path: Path):
    db = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    async with hotline_rig(tmp_path, db, agents=2) as rig:

        def wrapped() -> bool:
            text = rig.hotline.metrics.render().decode()
            return (value(text, "hotline_wrap_up_seconds_count", queue="support") or 0) >= 1

        await wait_until(wrapped, 120, "a wrap-up to end")
        text = await scrape(rig)
    answered = value(text, "hotline_calls_total", queue="support", outcome="answered") or 0
    assert answered >= 1
    assert value(text, "hotline_talk_seconds_count", queue="support") == answered
    # wrap_up_s is 1 in the rig: each wrap-up is at least that long (buckets 0.5, 5)
    assert value(text, "hotline_wrap_up_seconds_bucket", queue="support", le="0.5") == 0
    assert (value(text, "hotline_routing_decision_seconds_count") or 0) >= 1
    assert (value(text, "hotline_crm_lookup_seconds_count") or 0) >= 1
    offered = value(text, "hotline_routing_decision_seconds_count")
    assert offered is not None and offered <= rig.ctl.counters["screen_pops_sent"]


def test_the_service_level_is_read_at_scrape_time_and_nan_without_calls():
    m = Metrics(queues=["support", "sales"])
    assert math.isnan(value(m.render().decode(), "hotline_service_level_30m_ratio",
                            queue="support") or 0.0)  # fmt: skip
    m.watch_service_level(lambda: {"support": 1 / 3, "sales": None})
    text = m.render().decode()
    assert value(text, "hotline_service_level_30m_ratio", queue="support") == pytest.approx(1 / 3)
    assert math.isnan(value(text, "hotline_service_level_30m_ratio", queue="sales") or 0.0)


def test_the_30_minute_service_level_is_the_wallboards_by_the_kpi_module():
    # hand-computed, T = 20 s, S = 5 s: left in the last 30 minutes: answered in 10 s and
    # 30 s, a short abandon (3 s), an abandon after 40 s: SL = 1 / (4 - 1); one answered
    # call left 31 minutes ago and is out of the window
    now = dt.datetime(2026, 12, 4, 12, 0).timestamp()  # local noon: the day is not rolling
    desk = SimpleNamespace(day=DayBoard({"support": kpis.QueueTargets(20, 5, 0.8)}, now))
    for n, (wait, outcome, ago) in enumerate(((5, "answered", 31 * 60), (10, "answered", 60),
                                              (30, "answered", 50), (3, "abandoned", 40),
                                              (40, "abandoned", 30))):  # fmt: skip
        desk.day.add(call_record(f"c{n}", "support", outcome, wait, now - ago))
    config = SimpleNamespace(queues=[SimpleNamespace(name="support")])
    levels = recent_service_levels(desk, config, now)  # type: ignore[arg-type]
    assert levels == {"support": pytest.approx(1 / 3)}


async def test_a_real_runs_service_level_is_the_wallboards_and_the_reports(
    tmp_path: Path,
):
    db = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    async with hotline_rig(tmp_path, db, agents=2) as rig:
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 4, 120, "four calls to end")
        await drain(rig)
        started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=29)
        text = await scrape(rig)
        board = rig.hotline.desk.wallboard()
        cfg = rig.hotline.config
        report = await report_of(cfg, started, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
                                 "queue")  # fmt: skip
    [row] = [r for r in report.rows if r.queue == "support"]
    assert row.figures.offered >= 1 and row.figures.service_level is not None
    exported = value(text, "hotline_service_level_30m_ratio", queue="support")
    assert exported == pytest.approx(row.figures.service_level)
    [tile] = [t for t in board["queues"] if t["name"] == "support"]
    assert tile["service_level_30m_pct"] == round(100 * exported, 1)
    [q] = [q for q in cfg.queues if q.name == "support"]
    assert value(text, "hotline_service_level_target_ratio", queue="support") == pytest.approx(
        q.sl_target_pct / 100
    )
    assert value(text, "hotline_service_level_threshold_seconds", queue="support") == (
        q.sl_threshold_s
    )
    assert value(text, "hotline_longest_wait_limit_seconds", queue="support") == (
        q.longest_wait_limit_s
    )


async def test_a_real_ami_outage_shows_the_link_down_then_one_reconnect(tmp_path: Path):
    db = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    async with hotline_rig(tmp_path, db, no_caller_world, agents=1) as rig:
        await rig.ctl.wait_synced(60)
        [node] = [n.name for n in rig.hotline.config.nodes]

        def link(name: str) -> float | None:
            return value(rig.hotline.metrics.render().decode(), name, node=node)

        assert (link("hotline_ami_connected"), link("hotline_ami_reconnects_total")) == (1, 0)
        await rig.sim.stop_listener()  # Asterisk's AMI goes away
        await wait_until(lambda: link("hotline_ami_connected") == 0, 60, "the link seen down")
        assert link("hotline_ami_reconnects_total") == 0
        await rig.sim.start_listener()
        await wait_until(lambda: link("hotline_ami_connected") == 1, 120, "the link back up")
        await rig.ctl.wait_synced(60)
        text = await scrape(rig)
    assert value(text, "hotline_ami_reconnects_total", node=node) == 1
