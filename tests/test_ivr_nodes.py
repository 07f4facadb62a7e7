"""The IVR's node types on a pure session: data entry, conditions, keys, play, set, split."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from ivr import (
    AwaitCustomer,
    AwaitQueues,
    CallerHangup,
    CollectDigits,
    CustomerKnown,
    Hangup,
    IvrConfigError,
    IvrSession,
    IvrState,
    LookupAccount,
    LookupResult,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    QueueState,
    RecordMessage,
    RequestCallback,
    RouteToQueue,
    Selection,
    SetLanguage,
    Transfer,
    luhn_ok,
    parse_ivr,
    trail_path,
)

TIMEOUT = PromptResult(status="timeout")
FAILED = PromptResult(status="failed")
PLAYED = PromptResult()
HCM = dt.timezone(dt.timedelta(hours=7))  # Asia/Ho_Chi_Minh has no DST: UTC+7 all year

FLOW = textwrap.dedent(
    """\
    languages: [vi, en]
    default_language: vi
    start: hours
    fallback_queue: support
    agent_queue: support
    invalid_prompt: invalid
    calendars:
      office:
        hours: {mon: "08:00-17:30", tue: "08:00-17:30", wed: "08:00-17:30",
                thu: "08:00-17:30", fri: "08:00-17:30", sat: "08:00-12:00"}
        holidays: ["2027-02-05..2027-02-09", "2027-04-30"]
        special: {"2027-02-04": "08:00-11:00"}
    prompts:
      menu: hotline/menu
      account: hotline/account
      card: hotline/card
      invalid: hotline/invalid
      closed: hotline/closed
      holiday: hotline/holiday
      thanks: hotline/thanks
    nodes:
      hours:
        type: condition
        branches:
          - {when: {holiday: office}, then: {goto: holiday}}
          - {when: {open: office}, then: {goto: vip}}
        otherwise: {goto: closed}
      vip:
        type: condition
        branches:
          - {when: {tier: [gold, platinum]}, then: {queue: vip}}
        otherwise: {goto: main}
      main:
        prompt: menu
        options:
          1: {goto: account}
          2: {goto: card}
          3: {goto: sub}
      sub:
        prompt: menu
        agent: false
        options:
          1: {queue: billing}
      account:
        type: input
        prompt: account
        variable: account
        min_digits: 6
        max_digits: 10
        pattern: "9[0-9]+"
        tries: 2
        next: {goto: known}
        otherwise: {queue: support}
      known:
        type: condition
        branches:
          - {when: {variable: account, matches: "99.*"}, then: {queue: priority}}
        otherwise: {queue: support}
      card:
        type: input
        prompt: card
        variable: card
        min_digits: 16
        max_digits: 16
        luhn: true
        secret: true
        next: {queue: cards}
      closed:
        type: play
        prompt: closed
        next: {goto: bye}
      holiday:
        type: set
        variables: {reason: holiday}
        language: en
        next: {goto: holiday_msg}
      holiday_msg:
        type: hangup
        prompt: holiday
        reason: holiday
      bye:
        type: goto
        goto: holiday_msg
    """
)
IVR = parse_ivr(FLOW, "flow.yaml")
MENU = CollectDigits("hotline/menu", 5.0, 1)
ACCOUNT = CollectDigits("hotline/account", 6.0, 10)
CARD = CollectDigits("hotline/card", 6.0, 16)
# Monday 2027-03-01 in Ho Chi Minh City
MONDAY_10 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=HCM)


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    """A local HCM time as UTC, as the shell passes it."""
    return day.replace(hour=hour, minute=minute).astimezone(dt.UTC)


def session(wall: dt.datetime = MONDAY_10, *, tier: str | None = None) -> IvrSession:
    s = IvrSession(IVR, "1796000000.1", "0912000001", customer=CustomerKnown(tier))
    s.start(0.0, wall.astimezone(dt.UTC))
    return s


def test_open_hours_reach_the_menu() -> None:
    s = IvrSession(IVR, "c", "1", customer=CustomerKnown())
    assert s.start(0.0, at(MONDAY_10, 10)) == [SetLanguage("vi"), MENU]
    assert [(t.node, t.what, t.detail) for t in s.trail] == [
        ("hours", "enter", ""),
        ("hours", "branch", "1"),
        ("vip", "enter", ""),
        ("vip", "branch", "otherwise"),
        ("main", "enter", ""),
    ]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (dt.datetime(2027, 3, 1, 7, 59, tzinfo=HCM), "closed"),  # Monday before opening
        (dt.datetime(2027, 3, 1, 8, 0, tzinfo=HCM), "open"),
        (dt.datetime(2027, 3, 1, 17, 29, tzinfo=HCM), "open"),
        (dt.datetime(2027, 3, 1, 17, 30, tzinfo=HCM), "closed"),  # the end is exclusive
        (dt.datetime(2027, 3, 6, 11, 59, tzinfo=HCM), "open"),  # Saturday morning
        (dt.datetime(2027, 3, 6, 12, 0, tzinfo=HCM), "closed"),
        (dt.datetime(2027, 3, 7, 10, 0, tzinfo=HCM), "closed"),  # Sunday: not listed
        (dt.datetime(2027, 2, 4, 10, 59, tzinfo=HCM), "open"),  # special day: 08-11 only
        (dt.datetime(2027, 2, 4, 11, 0, tzinfo=HCM), "closed"),
        (dt.datetime(2027, 2, 5, 10, 0, tzinfo=HCM), "holiday"),  # Tết, first day
        (dt.datetime(2027, 2, 9, 23, 59, tzinfo=HCM), "holiday"),  # Tết, last day
        (dt.datetime(2027, 2, 10, 10, 0, tzinfo=HCM), "open"),
        (dt.datetime(2027, 4, 30, 9, 0, tzinfo=HCM), "holiday"),
        # 2027-04-29 23:30 UTC is already the 30th in Ho Chi Minh City: a holiday
        (dt.datetime(2027, 4, 29, 23, 30, tzinfo=dt.UTC), "holiday"),
        # 2027-03-01 01:00 UTC is 08:00 local: open, though UTC says 01:00
        (dt.datetime(2027, 3, 1, 1, 0, tzinfo=dt.UTC), "open"),
    ],
)
def test_business_hours_and_holidays_in_ho_chi_minh_city(local: dt.datetime, expected: str) -> None:
    s = IvrSession(IVR, "c", "1", customer=CustomerKnown())
    commands = s.start(0.0, local.astimezone(dt.UTC))
    seen = {
        "open": [SetLanguage("vi"), MENU],
        "closed": [SetLanguage("vi"), PlayPrompt("hotline/closed", "")],
        "holiday": [SetLanguage("vi"), SetLanguage("en"), PlayPrompt("hotline/holiday", "")],
    }
    assert commands == seen[expected]


def test_closed_plays_then_goto_then_hangup_node() -> None:
    s = session(dt.datetime(2027, 3, 7, 10, 0, tzinfo=HCM))
    assert s.state is IvrState.PLAYING
    assert s.on_result(PLAYED, 3.0) == [PlayPrompt("hotline/holiday", "")]
    assert s.on_result(FAILED, 3.1) == [Hangup("holiday")]  # a failed goodbye still ends
    assert s.state is IvrState.HUNG_UP and s.done


def test_set_node_sets_variables_and_language() -> None:
    s = session(dt.datetime(2027, 2, 6, 9, 0, tzinfo=HCM))
    assert s.language == "en" and s.variables == {"reason": "holiday"}


def test_a_gold_customer_goes_to_the_vip_queue() -> None:
    s = session(tier="gold")
    assert s.done and s.outcome == RouteToQueue("vip", "vi", ())


def test_a_tier_condition_waits_for_the_crm_lookup() -> None:
    s = IvrSession(IVR, "c", "0912000001", customer_pending=True)
    assert s.start(0.0, at(MONDAY_10, 10)) == [SetLanguage("vi"), AwaitCustomer("vip")]
    assert s.state is IvrState.WAITING_CUSTOMER
    assert s.on_customer(CustomerKnown("platinum", vip=True), 0.2) == [
        RouteToQueue("vip", "vi", ())
    ]


def test_an_unknown_caller_takes_the_otherwise_branch() -> None:
    s = IvrSession(IVR, "c", "0912000001", customer_pending=True)
    s.start(0.0, at(MONDAY_10, 10))
    assert s.on_customer(CustomerKnown(None), 1.5) == [MENU]  # not found or timed out


def test_a_customer_known_early_is_kept_for_later() -> None:
    s = IvrSession(IVR, "c", "1", customer_pending=True)
    assert s.on_customer(CustomerKnown("gold"), 0.0) == []  # before start: stored
    assert s.start(0.1, at(MONDAY_10, 10)) == [SetLanguage("vi"), RouteToQueue("vip", "vi", ())]


def test_multi_digit_entry_with_hash_and_pattern() -> None:
    s = session()
    assert s.on_result(PromptResult("1"), 1.0) == [ACCOUNT]
    assert s.state is IvrState.ENTERING
    # GET DATA returns what was typed before '#' (transcript 17: 1234#  ->  result=1234)
    assert s.on_result(PromptResult("991234"), 5.0) == [
        RouteToQueue("priority", "vi", (Selection("main", "1"), Selection("account", "991234")))
    ]
    assert s.variables == {"account": "991234"}


def test_invalid_entry_replays_then_takes_otherwise() -> None:
    s = session()
    s.on_result(PromptResult("1"), 1.0)
    assert s.on_result(PromptResult("123"), 4.0) == [PlayPrompt("hotline/invalid", "")]  # short
    assert s.state is IvrState.NOTICE
    assert s.on_result(PLAYED, 5.0) == [ACCOUNT]
    assert s.on_result(PromptResult("812345"), 8.0) == [  # no match of 9[0-9]+: tries used
        RouteToQueue("support", "vi", (Selection("main", "1"),), fallback=True)
    ]
    assert [t.what for t in s.trail if t.node == "account"] == ["enter", "invalid", "invalid"]


def test_entry_timeout_uses_a_try_then_succeeds() -> None:
    s = session()
    s.on_result(PromptResult("1"), 1.0)
    assert s.on_result(TIMEOUT, 7.0) == [ACCOUNT]
    assert s.on_result(PromptResult("9000001"), 9.0)[-1] == RouteToQueue(
        "support", "vi", (Selection("main", "1"), Selection("account", "9000001"))
    )


def test_secret_entry_is_masked_and_luhn_checked() -> None:
    s = session()
    assert s.on_result(PromptResult("2"), 1.0) == [CARD]
    assert s.on_result(PromptResult("4111111111111112"), 9.0) == [
        PlayPrompt("hotline/invalid", "")  # fails the Luhn check
    ]
    assert s.on_result(PLAYED, 10.0) == [CARD]
    route = s.on_result(PromptResult("4111111111111111"), 18.0)
    assert route == [
        RouteToQueue("cards", "vi", (Selection("main", "2"), Selection("card", "x" * 16)))
    ]
    assert s.variables == {"card": "x" * 16}
    shown = repr([t.as_dict() for t in s.trail]) + repr(s.selections) + repr(route)
    assert "4111" not in shown and "1112" not in shown


def test_a_failed_input_prompt_reads_over_silence_and_uses_no_try() -> None:
    s = session()
    s.on_result(PromptResult("1"), 1.0)
    assert s.on_result(FAILED, 1.1) == [
        PromptFailed("account", "hotline/account"),
        CollectDigits("silence/1", 6.0, 10),
    ]
    assert s.state is IvrState.ENTERING_SILENT
    assert s.on_result(PromptResult("9123456"), 6.0)[-1] == RouteToQueue(
        "support", "vi", (Selection("main", "1"), Selection("account", "9123456"))
    )


def test_failed_prompt_and_silence_count_as_one_try() -> None:
    s = session()
    s.on_result(PromptResult("1"), 1.0)
    s.on_result(FAILED, 1.1)
    assert s.on_result(FAILED, 1.2) == [
        PromptFailed("account", "silence/1", 2, listening=False),
        ACCOUNT,
    ]
    s.on_result(FAILED, 1.3)
    assert s.on_result(FAILED, 1.4)[-1] == RouteToQueue(
        "support", "vi", (Selection("main", "1"),), fallback=True
    )


def test_star_goes_back_one_menu() -> None:
    s = session()
    assert s.on_result(PromptResult("3"), 1.0) == [MENU]  # into `sub`
    assert s.node == "sub"
    assert s.on_result(PromptResult("*"), 2.0) == [MENU]
    assert s.node == "main"
    assert s.on_result(PromptResult("*"), 3.0) == [PlayPrompt("hotline/invalid", "1230")]
    assert s.node == "main"  # the first menu has nothing before it: an invalid key


def test_star_as_the_whole_entry_leaves_an_input() -> None:
    s = session()
    s.on_result(PromptResult("1"), 1.0)
    assert s.on_result(PromptResult("*"), 2.0) == [MENU]
    assert s.node == "main" and s.variables == {}


def test_zero_reaches_an_agent_where_the_menu_allows_it() -> None:
    s = session()
    assert s.on_result(PromptResult("0"), 1.0) == [
        RouteToQueue("support", "vi", (Selection("main", "0"),))
    ]
    s = session()
    s.on_result(PromptResult("3"), 1.0)
    assert s.on_result(PromptResult("0"), 2.0) == [PlayPrompt("hotline/invalid", "1*")]


def test_split_is_fixed_by_the_call_id_and_follows_the_shares() -> None:
    ivr = parse_ivr(
        "languages: [en]\ndefault_language: en\nstart: ab\nfallback_queue: q\n"
        "prompts: {p: x}\n"
        "nodes:\n"
        "  ab: {type: split, branches: [{percent: 30, then: {queue: a}},"
        " {percent: 70, then: {queue: b}}]}\n"
    )
    picks = []
    for i in range(1000):
        s = IvrSession(ivr, f"1796000000.{i}", "1")
        (route,) = s.start(0.0)[1:]
        assert isinstance(route, RouteToQueue)
        again = IvrSession(ivr, f"1796000000.{i}", "1").start(5.0)[1:]
        assert again == [route]
        picks.append(route.queue)
    assert 250 < picks.count("a") < 350


def test_luhn() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("79927398713")
    assert not luhn_ok("79927398710") and not luhn_ok("0")


def test_the_trail_in_one_line() -> None:
    s = session()
    s.on_result(PromptResult("3"), 1.0)
    s.on_result(TIMEOUT, 7.0)
    s.on_result(PromptResult("*"), 8.0)
    s.on_result(FAILED, 8.1)
    s.on_result(PromptResult("0"), 9.0)
    assert trail_path(s.trail) == "hours[1] > vip[otherwise] > main(3) > sub(-)(*) > main(!)(0)"
    assert s.trail[-1].as_dict() == {"at_s": 9.0, "node": "main", "what": "agent", "detail": "0"}


QUEUE_FLOW = parse_ivr(
    textwrap.dedent(
        """\
        languages: [en]
        default_language: en
        start: staffed
        fallback_queue: support
        prompts: {busy: hotline/busy}
        nodes:
          staffed:
            type: condition
            branches:
              - {when: {queue: support, ready_agents: 1}, then: {queue: support}}
              - {when: {queue: support, longest_wait_s: 120}, then: {goto: busy}}
              - {when: {tier: [gold]}, then: {queue: vip}}
            otherwise: {queue: overflow}
          busy: {type: hangup, prompt: busy, reason: busy}
        """
    ),
    queues={"support", "vip", "overflow"},
)


@pytest.mark.parametrize(
    ("state", "tier", "expected"),
    [
        (QueueState(ready_agents=2), None, RouteToQueue("support", "en", ())),
        (QueueState(waiting=3, longest_wait_s=121.0), None, PlayPrompt("hotline/busy", "")),
        (QueueState(waiting=3, longest_wait_s=120.0), "gold", RouteToQueue("vip", "en", ())),
        (QueueState(), None, RouteToQueue("overflow", "en", ())),
    ],
)
def test_a_condition_on_queue_state(state: QueueState, tier: str | None, expected: object) -> None:
    s = IvrSession(QUEUE_FLOW, "c", "1", customer_pending=True)
    # the CRM first (a tier branch is there), then the queues' state, which the shell gives
    assert s.start(0.0, MONDAY_10) == [SetLanguage("en"), AwaitCustomer("staffed")]
    assert s.on_customer(CustomerKnown(tier), 0.1) == [AwaitQueues("staffed", ("support",))]
    assert s.state is IvrState.WAITING_QUEUES
    assert s.on_queues({"support": state}, 0.1) == [expected]


def test_queue_measures_go_with_a_queue(tmp_path: object) -> None:
    with pytest.raises(IvrConfigError) as caught:
        parse_ivr(
            "languages: [en]\ndefault_language: en\nstart: c\nfallback_queue: q\n"
            "prompts: {p: x}\n"
            "nodes:\n"
            "  c: {type: condition, branches: [{when: {queue: q}, then: {queue: q}},\n"
            "      {when: {waiting: 3, language: en}, then: {queue: q}}], otherwise: {queue: q}}\n",
            "f.yaml",
        )
    assert [str(p) for p in caught.value.problems] == [
        "f.yaml:7: nodes.c.branches.0.when.queue:"
        " queue needs exactly one of ready_agents, waiting or longest_wait_s",
        "f.yaml:8: nodes.c.branches.1.when.waiting: waiting goes with queue",
    ]


LOOKUP_FLOW = parse_ivr(
    textwrap.dedent(
        """\
        languages: [en]
        default_language: en
        start: account
        fallback_queue: support
        prompts: {account: hotline/account}
        nodes:
          account:
            type: input
            prompt: account
            variable: account
            max_digits: 10
            next: {goto: find}
          find:
            type: lookup
            account: account
            timeout_s: 1.5
            found: {goto: gold}
            not_found: {queue: sales}
            timed_out: {queue: support}
          gold:
            type: condition
            branches: [{when: {tier: [gold]}, then: {queue: vip}}]
            otherwise: {queue: support}
        """
    ),
    queues={"support", "sales", "vip"},
)


@pytest.mark.parametrize(
    ("result", "queue"),
    [
        (LookupResult("found", CustomerKnown("gold")), "vip"),
        (LookupResult("found", CustomerKnown("standard")), "support"),
        (LookupResult("not_found"), "sales"),
        (LookupResult("timed_out"), "support"),
    ],
)
def test_a_lookup_by_the_entered_account(result: LookupResult, queue: str) -> None:
    s = IvrSession(LOOKUP_FLOW, "c", "1", customer=CustomerKnown())  # the number: no one
    s.start(0.0, MONDAY_10)
    commands = s.on_result(PromptResult("1234567890"), 3.0)
    assert commands == [LookupAccount("find", "1234567890", 1.5)]
    assert "1234567890" not in repr(commands)  # the entry stays out of logs
    assert s.state is IvrState.WAITING_LOOKUP
    routed = s.on_lookup(result, 3.4)
    assert isinstance(routed[-1], RouteToQueue) and routed[-1].queue == queue
    assert ("find", "lookup", result.outcome) in [(t.node, t.what, t.detail) for t in s.trail]


def test_a_transfer_node_ends_the_ivr_with_a_redirect() -> None:
    ivr = parse_ivr(
        "languages: [en]\ndefault_language: en\nstart: m\nfallback_queue: q\n"
        "transfer_context: outside\n"
        "prompts: {p: x}\n"
        "nodes:\n"
        "  m: {prompt: p, options: {9: {goto: out}, 8: {goto: desk}}}\n"
        "  out: {type: transfer, to: '+842838123456'}\n"
        "  desk: {type: transfer, to: '1001', context: internal}\n",
        queues={"q"},
    )
    s = IvrSession(ivr, "c", "1")
    s.start(0.0)
    assert s.on_result(PromptResult("9"), 1.0) == [Transfer("outside", "+842838123456")]
    assert s.state is IvrState.TRANSFERRED and s.done and s.on_result(CallerHangup(), 2.0) == []
    s = IvrSession(ivr, "c", "1")
    s.start(0.0)
    assert s.on_result(PromptResult("8"), 1.0) == [Transfer("internal", "1001")]
    with pytest.raises(IvrConfigError, match="nodes.out.to: '1001#' is not a valid extension"):
        parse_ivr(
            "languages: [en]\ndefault_language: en\nstart: out\nfallback_queue: q\n"
            "prompts: {p: x}\nnodes: {out: {type: transfer, to: '1001#'}}\n"
        )


VOICE_FLOW = textwrap.dedent(
    """\
    languages: [vi, en]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: {vi: hotline/vi/menu, en: hotline/en/menu}
      leave: {vi: hotline/vi/leave-message, en: hotline/en/leave-message}
      number: {vi: hotline/vi/enter-number, en: hotline/en/enter-number}
      thanks: {vi: hotline/vi/thanks, en: hotline/en/thanks}
    nodes:
      main:
        prompt: menu
        options:
          1: {goto: message}
          2: {goto: call_me}
          3: {goto: other_number}
          4: {goto: quiet}
      message:
        type: voicemail
        prompt: leave
        max_s: 90
        silence_s: 4
        queue: support
        next: {goto: bye}
      quiet: {type: voicemail, max_s: 30, silence_s: null, beep: false, next: {goto: bye}}
      call_me: {type: callback, queue: support, next: {goto: bye}}
      other_number:
        type: input
        prompt: number
        variable: callback_number
        min_digits: 9
        max_digits: 11
        pattern: "0[0-9]+"
        next: {goto: call_there}
      call_there:
        type: callback
        queue: support
        number: callback_number
        next: {goto: bye}
        otherwise: {queue: support}
      bye: {type: hangup, prompt: thanks, reason: done}
    """
)


def test_a_voicemail_node_plays_its_prompt_records_then_goes_on() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001")
    s.start(0.0)
    assert s.on_result(PromptResult("1"), 1.0) == [PlayPrompt("hotline/vi/leave-message", "")]
    assert s.state is IvrState.VOICEMAIL_PROMPT
    record = RecordMessage("message", 90, 4, beep=True, queue="support")
    assert s.on_result(PLAYED, 4.0) == [record]
    assert s.state is IvrState.RECORDING and s.awaiting == record
    # the caller pressed '#' (RECORD FILE result=35): the flow goes on to the thank-you
    assert s.on_result(PromptResult("#"), 20.0) == [PlayPrompt("hotline/vi/thanks", "")]
    assert s.on_result(PLAYED, 22.0) == [Hangup("done")]
    assert trail_path(s.trail) == "main(1) > message(#) > bye"
    assert [(t.node, t.what, t.detail) for t in s.trail if t.what == "voicemail"] == [
        ("message", "voicemail", "#")
    ]


def test_a_voicemail_without_prompt_records_at_once_and_a_missing_prompt_still_records() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001")
    s.start(0.0)
    assert s.on_result(PromptResult("4"), 1.0) == [
        RecordMessage("quiet", 30, None, beep=False, queue=None)
    ]
    # its time ran out (RECORD FILE result=0 (timeout)): "end" in the trail
    assert s.on_result(PLAYED, 31.0) == [PlayPrompt("hotline/vi/thanks", "")]
    assert trail_path(s.trail) == "main(4) > quiet(end) > bye"
    s = IvrSession(ivr, "c2", "0912000001")
    s.start(0.0)
    s.on_result(PromptResult("1"), 1.0)
    assert s.on_result(FAILED, 1.1) == [RecordMessage("message", 90, 4, True, "support")]


def test_a_failed_recording_goes_on_and_a_hangup_while_recording_abandons() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001")
    s.start(0.0)
    s.on_result(PromptResult("4"), 1.0)
    # -1 (the file could not be written): the caller is not stranded
    assert s.on_result(FAILED, 2.0) == [PlayPrompt("hotline/vi/thanks", "")]
    assert trail_path(s.trail) == "main(4) > quiet(failed) > bye"
    s = IvrSession(ivr, "c2", "0912000001")
    s.start(0.0)
    s.on_result(PromptResult("4"), 1.0)
    assert s.on_result(CallerHangup(), 9.0) == []
    assert s.state is IvrState.ABANDONED


def test_a_callback_at_the_callers_own_number() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001")
    s.start(0.0)
    assert s.on_result(PromptResult("2"), 1.0) == [
        RequestCallback("call_me", "support", "0912000001", own_number=True),
        PlayPrompt("hotline/vi/thanks", ""),
    ]
    assert trail_path(s.trail) == "main(2) > call_me(own) > bye"
    assert "0912000001" not in repr(s.trail), "the number stays out of the trail"


def test_a_callback_at_an_entered_number_checked_by_the_input() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001")
    s.start(0.0)
    assert s.on_result(PromptResult("3"), 1.0) == [
        CollectDigits("hotline/vi/enter-number", 6.0, max_digits=11)
    ]
    # 12345 is too short and does not start with 0: the input asks again
    assert s.on_result(PromptResult("12345"), 5.0) == [
        CollectDigits("hotline/vi/enter-number", 6.0, max_digits=11)
    ]
    assert s.on_result(PromptResult("0987654321#"), 9.0) == [
        RequestCallback("call_there", "support", "0987654321", own_number=False),
        PlayPrompt("hotline/vi/thanks", ""),
    ]
    assert (
        trail_path(s.trail)
        == "main(3) > other_number(12345)(0987654321) > call_there(entered) > bye"
    )


def test_a_callback_with_no_number_to_call_takes_otherwise_or_the_fallback() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "anonymous")
    s.start(0.0)
    assert s.on_result(PromptResult("2"), 1.0) == [
        RouteToQueue("support", "vi", (Selection("main", "2"),), fallback=True)
    ]
    assert trail_path(s.trail) == "main(2) > call_me(no_number)"
    s = IvrSession(ivr, "c2", "")
    s.start(0.0)
    assert s.on_result(PromptResult("2"), 1.0)[-1] == RouteToQueue(
        "support", "vi", (Selection("main", "2"),), fallback=True
    )


def test_voicemail_and_callback_commands_check_their_values() -> None:
    with pytest.raises(ValueError, match="max_s must be >= 1"):
        RecordMessage("n", 0)
    with pytest.raises(ValueError, match="silence_s must be >= 1"):
        RecordMessage("n", 10, 0)
    with pytest.raises(ValueError, match="must be digits"):
        RequestCallback("n", "q", "anonymous")
    assert "0912" not in repr(RequestCallback("n", "q", "0912000001"))


def test_a_callback_waits_for_the_crm_so_the_request_carries_the_customer() -> None:
    # regression: a caller quicker than the CRM got a request with no customer
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001", customer_pending=True)
    s.start(0.0)
    assert s.on_result(PromptResult("2"), 1.0) == [AwaitCustomer("call_me")]
    assert s.state is IvrState.WAITING_CUSTOMER
    assert s.on_customer(CustomerKnown("gold"), 1.2) == [
        RequestCallback("call_me", "support", "0912000001", own_number=True),
        PlayPrompt("hotline/vi/thanks", ""),
    ]
    assert trail_path(s.trail) == "main(2) > call_me(own) > bye"


def test_a_voicemail_waits_for_the_crm_before_its_prompt() -> None:
    ivr = parse_ivr(VOICE_FLOW, queues={"support"})
    s = IvrSession(ivr, "c1", "0912000001", customer_pending=True)
    s.start(0.0)
    assert s.on_result(PromptResult("1"), 1.0) == [AwaitCustomer("message")]
    assert s.on_customer(CustomerKnown(), 1.5) == [PlayPrompt("hotline/vi/leave-message", "")]
    assert s.state is IvrState.VOICEMAIL_PROMPT
