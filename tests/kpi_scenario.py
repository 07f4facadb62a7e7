"""A fixed scenario with hand-computed KPIs (issue 16): written through the real store.

Two hours of the hotline on 1 Dec 2026, 09:00-11:00 in Asia/Ho_Chi_Minh (UTC+7, no
DST: 02:00-04:00 UTC). Queue ``support`` (T = 20 s, short abandons under S = 5 s,
SL target 80 %) and queue ``sales`` (same targets). Agents alice and bob.

call  queue    entered (UTC)  outcome    wait  agent  talk  wrap  disposition  survey (csat,nps,ces)
c1    support  02:00:00       answered    10   alice   120    30  resolved     5, 10, 2
c2    support  02:05:00       answered    30   bob     200    20  follow_up    3,  7, 4
c3    support  02:10:00       answered     5   alice   100    30  information  4,  9, -
c4    support  02:15:00       answered    20   bob     180    20  -            -       (transferred)
c5    support  02:20:00       abandoned    3   -         -     -  -            -       (short)
c6    support  02:25:00       abandoned   40   -
c7    support  02:30:00       abandoned   15   -
c8    support  02:35:00       timeout     60   -
c9    support  02:40:00       answered     0   alice    60    30  complaint    2,  3, 6
c10   support  03:05:00       answered    25   bob     140    20  resolved     -
c11   sales    02:50:00       abandoned   12   -

FCR dispositions: resolved, information, sales, no_action (the default).
Callbacks (support): one completed, one failed, one pending.
Agent states: alice READY from 01:50 (before the range), paused 03:00-03:30 (lunch),
logged out 03:45; bob READY from 02:00, paused 02:50-03:00 (break), in until after 04:00.
Each answered call: OFFERED at the answer less 2 s, ON_CALL at the answer, WRAP_UP
at the end of the talk, READY when the wrap-up ends.

Hand-computed figures (``EXPECTED``: what ``acd.kpis`` must give; percentages in
the table and CSV are these times 100 rounded to 0.1):

support over 09:00-11:00 (``--by queue``):
  offered 10 (c1-c10); answered 6 (c1 c2 c3 c4 c9 c10); abandoned 3 (c5 c6 c7),
  short 1 (c5: 3 s < 5 s); timed out 1 (c8); lost 0
  answered within 20 s: c1 10, c3 5, c4 20, c9 0 -> 4 (c2 30 and c10 25 are not)
  SL = 4 / (10 - 1) = 0.4444 (44.4 %)
  app_queue ServicelevelPerf = 4 / 6 = 0.6667; abandoned within 20 s: c5, c7 -> 2,
  ServicelevelPerf2 = (4 + 2) / (6 + 3) = 0.6667
  abandon rate = (3 - 1) / (10 - 1) = 0.2222
  ASA = (10 + 30 + 5 + 20 + 0 + 25) / 6 = 90 / 6 = 15.0 s
  talk 120 + 200 + 100 + 180 + 60 + 140 = 800; wrap 30 + 20 + 30 + 20 + 30 + 20 = 150;
  hold 0; AHT = 950 / 6 = 158.33 s
  longest wait 60 (c8)
  FCR: disposed c1 c2 c3 c9 c10 (5), FCR ones c1 c3 c10 (3) -> 0.6
  transfer rate 1 / 6 = 0.1667
  surveys c1 c2 c3 c9 (4): CSAT (5 + 3 + 4 + 2) / 4 = 3.5, CSAT % (5, 4) 2 / 4 = 0.5;
  NPS answers 10 7 9 3: promoters 2, detractors 1 -> 100 (2 - 1) / 4 = 25.0;
  CES (2 + 4 + 6) / 3 = 4.0
  callbacks 3: completed 1 of 2 settled -> 0.5
  Erlang C: 10 calls / 7,200 s, AHT 158.33 s: A = 0.2199 E; 1 agent:
  SL = 1 - 0.2199 exp(-(1 - 0.2199) 20 / 158.33) = 1 - 0.2199 x 0.9062 = 0.8007 >= 0.8
  -> 1 agent
sales: offered 1, abandoned 1 (12 s: not short, not answered) -> SL 0 / 1 = 0.0,
  abandon rate 1.0, longest wait 12; no AHT -> no Erlang line (agents_needed None)

support by hour (local):
  09:00 (c1-c9): offered 9, answered 5, in SL 4, abandoned 3, short 1, timeout 1:
  SL = 4 / 8 = 0.5; ASA = 65 / 5 = 13.0; AHT = (660 + 130) / 5 = 158.0;
  Erlang C: 9 / 3,600 s x 158 s = A 0.395 E: 1 agent gives SL 0.634, 2 agents:
  B(2) = 0.0530, C(2) = 0.0651, SL = 1 - 0.0651 exp(-1.605 x 20 / 158) = 0.947 -> 2
  10:00 (c10): offered 1, answered 1, in SL 0 -> SL 0.0; ASA 25; AHT 160;
  A = 160 / 3,600 = 0.0444 E: 1 agent, SL = 1 - 0.0444 exp(-0.9556 x 20 / 160) = 0.961 -> 1

by agent over 09:00-11:00 (02:00-04:00 UTC):
  alice: answered c1 c3 c9; ASA (10 + 5 + 0) / 3 = 5.0; talk 280, wrap 90, AHT 370 / 3
  = 123.33; FCR 2 / 3; transfer 0; CSAT (5 + 4 + 2) / 3 = 3.667, NPS 100 (2 - 1) / 3
  = 33.33, CES (2 + 6) / 2 = 4.0; staffed 02:00-03:45 = 6,300 s, paused 1,800 (lunch);
  occupancy 370 / 4,500 = 0.08222, utilisation 370 / 6,300 = 0.05873
  bob: answered c2 c4 c10; ASA (30 + 20 + 25) / 3 = 25.0; talk 520, wrap 60, AHT
  580 / 3 = 193.33; FCR 1 / 2 (c4 has no disposition); transfer 1 / 3; CSAT 3.0, NPS 0.0
  (7 is passive), CES 4.0; staffed 7,200 s, paused 600 (break); occupancy 580 / 6,600
  = 0.08788, utilisation 580 / 7,200 = 0.08056

/metrics, read by a controller started at 03:09:00 UTC (10:09 local) on that day
(``SCRAPE_AT``; today's rows read back from SQL, as the wallboard's, ``METRICS``):
  hotline_calls_total: support answered 6, abandoned 3, timeout 1, lost 0, ivr_hangup 0;
  sales abandoned 1, the rest 0 (the report's answered, abandoned, timed out, lost)
  hotline_wait_seconds (every queued call's wait): support count 10, sum 10 + 30 + 5
  + 20 + 3 + 40 + 15 + 60 + 0 + 25 = 208; le 20: c1 c3 c4 c5 c7 c9 = 6, le 5: c3 c5 c9
  = 3, le 60: 10; sales count 1, sum 12
  hotline_talk_seconds: support count 6, sum 800 (the report's talk)
  hotline_wrap_up_seconds: support count 6, sum 150 (the report's wrap-up), so
  (talk sum + wrap-up sum) / talk count = 950 / 6 = 158.33 s, the report's AHT
  hotline_service_level_30m_ratio: the calls that left in 02:39:00-03:09:00 UTC:
  support c9 (left 02:41:00, answered after 0 s: within T) and c10 (left at the end
  of its talk, 03:05:25 + 140 s = 03:07:45, answered after 25 s: not) -> 1 / 2 = 0.5
  (c8 left 02:36:00, before the window); sales c11 (left 02:50:12, abandoned after
  12 s, not short) -> 0 / 1 = 0.0
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update

from callcenter.facts import (
    RecordAgentState,
    RecordCallbackRequest,
    RecordCallEvent,
    RecordCallUpdate,
    RecordOutcome,
    RecordPause,
    RecordSurvey,
)
from callcenter.storage import Store, call_key
from callcenter.storage.models import CallbackRequest

ZONE = "Asia/Ho_Chi_Minh"
SINCE, UNTIL = "2026-12-01T09:00", "2026-12-01T11:00"  # local: 02:00-04:00 UTC
DAY = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def at(hh: int, mm: int, ss: float = 0) -> dt.datetime:
    """A UTC instant of the scenario's day."""
    return DAY + dt.timedelta(hours=hh, minutes=mm, seconds=ss)


