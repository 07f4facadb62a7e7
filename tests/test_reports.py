"""``callcenter report`` and ``acd.kpis`` on a fixed scenario with hand-computed KPIs
(``tests/kpi_scenario.py``), over SQLite and PostgreSQL, as a process the way an
operator runs it; bad input refused with a reason; intervals in the hotline's zone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from acd.kpis import CallbackRecord, CallRecord, Figures, QueueTargets, SurveyRecord, figures_by
from callcenter.config import ConfigError, load_config
from callcenter.demo import config_text
from callcenter.reports.build import ReportData, bucket_start, build_report
from callcenter.reports.cli import parse_when
from callcenter.storage import Store, make_engine, make_session_factory, migrate

from .kpi_scenario import CALLS, EXPECTED, SINCE, UNTIL, ZONE, kpi_config, write_scenario

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "callcenter.cli", *args], capture_output=True, text=True,
        cwd=ROOT, timeout=120, env=dict(os.environ),
    )  # fmt: skip


def write_config(tmp_path: Path, db_url: str, extra: str = "") -> Path:
    (tmp_path / "monitor").mkdir(exist_ok=True)
    text = config_text(ami_port=5038, database_url=db_url, monitor=tmp_path / "monitor")
    cfg = tmp_path / "hotline.yaml"
    cfg.write_text(kpi_config(text) + extra)
    return cfg


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(db_url)
    engine = make_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def scenario_db(engine: AsyncEngine, db_url: str) -> str:
    from argon2 import PasswordHasher

    store = Store(make_session_factory(engine),
                  hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fmt: skip
    await write_scenario(store)
    return db_url


def check(row: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    for name, value in expected.items():
        got = row[name]
        if isinstance(value, float):
            assert got == pytest.approx(value, rel=1e-9, abs=1e-9), (what, name, got, value)
        else:
            assert got == value, (what, name, got, value)


def check_survey(row: dict[str, Any], expected: dict[str, Any], what: str) -> None:
    check(row["survey"], expected, what)


# -- the report, as a process, on both databases --------------------------------------


def test_the_json_report_gives_the_hand_computed_figures(tmp_path: Path, scenario_db: str) -> None:
    cfg = str(write_config(tmp_path, scenario_db))
    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["by"], doc["time_zone"]) == ("queue", ZONE)
    assert doc["from"] == "2026-12-01T09:00:00+07:00" and doc["to"] == "2026-12-01T11:00:00+07:00"
    rows = {r["queue"]: r for r in doc["rows"]}
    assert sorted(rows) == ["sales", "support"]
    check(rows["support"], EXPECTED["support"], "support")
    check_survey(rows["support"], EXPECTED["support survey"], "support")
    check(rows["sales"], EXPECTED["sales"], "sales")

    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--by", "hour",
               "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    hours = {f"{r['interval'][-5:]} {r['queue']}": r for r in json.loads(done.stdout)["rows"]}
    assert sorted(hours) == ["09:00 sales", "09:00 support", "10:00 support"]
    for key in ("09:00 support", "10:00 support"):
        check(hours[key], EXPECTED[key], key)
        assert hours[key]["span_s"] == 3600.0
    assert hours["09:00 support"]["interval_start"] == "2026-12-01T09:00:00+07:00"

    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--by", "agent",
               "--format", "json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    agents = {r["agent"]: r for r in json.loads(done.stdout)["rows"]}
    assert sorted(agents) == ["alice", "bob"]
    for name in ("alice", "bob"):
        check(agents[name], EXPECTED[name], name)
        check_survey(agents[name], EXPECTED[f"{name} survey"], name)
        assert agents[name]["offered"] == 0 and agents[name]["service_level"] is None


def test_the_table_and_csv_give_the_same_figures_rounded(tmp_path: Path, scenario_db: str) -> None:
    cfg = str(write_config(tmp_path, scenario_db))
    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = {r["queue"]: r for r in csv.DictReader(io.StringIO(done.stdout))}
    s = rows["support"]
    # the scenario's figures, in percent and seconds rounded to 0.1
    assert (s["offered"], s["answered"], s["abandoned"], s["short_abandoned"],
            s["timed_out"]) == ("10", "6", "3", "1", "1")  # fmt: skip
    assert (s["sl_pct"], s["sl_app_queue_pct"], s["sl_app_queue2_pct"], s["abandon_pct"]) == (
        "44.4", "66.7", "66.7", "22.2")  # fmt: skip
    assert (s["asa_s"], s["aht_s"], s["longest_wait_s"]) == ("15", "158.3", "60")
    assert (s["fcr_pct"], s["transfer_pct"]) == ("60", "16.7")
    assert (s["surveyed"], s["csat_avg"], s["csat_pct"], s["nps"], s["ces_avg"]) == (
        "4", "3.5", "50", "25", "4")  # fmt: skip
    assert (s["callbacks"], s["callback_success_pct"]) == ("3", "50")
    assert (s["calls_per_hour"], s["agents_needed"]) == ("5", "1")
    sales = rows["sales"]
    assert (sales["sl_pct"], sales["abandon_pct"], sales["aht_s"], sales["agents_needed"]) == (
        "0", "100", "", "")  # fmt: skip

    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--by", "agent")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert (
        lines[0] == f"agent report 2026-12-01T09:00:00+07:00 to 2026-12-01T11:00:00+07:00 ({ZONE})"
    )
    head = lines[1].split()
    alice = dict(zip(head, lines[2].split(), strict=False))
    assert alice["agent"] == "alice"
    assert (alice["aht_s"], alice["occupancy_pct"], alice["utilisation_pct"]) == (
        "123.3", "8.2", "5.9")  # fmt: skip
    assert lines[2].rstrip().endswith("lunch=1800")

    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--by", "day")
    assert done.returncode == 0, done.stderr
    day = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [(d[0], d[1], d[2]) for d in day] == [("2026-12-01", "sales", "1"),
                                                ("2026-12-01", "support", "10")]  # fmt: skip


async def test_fcr_follows_the_agents_flag_where_it_disagrees_with_the_code_list(
    tmp_path: Path, engine: AsyncEngine, db_url: str
) -> None:
    # Issue 16: FCR from the disposition's flag. The scenario's dispositions carry no
    # flag (rows of before migration 0018: by the code, 0.6 for support); the agents
    # then save three again with a flag: c1 "resolved" not settled, c2 "follow_up" and
    # c9 "complaint" settled. c3 and c10 keep no flag and count by their code.
    from argon2 import PasswordHasher

    from callcenter.storage import call_key

    store = Store(make_session_factory(engine),
                  hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))  # fmt: skip
    ids = await write_scenario(store)
    for name, code, agent, flag in (("c1", "resolved", "alice", False),
                                    ("c2", "follow_up", "bob", True),
                                    ("c9", "complaint", "alice", True)):  # fmt: skip
        await store.save_disposition(call_key("pbx1", name), ids[agent], code, fcr=flag)
    cfg = str(write_config(tmp_path, db_url))
    by = {}
    for group in ("queue", "agent", "hour"):
        done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--by", group,
                   "--format", "json")  # fmt: skip
        assert done.returncode == 0, done.stderr
        by[group] = json.loads(done.stdout)["rows"]
    support = next(r for r in by["queue"] if r["queue"] == "support")
    # disposed c1 c2 c3 c9 c10 (the denominator as before); settled c2 c3 c9 c10
    assert (support["disposed"], support["resolved_first_contact"]) == (5, 4)
    assert support["fcr"] == pytest.approx(0.8)  # by the code list alone: 0.6
    agents = {r["agent"]: r["fcr"] for r in by["agent"]}
    assert agents == pytest.approx({"alice": 2 / 3, "bob": 1.0})  # code list: 2/3, 1/2
    nine = next(r for r in by["hour"] if r["queue"] == "support"
                and r["interval"].endswith("09:00"))  # fmt: skip
    assert nine["fcr"] == pytest.approx(3 / 4)  # c1 c2 c3 c9: code list 2/4


# -- the KPI module alone: the API the wallboard and /metrics call -----------------------


def scenario_records() -> list[CallRecord]:
    """The scenario's calls as records, without SQL (wrap-up and FCR as the loader finds them)."""
    fcr = {"resolved", "information", "sales", "no_action"}
    out = []
    for name, queue, entered, outcome, wait, agent, talk, wrap, disp, survey, moved in CALLS:
        out.append(CallRecord(
            name, queue, entered.timestamp(), outcome, float(wait), agent,
            None if talk is None else float(talk), 0.0, float(wrap or 0), moved,
            None if disp is None else disp in fcr,
            None if survey is None else SurveyRecord(*survey),
        ))  # fmt: skip
    return out


