"""Whole IVR flows over real AMI: pbxsim's callers press keys, the controller drives them.

One hotline (pbxsim over TCP, the controller, a real database): callers with
their own key scripts walk a flow with data entry, back and agent keys, a
missing prompt, business hours and holidays at fixed clock times in
Asia/Ho_Chi_Minh and a branch on the CRM tier; SQL then holds each one's
selections, outcome and trail.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.storage.models import Call, CallEvent, SurveyAnswer
from ivr import parse_ivr

from .e2e_support import Rig, drain, hotline_rig, scenario, wait_until

HCM = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh: UTC+7 all year
MONDAY_10 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=HCM)
SUNDAY_10 = dt.datetime(2027, 3, 7, 10, 0, tzinfo=HCM)
TET = dt.datetime(2027, 2, 6, 10, 0, tzinfo=HCM)  # a weekday (Saturday 08-12), but Tết

FLOW = textwrap.dedent(
    """\
    languages: [vi, en]
    default_language: vi
    start: language
    fallback_queue: support
    agent_queue: support
    invalid_prompt: invalid
    calendars:
      office:
        zone: Asia/Ho_Chi_Minh
        hours: {mon: "08:00-17:30", tue: "08:00-17:30", wed: "08:00-17:30",
                thu: "08:00-17:30", fri: "08:00-17:30", sat: "08:00-12:00"}
        holidays: ["2027-02-05..2027-02-09"]
    prompts:
      welcome: {vi: hotline/vi/welcome, en: hotline/en/welcome}
      choose_language: {vi: hotline/vi/choose-language, en: hotline/en/choose-language}
      main_menu: {vi: hotline/vi/main-menu, en: hotline/en/main-menu}
      invalid: {vi: hotline/vi/invalid, en: hotline/en/invalid}
      account: {vi: hotline/vi/account, en: hotline/en/account}
      closed: {vi: hotline/vi/closed, en: hotline/en/closed}
      holiday: {vi: hotline/vi/holiday, en: hotline/en/holiday}
      vip: {vi: hotline/vi/vip, en: hotline/en/vip}
      csat: {vi: hotline/vi/survey-csat, en: hotline/en/survey-csat}
      nps: {vi: hotline/vi/survey-nps, en: hotline/en/survey-nps}
      ces: {vi: hotline/vi/survey-ces, en: hotline/en/survey-ces}
      thanks: {vi: hotline/vi/survey-thanks, en: hotline/en/survey-thanks}
    survey: {csat: csat, nps: nps, ces: ces, thanks: thanks}
    nodes:
      language:
        intro: welcome
        prompt: choose_language
        retries: 0
        options:
          1: {language: vi, goto: hours}
          2: {language: en, goto: hours}
        otherwise: {language: vi, goto: hours}
      hours:
        type: condition
        branches:
          - {when: {holiday: office}, then: {goto: holiday}}
          - {when: {open: office}, then: {goto: tier}}
        otherwise: {goto: closed}
      tier:
        type: condition
        branches:
          - {when: {tier: [vip]}, then: {goto: vip}}
        otherwise: {goto: main}
      vip:
        type: play
        prompt: vip
        next: {queue: support}
      main:
        prompt: main_menu
        timeout_s: 4
        retries: 2
        options:
          1: {goto: account}
          2: {queue: support}
          3: {goto: more}
      more:
        prompt: main_menu
        options:
          1: {queue: support}
      account:
        type: input
        prompt: account
        variable: account
        min_digits: 6
        max_digits: 10
        next: {goto: find}
      find:
        type: lookup
        account: account
        timeout_s: 10  # a budget no loaded test machine reaches: not what is tested here
        found: {queue: support}
        not_found: {queue: support}
      closed:
        type: hangup
        prompt: closed
        reason: closed
      holiday:
        type: hangup
        prompt: holiday
        reason: holiday
    """
)
#: the English main menu is missing on the PBX: GET DATA answers -1 at once (17)
MISSING = "hotline/en/main-menu"

#: each caller's key presses, one string per prompt that listens ("" lets it time out)
SCRIPTS: dict[str, tuple[str, ...]] = {
    # data entry: too short (12#), then a good account number ended by #
    "entry": ("1", "1", "12#", "9123456#"),
    # into a sub-menu, * back to the main menu, 0 to an agent
    "back_agent": ("1", "3", "*", "0"),
    # English: the main menu's prompt is missing; the caller still chooses 2
    "missing_prompt": ("2", "2"),
    # an invalid key (its notice plays through), a timeout, then 2
    "invalid_timeout": ("1", "7", "", "", "2"),
    # a VIP of the CRM
    "vip": ("1",),
    # presses nothing and hangs up during the language menu
    "dropoff": (),
    # outside business hours, and on a holiday
    "sunday": ("1",),
    "tet": ("1",),
    # straight to the queue; after the agent hangs up: CSAT 4, NPS 9, CES 6
    "survey": ("1", "2"),
    # enters another customer's account number: the CRM finds that customer
    "by_account": ("1", "1"),  # + the account number and "#", known once the CRM is seeded
}
SURVEY_KEYS = ("4", "9#", "6")


def world(prompts: list[str]) -> Any:
    def build(numbers: list[str]) -> dict[str, Any]:
        w = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0},
                     agents={"default": {"answer_delay": [1, 2], "talk_time": [2, 3],
                                         "agent_hangs_up_probability": 1.0}})  # fmt: skip
        w["prompts"] = {p: 1.0 for p in prompts if p != MISSING} | {"silence/1": 1.0}
        return w

    return build


async def numbers_by_tier(rig: Rig) -> tuple[str, list[str]]:
    """One VIP's number and the others', as the real CRM lookup sees them."""
    crm = rig.hotline.parts.crm
    vip, others = None, []
    for number in rig.numbers:
        card = await crm.lookup(number, 5.0)
        if card is not None and card.tier == "vip" and vip is None:
            vip = number
        elif card is not None and card.tier != "vip":
            others.append(number)
    assert vip is not None, "the seeded CRM has no VIP"
    return vip, others


def passed(rig: Rig, number: str, node: str) -> bool:
    """The caller from ``number`` has left IVR node ``node`` (or its call is over)."""
    for call in rig.ctl.calls.values():
        if call.caller_number == number:
            if call.ivr is None:
                return False
            return any(t.node == node and t.what == "branch" for t in call.ivr.trail)
    return False


async def test_whole_flows_through_pbxsim(tmp_path: Path, db_url: str) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    prompts = sorted({f for files in parse_ivr(FLOW).prompts.values() for f in files.values()})
    async with hotline_rig(tmp_path, db_url, world(prompts), ivr_file=ivr, time_scale=4.0) as rig:
        vip, others = await numbers_by_tier(rig)
        who = dict(zip([k for k in SCRIPTS if k != "vip"], others, strict=False)) | {"vip": vip}
        population = rig.sim.world.population
        rig.ctl.wall_clock = lambda: MONDAY_10.astimezone(dt.UTC)
        heard: list[str] = []  # pbxsim's AGI and DTMF events: the survey's story if it fails
        rig.sim.world.listeners.append(
            lambda name, data: heard.append(data.decode())
            if name.startswith(("AsyncAGI", "DTMFEnd")) else None)  # fmt: skip
        owner = await rig.hotline.parts.crm.lookup(who["survey"], 5.0)  # not by_account's
        assert owner is not None and owner.account_no
        scripts = SCRIPTS | {"by_account": (*SCRIPTS["by_account"], f"{owner.account_no}#")}
        monday = ("entry", "back_agent", "missing_prompt", "invalid_timeout", "vip", "by_account")
        for name in monday:
            population.arrive(who[name], scripts[name], patience=120)
        population.arrive(who["dropoff"], SCRIPTS["dropoff"], patience=3)
        await wait_until(
            lambda: all(passed(rig, who[n], "hours") for n in monday), 60, "Monday's callers"
        )
        rig.ctl.wall_clock = lambda: SUNDAY_10.astimezone(dt.UTC)
        population.arrive(who["sunday"], SCRIPTS["sunday"], patience=120)
        await wait_until(lambda: passed(rig, who["sunday"], "hours"), 60, "Sunday's caller")
        rig.ctl.wall_clock = lambda: TET.astimezone(dt.UTC)
        population.arrive(who["tet"], SCRIPTS["tet"], patience=120)
        await wait_until(lambda: passed(rig, who["tet"], "hours"), 60, "Tết's caller")
        rig.ctl.wall_clock = lambda: MONDAY_10.astimezone(dt.UTC)
        population.arrive(who["survey"], SCRIPTS["survey"], patience=120, survey=SURVEY_KEYS)
        await drain(rig, timeout=120)

        async with rig.hotline.store.sessions() as s:
            calls = {c.caller_number: c for c in await s.scalars(select(Call))}
            trails = {
                e.call_id: e.data
                for e in await s.scalars(select(CallEvent).where(CallEvent.kind == "ivr_trail"))
            }
            surveys = {r.call_id: r for r in await s.scalars(select(SurveyAnswer))}
            events = [(e.call_id, e.kind, e.data) for e in await s.scalars(select(CallEvent))]
        metrics = rig.hotline.metrics.render().decode()
    got = {name: calls[who[name]] for name in SCRIPTS}
    path = {name: trails[c.id]["path"] for name, c in got.items()}

    entry = got["entry"]
    assert entry.outcome == "answered"
    assert entry.ivr_selections == ["language=1", "main=1", "account=9123456"]
    assert path["entry"].endswith("main(1) > account(12)(9123456) > find(not_found)")
    assert path["by_account"].endswith(f"account({owner.account_no}) > find(found)")
    assert got["by_account"].customer_id == owner.customer_id  # the account's, not the number's
    assert trails[entry.id]["variables"] == {"account": "9123456"}

    assert got["back_agent"].ivr_selections == ["language=1", "main=0"]
    assert path["back_agent"].endswith("main(3) > more(*) > main(0)")

    assert got["missing_prompt"].language == "en"
    assert got["missing_prompt"].ivr_selections == ["language=2", "main=2"]
    assert path["missing_prompt"].endswith("main(!)(2)")
    assert trails[got["missing_prompt"].id]["end"] == "queue"  # the caller's choice

    assert got["invalid_timeout"].ivr_selections == ["language=1", "main=2"]
    assert path["invalid_timeout"].endswith("main(7)(-)(2)")

    assert "tier[0] > vip" in path["vip"] and got["vip"].outcome == "answered"
    for name in ("entry", "back_agent", "missing_prompt", "invalid_timeout"):
        assert "hours[1] > tier[otherwise] > main" in path[name], path[name]

    assert path["sunday"].endswith("hours[otherwise] > closed")
    assert path["tet"].endswith("hours[0] > holiday")
    for name in ("sunday", "tet"):
        assert got[name].outcome == "ivr_hangup" and trails[got[name].id]["end"] == "hangup"

    # the survey: answers stored with the call, its agent and queue; on /metrics
    answered = {c.id: c for c in calls.values() if c.outcome == "answered"}
    assert set(surveys) == set(answered), "every answered call was surveyed"
    row = surveys[got["survey"].id]
    caller = next(c for c in population.callers if c.number == who["survey"])
    story = [f"{k} {d}" for c, k, d in events if c == got["survey"].id] + [
        h.replace("\r\n", " | ") for h in heard if caller.channel and caller.channel in h
    ]
    assert (row.csat, row.nps, row.ces, row.queue) == (4, 9, 6, "support"), "\n".join(
        [f"pressed {caller.pressed}", *story]
    )
    assert row.agent_id == got["survey"].agent_id is not None
    silent = [r for cid, r in surveys.items() if cid != got["survey"].id]
    assert silent and all((r.csat, r.nps, r.ces) == (None, None, None) for r in silent)
    for question, score in (("csat", 4), ("nps", 9), ("ces", 6)):
        assert (
            f'hotline_survey_answers_total{{question="{question}",queue="support",'
            f'score="{score}"}} 1.0' in metrics
        )
    # IVR metrics: every caller entered `language`; the main menu saw the Monday callers
    assert 'hotline_ivr_entries_total{flow="hotline",node="language"} 10.0' in metrics
    assert 'hotline_ivr_dropoffs_total{flow="hotline",node="language"} 1.0' in metrics
    assert got["dropoff"].outcome == "ivr_hangup" and path["dropoff"] == "language"
    assert trails[got["dropoff"].id]["end"] == "abandoned"
    # six Monday callers reached the main menu, back_agent twice (* returned there)
    assert 'hotline_ivr_entries_total{flow="hotline",node="main"} 7.0' in metrics


TRANSFER_FLOW = textwrap.dedent(
    """\
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    transfer_context: transfer-target
    prompts:
      main_menu: hotline/vi/main-menu
    nodes:
      main:
        prompt: main_menu
        options:
          1: {queue: support}
          9: {goto: out}
      out: {type: transfer, to: "200"}
    """
)


async def test_a_transfer_node_redirects_the_caller_out_of_the_hotline(
    tmp_path: Path, db_url: str
) -> None:
    # Redirect of a caller parked in AsyncAGI to [transfer-target] (transcript 07's bench)
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(TRANSFER_FLOW)
    async with hotline_rig(tmp_path, db_url, world(["hotline/vi/main-menu"]), ivr_file=ivr) as rig:
        number = rig.numbers[0]
        caller = rig.sim.world.population.arrive(number, ("9",), patience=20)

        def in_transfer_target() -> bool:
            ch = rig.sim.world.channels.get(caller.channel)
            return ch is not None and ch.context == "transfer-target" and ch.exten == "200"

        await wait_until(in_transfer_target, 60, "the caller in [transfer-target] at 200")
        await drain(rig, timeout=120)  # the caller's patience ends the call there
        async with rig.hotline.store.sessions() as s:
            (call,) = list(await s.scalars(select(Call)))
            events = {e.kind: e.data for e in await s.scalars(select(CallEvent))}
    assert call.outcome == "ivr_hangup" and not call.queue
    assert events["transferred"] == {"context": "transfer-target", "exten": "200"}
    assert events["ivr_trail"]["path"] == "main(9) > out"