#: (name, queue, entered, outcome, wait, agent, talk, wrap, disposition, survey, transferred)
CALLS: list[tuple[Any, ...]] = [
    ("c1", "support", at(2, 0), "answered", 10, "alice", 120, 30, "resolved", (5, 10, 2), False),
    ("c2", "support", at(2, 5), "answered", 30, "bob", 200, 20, "follow_up", (3, 7, 4), False),
    ("c3", "support", at(2, 10), "answered", 5, "alice", 100, 30, "information", (4, 9, None),
     False),
    ("c4", "support", at(2, 15), "answered", 20, "bob", 180, 20, None, None, True),
    ("c5", "support", at(2, 20), "abandoned", 3, None, None, None, None, None, False),
    ("c6", "support", at(2, 25), "abandoned", 40, None, None, None, None, None, False),
    ("c7", "support", at(2, 30), "abandoned", 15, None, None, None, None, None, False),
    ("c8", "support", at(2, 35), "timeout", 60, None, None, None, None, None, False),
    ("c9", "support", at(2, 40), "answered", 0, "alice", 60, 30, "complaint", (2, 3, 6), False),
    ("c10", "support", at(3, 5), "answered", 25, "bob", 140, 20, "resolved", None, False),
    ("c11", "sales", at(2, 50), "abandoned", 12, None, None, None, None, None, False),
]  # fmt: skip