def test_the_kpi_module_gives_the_figures_from_records_alone() -> None:
    targets = {"support": QueueTargets(20.0, 5.0, 0.8), "sales": QueueTargets(20.0, 5.0, 0.8)}
    figs = figures_by(scenario_records(), targets)
    assert sorted(figs) == ["sales", "support"]
    support: Figures = figs["support"]
    expected = {k: v for k, v in EXPECTED["support"].items()
                if not k.startswith("callback") and k not in ("agents_needed", "arrival_per_s")}  # fmt: skip
    check({k: getattr(support, k) for k in expected}, expected, "records")
    assert support.survey.nps == 25.0
    assert (support.wait_answered_s, support.resolved_first_contact, support.disposed) == (90, 3, 5)
    cbs = [CallbackRecord("support", s) for s in ("completed", "failed", "pending")]
    with_callbacks = figures_by(scenario_records(), targets, callbacks=cbs)["support"]
    assert (with_callbacks.callbacks_requested, with_callbacks.callbacks_completed,
            with_callbacks.callback_success) == (3, 1, 0.5)  # fmt: skip
    assert figs["sales"].service_level == 0.0


def test_an_empty_range_has_no_ratios_and_needs_no_agents() -> None:
    zone = ZoneInfo(ZONE)
    since = dt.datetime(2026, 12, 1, tzinfo=zone)
    report = build_report(ReportData(), by="queue", since=since,
                          until=since + dt.timedelta(days=1), zone=zone,
                          targets={"support": QueueTargets()})  # fmt: skip
    (row,) = report.rows
    f = row.figures
    assert (f.offered, f.service_level, f.asa_s, f.aht_s, f.agents_needed) == (
        0,
        None,
        None,
        None,
        0,
    )


