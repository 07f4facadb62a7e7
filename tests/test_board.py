"""The wallboard's figures of the day (callcenter.board): hand-computed figures per
queue and for the centre, the day's roll at midnight, and deltas that rebuild the
snapshot they were taken from."""

from __future__ import annotations

import random

from acd.kpis import CallRecord, QueueTargets, Tally, figures
from callcenter.board import (
    RECENT_S,
    DayBoard,
    apply,
    call_record,
    diff,
    local_midnight,
    queue_figures,
)

_ids = iter(range(1_000_000))


def Done(queue: str, outcome: str, wait_s: float, at: float, agent: str | None = None):  # noqa: N802
    """A visit that left ``queue`` at ``at`` (an outcome row, as the board takes it)."""
    return call_record(f"c{next(_ids)}", queue, outcome, wait_s, at, agent)


def test_figures_of_two_queues_and_the_centre_by_hand():
    # T 20 s / S 5 s for support, T 60 s for billing; acd.kpis' definitions:
    # SL = answered within T / (left - short abandons), abandon rate likewise
    noon = local_midnight(1_800_000_000.0) + 12 * 3600
    targets = {"support": QueueTargets(20.0, 5.0), "billing": QueueTargets(60.0, 5.0)}
    day = DayBoard(targets, noon)
    for d in sorted([
        Done("support", "answered", 10.0, noon - 7200, "1"),   # in SL
        Done("support", "answered", 30.0, noon - 7100, "1"),   # not in SL
        Done("support", "abandoned", 3.0, noon - 7000),        # short: out of SL and rate
        Done("support", "abandoned", 40.0, noon - 100),        # counts against both
        Done("billing", "answered", 50.0, noon - 60, "2"),     # in billing's 60 s
        Done("billing", "timeout", 90.0, noon - 50),
        Done("", "ivr_hangup", 0.0, noon - 40),                # never a queue's
        Done("support", "answered", 1.0, noon - 86400, "1"),   # yesterday
    ], key=lambda d: d.left_at):  # fmt: skip
        day.add(d)
    support, billing = day.queue("support"), day.queue("billing")
    s = queue_figures(support.today, support.recent_tally(noon), waiting=2)
    assert s == {"offered": 6, "answered": 2, "abandoned": 2, "short_abandoned": 1,
                 "service_level_pct": 33.3,  # 1 / (4 - 1)
                 "service_level_30m_pct": 0.0,  # only the 40 s abandon left in the last 30 min
                 "asa_s": 20.0, "abandon_rate_pct": 33.3}  # (2 - 1) / (4 - 1)  # fmt: skip
    b = queue_figures(billing.today, billing.recent_tally(noon), waiting=0)
    assert (b["service_level_pct"], b["offered"], b["abandon_rate_pct"]) == (50.0, 2, 0.0)
    # the centre: tallies summed, each call against its own queue's T and S
    centre = queue_figures(support.today.plus(billing.today), Tally(), waiting=2)
    assert centre["service_level_pct"] == 40.0  # (1 + 1) / (6 - 1)
    assert centre["asa_s"] == 30.0  # (10 + 30 + 50) / 3
    assert centre["offered"] == 8
    assert (day.agent_calls("1"), day.agent_calls("2")) == (2, 1)
    # the same figures as acd.kpis.figures (the reports') over the same records
    records = [CallRecord(f"c{i}", "support", noon - 7300 + i, outcome, wait)
               for i, (outcome, wait) in enumerate([("answered", 10.0), ("answered", 30.0),
                                                    ("abandoned", 3.0), ("abandoned", 40.0)])]  # fmt: skip
    report = figures(records, targets["support"])
    assert report.service_level is not None and report.abandon_rate is not None
    assert s["service_level_pct"] == round(100 * report.service_level, 1)
    assert s["abandon_rate_pct"] == round(100 * report.abandon_rate, 1)
    assert s["asa_s"] == report.asa_s and s["offered"] - 2 == report.offered


def test_the_last_30_minutes_forget_older_visits():
    t0 = local_midnight(1_800_000_000.0) + 10 * 3600
    day = DayBoard({"q": QueueTargets(20.0)}, t0)
    day.add(Done("q", "answered", 5.0, t0, "1"))
    day.add(Done("q", "answered", 50.0, t0 + 600, "1"))
    q = day.queue("q")
    assert q.recent_tally(t0 + 900).answered == 2
    assert q.recent_tally(t0 + RECENT_S + 300).answered == 1
    assert (
        queue_figures(q.today, q.recent_tally(t0 + RECENT_S + 300), 0)["service_level_30m_pct"]
        == 0.0
    )
    assert q.today.answered == 2


def test_the_last_30_minutes_stay_bounded_when_no_one_asks():
    # no wallboard open: no snapshot asks for the tally; the visits still leave it
    t0 = local_midnight(1_800_000_000.0) + 10 * 3600
    day = DayBoard({"q": QueueTargets(20.0)}, t0)
    for n in range(100):
        day.add(Done("q", "answered", 5.0, t0 + 60 * n, "1"))
    q = day.queue("q")
    assert len(q.recent) == 31  # the last 30 minutes, one a minute, both ends
    assert q.today.answered == 100
    assert q.recent_tally(t0 + 60 * 99).answered == 31


def test_a_new_day_starts_from_nothing():
    late = local_midnight(1_800_000_000.0) + 86400 - 10
    day = DayBoard({"q": QueueTargets(20.0)}, late)
    day.add(Done("q", "answered", 5.0, late, "1"))
    day.roll(late + 20)
    assert day.queue("q").today.answered == 0 and day.agent_calls("1") == 0