#: the hand-computed figures (see the module docstring), by report row
EXPECTED: dict[str, dict[str, Any]] = {
    "support": dict(offered=10, answered=6, answered_in_sl=4, abandoned=3, short_abandoned=1,
                    abandoned_in_sl=2, timed_out=1, lost=0, service_level=4 / 9,
                    service_level_app_queue=4 / 6, service_level_app_queue2=6 / 9,
                    abandon_rate=2 / 9, asa_s=15.0, aht_s=950 / 6, talk_s=800.0,
                    wrap_up_s=150.0, hold_s=0.0, longest_wait_s=60.0, fcr=0.6,
                    transfer_rate=1 / 6, callbacks_requested=3, callbacks_completed=1,
                    callback_success=0.5, agents_needed=1, arrival_per_s=10 / 7200),
    "support survey": dict(surveyed=4, csat_avg=3.5, csat_satisfied=0.5, nps=25.0, ces_avg=4.0),
    "sales": dict(offered=1, answered=0, abandoned=1, short_abandoned=0, service_level=0.0,
                  abandon_rate=1.0, longest_wait_s=12.0, asa_s=None, aht_s=None,
                  agents_needed=None),
    "09:00 support": dict(offered=9, answered=5, answered_in_sl=4, service_level=0.5,
                          asa_s=13.0, aht_s=158.0, agents_needed=2),
    "10:00 support": dict(offered=1, answered=1, answered_in_sl=0, service_level=0.0,
                          asa_s=25.0, aht_s=160.0, agents_needed=1),
    "alice": dict(answered=3, asa_s=5.0, aht_s=370 / 3, talk_s=280.0, wrap_up_s=90.0,
                  fcr=2 / 3, transfer_rate=0.0, staffed_s=6300.0, paused_s=1800.0,
                  occupancy=370 / 4500, utilisation=370 / 6300,
                  pause_s_by_reason={"lunch": 1800.0}),
    "alice survey": dict(surveyed=3, csat_avg=11 / 3, nps=100 / 3, ces_avg=4.0),
    "bob": dict(answered=3, asa_s=25.0, aht_s=580 / 3, talk_s=520.0, wrap_up_s=60.0,
                fcr=0.5, transfer_rate=1 / 3, staffed_s=7200.0, paused_s=600.0,
                occupancy=580 / 6600, utilisation=580 / 7200,
                pause_s_by_reason={"break": 600.0}),
    "bob survey": dict(surveyed=1, csat_avg=3.0, nps=0.0, ces_avg=4.0),
}  # fmt: skip


#: when the controller that exports the scenario on /metrics runs (a wall clock held there)
SCRAPE_AT = at(3, 9)

#: the hand-computed /metrics samples (see the module docstring): (name, labels) -> value
METRICS: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {
    **{("hotline_calls_total", (("outcome", o), ("queue", "support"))): n
       for o, n in (("answered", 6), ("abandoned", 3), ("timeout", 1), ("lost", 0),
                    ("ivr_hangup", 0))},
    **{("hotline_calls_total", (("outcome", o), ("queue", "sales"))): n
       for o, n in (("answered", 0), ("abandoned", 1), ("timeout", 0), ("lost", 0))},
    ("hotline_wait_seconds_count", (("queue", "support"),)): 10,
    ("hotline_wait_seconds_sum", (("queue", "support"),)): 208.0,
    ("hotline_wait_seconds_bucket", (("le", "5.0"), ("queue", "support"))): 3,
    ("hotline_wait_seconds_bucket", (("le", "20.0"), ("queue", "support"))): 6,
    ("hotline_wait_seconds_bucket", (("le", "60.0"), ("queue", "support"))): 10,
    ("hotline_wait_seconds_count", (("queue", "sales"),)): 1,
    ("hotline_wait_seconds_sum", (("queue", "sales"),)): 12.0,
    ("hotline_talk_seconds_count", (("queue", "support"),)): 6,
    ("hotline_talk_seconds_sum", (("queue", "support"),)): 800.0,
    ("hotline_wrap_up_seconds_count", (("queue", "support"),)): 6,
    ("hotline_wrap_up_seconds_sum", (("queue", "support"),)): 150.0,
    ("hotline_talk_seconds_count", (("queue", "sales"),)): 0,
    ("hotline_service_level_30m_ratio", (("queue", "support"),)): 0.5,
    ("hotline_service_level_30m_ratio", (("queue", "sales"),)): 0.0,
}  # fmt: skip