# -- intervals in the hotline's zone -----------------------------------------------------


def test_iso_weeks_and_months_in_the_zone() -> None:
    zone = ZoneInfo("Europe/Brussels")
    # Friday 1 Jan 2027 belongs to ISO week 53 of 2026, which starts Monday 28 Dec
    friday = dt.datetime(2027, 1, 1, 12, tzinfo=zone)
    week = bucket_start(friday, "week", zone)
    assert week == dt.datetime(2026, 12, 28, tzinfo=zone) and week.isocalendar()[:2] == (2026, 53)
    # 23:30 UTC on 31 Dec is already 1 Jan in Brussels
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert bucket_start(late, "month", zone) == dt.datetime(2027, 1, 1, tzinfo=zone)
    assert bucket_start(late, "day", zone) == dt.datetime(2027, 1, 1, tzinfo=zone)


def test_a_day_with_a_dst_change_spans_its_real_length() -> None:
    zone = ZoneInfo("Europe/Brussels")
    since = dt.datetime(2026, 10, 24, tzinfo=zone)
    until = dt.datetime(2026, 10, 27, tzinfo=zone)
    sunday = dt.datetime(2026, 10, 25, 12, tzinfo=zone).timestamp()  # clocks went back at 03:00
    call = CallRecord("c", "support", sunday, "answered", 5.0, "a", 60.0)
    report = build_report(ReportData(calls=[call]), by="day", since=since, until=until,
                          zone=zone, targets={})  # fmt: skip
    (row,) = report.rows
    assert (row.interval, row.span_s) == ("2026-10-25", 25 * 3600.0)