def test_a_delta_rebuilds_the_new_snapshot_and_leaves_the_clock_out():
    rng = random.Random(5)

    def board(n: int) -> dict:
        return {
            "at": float(n), "waiting": rng.randint(0, 3), "pbx_down": rng.choice([[], ["pbx1"]]),
            "queues": [{"name": f"q{i}", "waiting": rng.randint(0, 2), "longest_wait_s": rng.random()}
                       for i in range(5)],
            "agents": [{"id": str(i), "state": rng.choice(["ready", "talking"]), "since": 1.0}
                       for i in range(rng.randint(8, 12))],
        }  # fmt: skip

    old = board(0)
    for n in range(1, 60):
        new = board(n)
        delta = diff(old, new)
        if delta is None:
            assert {k: v for k, v in old.items() if k != "at"} == {
                k: v for k, v in new.items() if k != "at"
            }
            continue
        rebuilt = apply(old, delta)
        by_key = lambda b: ({q["name"]: {k: v for k, v in q.items() if k != "longest_wait_s"} for q in b["queues"]},  # noqa: E731
                            {a["id"]: a for a in b["agents"]})  # fmt: skip
        assert by_key(rebuilt) == by_key(new)
        assert {k: v for k, v in rebuilt.items() if k not in ("queues", "agents")} == {
            k: v for k, v in new.items() if k not in ("queues", "agents")
        }
        # unchanged agents are not in it
        olds = {a["id"]: a for a in old["agents"]}
        assert all(olds.get(a["id"]) != a for a in delta.get("upsert", {}).get("agents", []))
        old = rebuilt


def test_only_the_clock_moved_is_no_delta():
    a = {"at": 1.0, "queues": [{"name": "q", "waiting": 1, "longest_wait_s": 3.0}], "agents": []}
    b = {"at": 2.0, "queues": [{"name": "q", "waiting": 1, "longest_wait_s": 4.0}], "agents": []}
    assert diff(a, b) is None


def test_aht_is_the_kpi_modules_talk_from_the_outcome_and_the_wrap_up_spell_after():
    # acd.kpis' AHT (the reports'): (talk + hold + wrap-up) / handled calls; talk is the
    # outcome row's talk_s, wrap-up the agent's wrap_up spell after the call
    t = local_midnight(1_800_000_000.0) + 9 * 3600
    day = DayBoard({"q": QueueTargets(20.0)}, t)
    day.agent_state("7", t, None)  # ready (the first row after start: nothing before it)
    day.agent_state("7", t + 10, "ready")  # -> offered
    day.agent_state("7", t + 14, "offered")  # -> on_call
    day.agent_state("7", t + 74, "on_call")  # -> wrap_up
    day.add(call_record("c1", "q", "answered", 4.0, t + 74, "7", talk_s=60.0))
    day.agent_state("7", t + 84, "wrap_up")  # -> ready: 10 s wrap-up
    assert day.agent_aht_s("7") == 70.0
    assert day.agents["7"].talk == 60.0 and day.agents["7"].wrap_up == 10.0
    # a wrap-up whose start was not seen (over a restart) adds nothing; talk still counts
    day.add(call_record("c2", "q", "answered", 1.0, t + 100, "8", talk_s=50.0))
    day.agent_state("8", t + 110, "wrap_up")
    assert day.agent_aht_s("8") == 50.0
    # a call whose talk is unknown (rows before calls.talk_s) is not in AHT, as in the reports
    day.add(call_record("c3", "q", "answered", 1.0, t + 200, "8"))
    assert day.agent_aht_s("8") == 50.0 and day.agent_calls("8") == 2
    assert day.agent_aht_s("9") is None


def test_the_day_by_15_minutes():
    midnight = local_midnight(1_800_000_000.0)
    day = DayBoard({"a": QueueTargets(20.0), "b": QueueTargets(60.0)}, midnight + 3600)
    day.add(Done("a", "answered", 10.0, midnight + 60, "1"))
    day.add(Done("b", "answered", 50.0, midnight + 899, "2"))  # entered at 849 s
    day.add(Done("a", "abandoned", 30.0, midnight + 1000))  # entered at 970 s
    day.add(Done("a", "abandoned", 30.0, midnight + 10))  # entered yesterday: not today's
    assert day.interval_rows() == [
        {"start": midnight, "answered": 2, "abandoned": 0, "other": 0, "service_level_pct": 100.0},
        {"start": midnight + 900, "answered": 0, "abandoned": 1, "other": 0,
         "service_level_pct": 0.0},
    ]  # fmt: skip


def test_the_day_rolls_at_each_local_midnight_across_a_daylight_saving_change() -> None:
    # roll() keeps the next midnight (read once a day): days of 23 and 25 hours included
    import datetime as dt
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Europe/Berlin")
    for first in (
        dt.datetime(2026, 3, 27, 12, tzinfo=zone),
        dt.datetime(2026, 10, 23, 12, tzinfo=zone),
    ):
        start = first.timestamp()  # DST starts on 29 March, ends on 25 October
        day = DayBoard({"q": QueueTargets(20.0)}, start, zone)
        seen = []
        for minutes in range(0, 6 * 24 * 60, 20):  # six days, every 20 minutes
            day.roll(start + 60 * minutes)
            assert day.day_start == local_midnight(start + 60 * minutes, zone)
            seen.append(day.day_start)
        dates = [dt.datetime.fromtimestamp(d, zone).date() for d in sorted(set(seen))]
        assert dates == [first.date() + dt.timedelta(days=n) for n in range(7)]
        day.roll(start)  # an older row changes nothing
        assert dt.datetime.fromtimestamp(day.day_start, zone).date() == dates[-1]