def kpi_config(text: str) -> str:
    """The demo config's text made the scenario's: queues sales (T 20 s) and support
    (S 5 s), intervals and midnight in ``ZONE``."""
    text = text.replace(
        "queues:\n  - name: support\n",
        "queues:\n  - name: sales\n    sl_threshold_s: 20\n  - name: support\n"
        "    short_abandon_s: 5\n",
    )
    assert "  - name: sales\n" in text, "the demo config's queues changed"
    return text + f"time_zone: {ZONE}\n"


async def write_scenario(store: Store) -> dict[str, int]:
    """Write the scenario through ``store`` (the writer's requests, ``save_disposition``);
    the agents' ids by name."""
    ids = {}
    for name in ("alice", "bob"):
        agent = await store.create_agent(name, "pw-" + name, queues=("support", "sales"))
        ids[name] = agent.id
    a, b = ids["alice"], ids["bob"]
    states = [
        RecordAgentState(a, at(1, 50), "ready", "logged_out"),
        RecordAgentState(b, at(2, 0), "ready", "logged_out"),
        RecordAgentState(a, at(3, 0), "paused", "ready", "lunch"),
        RecordAgentState(a, at(3, 30), "ready", "paused"),
        RecordAgentState(a, at(3, 45), "logged_out", "ready"),
        RecordAgentState(b, at(2, 50), "paused", "ready", "break"),
        RecordAgentState(b, at(3, 0), "ready", "paused"),
    ]
    pauses = [
        RecordPause(a, "lunch", at(3, 0), at(3, 30), 1800.0),
        RecordPause(b, "break", at(2, 50), at(3, 0), 600.0),
    ]
    for name, queue, entered, outcome, wait, agent, talk, wrap, disp, survey, moved in CALLS:
        call_id = call_key("pbx1", name)
        await store.record_call_started(call_id, name, "pbx1", entered - dt.timedelta(seconds=30))
        left = entered + dt.timedelta(seconds=wait)
        agent_id = ids[agent] if agent else None
        if outcome == "answered":
            assert agent_id is not None
            end = left + dt.timedelta(seconds=talk)
            states += [
                RecordAgentState(agent_id, left - dt.timedelta(seconds=2), "offered", "ready"),
                RecordAgentState(agent_id, left, "on_call", "offered"),
                RecordAgentState(agent_id, end, "wrap_up", "on_call"),
                RecordAgentState(agent_id, end + dt.timedelta(seconds=wrap), "ready", "wrap_up"),
            ]
            await store.apply(
                RecordCallUpdate(call_id, queue=queue, queued_at=entered, answered_at=left,
                                 agent_id=agent_id, wait_s=float(wait)),
                RecordOutcome(call_id, queue, "answered", float(wait), end, agent_id,
                              float(talk)),
                RecordCallUpdate(call_id, ended_at=end),
            )  # fmt: skip
        else:
            await store.apply(
                RecordCallUpdate(call_id, queue=queue, queued_at=entered),
                RecordOutcome(call_id, queue, outcome, float(wait), left),
                RecordCallUpdate(call_id, ended_at=left),
            )
        if moved:
            await store.apply(RecordCallEvent(call_id, left, "transferred", {"context": "x"}))
        if survey is not None:
            csat, nps, ces = survey
            await store.apply(RecordSurvey(call_id, left, queue, agent_id, csat, nps, ces))
        if disp is not None:
            await store.save_disposition(call_id, agent_id, disp, at=left)
    states.sort(key=lambda s: s.at)  # the controller writes them as they happen
    await store.apply(*states, *pauses)
    for i, status in enumerate(("completed", "failed", "pending")):
        call_id = call_key("pbx1", f"c{i + 5}")
        await store.apply(
            RecordCallbackRequest(call_id, at(2, 20 + 5 * i), "+84901234567", "support",
                                  "main", "cb")
        )  # fmt: skip
        # nothing in Hotline moves a request past pending yet: set by hand
        async with store.sessions() as s, s.begin():
            await s.execute(
                update(CallbackRequest)
                .where(CallbackRequest.call_id == call_id)
                .values(status=status)
            )
    return ids