# -- bad input ----------------------------------------------------------------------------


@pytest.fixture
def cfg(tmp_path: Path) -> str:
    return str(write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"))


def test_an_unknown_by_is_refused(cfg: str) -> None:
    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--by", "year")
    assert done.returncode == 2
    assert "--by: invalid choice: 'year'" in done.stderr and not done.stdout


def test_from_after_to_is_refused(cfg: str) -> None:
    done = cli("report", "--config", cfg, "--from", "2026-12-02", "--to", "2026-12-01")
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.strip() == (
        "callcenter report: --from (2026-12-02T00:00:00+07:00) must be before"
        " --to (2026-12-01T00:00:00+07:00)"
    )
    same = cli("report", "--config", cfg, "--from", "2026-12-01", "--to", "2026-12-01")
    assert same.returncode == 2 and "must be before" in same.stderr


def test_a_time_out_of_range_is_refused(cfg: str) -> None:
    done = cli("report", "--config", cfg, "--from", SINCE, "--to", "9999-12-31")
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.strip() == (
        "callcenter report: '9999-12-31' is out of range (years 1900 to 9998)"
    )


@pytest.mark.parametrize("when", ["2026-13-01", "yesterday", "2026-12-01T25:00", "01/12/2026"])
def test_a_malformed_time_is_refused(cfg: str, when: str) -> None:
    done = cli("report", "--config", cfg, "--from", when, "--to", UNTIL)
    assert done.returncode == 2 and not done.stdout
    assert done.stderr.strip() == (
        f"callcenter report: {when!r} is not a date (YYYY-MM-DD) or an ISO time"
        " (YYYY-MM-DDTHH:MM[+HH:MM])"
    )


def test_times_without_an_offset_are_the_hotlines_local_time() -> None:
    zone = ZoneInfo(ZONE)
    assert parse_when("2026-12-01", zone) == dt.datetime(2026, 12, 1, tzinfo=zone)
    assert parse_when("2026-12-01T09:00", zone).utcoffset() == dt.timedelta(hours=7)
    assert parse_when("2026-12-01T09:00+00:00", zone).utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ("", None),
        ("fcr_dispositions: [resolved, solved]\n",
         "fcr_dispositions: codes that are not dispositions: ['solved']"),
    ],
)  # fmt: skip
def test_fcr_dispositions_must_be_dispositions(tmp_path: Path, extra: str, problem: str | None
                                               ) -> None:  # fmt: skip
    path = write_config(tmp_path, "sqlite+aiosqlite:///x.db", extra)
    if problem is None:
        assert load_config(path).fcr_codes == {"resolved", "information", "sales", "no_action"}
        return
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (line,) = map(str, caught.value.problems)
    assert line.startswith(f"{path}:") and line.endswith(problem), line


def test_an_unknown_time_zone_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "sqlite+aiosqlite:///x.db")
    path.write_text(path.read_text().replace(f"time_zone: {ZONE}", "time_zone: Mars/Olympus"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (line,) = map(str, caught.value.problems)
    assert "time_zone: unknown time zone 'Mars/Olympus'" in line
    assert line.startswith(f"{path}:{len(path.read_text().splitlines())}:"), line


def test_an_unknown_format_is_refused(cfg: str) -> None:
    done = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL, "--format", "xml")
    assert done.returncode == 2
    assert "--format: invalid choice: 'xml'" in done.stderr and not done.stdout


def test_a_broken_config_or_database_exits_1(tmp_path: Path) -> None:
    missing = cli("report", "--config", str(tmp_path / "nope.yaml"), "--from", SINCE, "--to", UNTIL)
    assert missing.returncode == 1 and "nope.yaml" in missing.stderr and not missing.stdout
    # a database nobody migrated: the tables are missing
    cfg = str(write_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
    empty = cli("report", "--config", cfg, "--from", SINCE, "--to", UNTIL)
    assert empty.returncode == 1 and not empty.stdout, empty.stderr
    assert empty.stderr.startswith("callcenter report: "), empty.stderr
