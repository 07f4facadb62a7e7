"""IvrSession on the sample IVR: exact command sequences, failures, and random walks."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import (
    TRANSITIONS,
    CallerHangup,
    CollectDigits,
    Hangup,
    InputKind,
    IvrSession,
    IvrState,
    IvrStateError,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    RouteToQueue,
    Selection,
    SetLanguage,
    load_ivr,
    parse_ivr,
)

SAMPLE = load_ivr(Path(__file__).resolve().parents[1] / "config" / "ivr.yaml")

PLAYED = PromptResult()
TIMEOUT = PromptResult(status="timeout")
FAILED = PromptResult(status="failed")

WELCOME_VI = PlayPrompt("hotline/vi/welcome", "12")
CHOOSE_LANGUAGE = CollectDigits("hotline/vi/choose-language", 5.0, 1)
MENU_VI = CollectDigits("hotline/vi/main-menu", 6.0, 1)
MENU_EN = CollectDigits("hotline/en/main-menu", 6.0, 1)
INVALID_VI = PlayPrompt("hotline/vi/invalid", "120*")
LISTEN_LANGUAGE = CollectDigits("", 5.0, 1)  # WAIT FOR DIGIT 5000
LISTEN_MENU = CollectDigits("", 6.0, 1)


def pressed(digits: str) -> PromptResult:
    return PromptResult(digits)


def new_session() -> IvrSession:
    return IvrSession(SAMPLE, call_id="1795369505.17", caller_number="0912000001")


def test_walk_in_vietnamese() -> None:
    s = new_session()
    assert s.start(now=100.0) == [SetLanguage("vi"), WELCOME_VI]
    assert s.state is IvrState.INTRO and s.awaiting == WELCOME_VI
    assert s.on_result(PLAYED, now=104.0) == [CHOOSE_LANGUAGE]
    assert s.state is IvrState.ASKING
    assert s.on_result(pressed("1"), now=106.0) == [SetLanguage("vi"), MENU_VI]
    assert s.node == "main"
    route = RouteToQueue("support", "vi", (Selection("language", "1"), Selection("main", "1")))
    assert s.on_result(pressed("1"), now=110.0) == [route]
    assert s.done and s.state is IvrState.ROUTED and s.outcome == route
    assert s.awaiting is None
    assert (s.started_at, s.ended_at) == (100.0, 110.0)


def test_walk_in_english_interrupting_the_welcome() -> None:
    s = new_session()
    s.start(now=0.0)
    assert s.on_result(pressed("2"), now=1.5) == [SetLanguage("en"), MENU_EN]
    assert s.language == "en"
    assert s.on_result(pressed("0"), now=3.0) == [
        RouteToQueue("support", "en", (Selection("language", "2"), Selection("main", "0")))
    ]
    assert s.selections == (Selection("language", "2"), Selection("main", "0"))


def test_invalid_digit_then_valid() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(pressed("2"), 1.0)
    assert s.on_result(pressed("7"), 2.0) == [PlayPrompt("hotline/en/invalid", "120*")]
    assert s.state is IvrState.NOTICE
    assert s.on_result(PLAYED, 3.0) == [MENU_EN]
    assert s.on_result(pressed("2"), 4.0) == [
        RouteToQueue("support", "en", (Selection("language", "2"), Selection("main", "2")))
    ]


def test_digit_during_invalid_notice_is_the_choice() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(pressed("1"), 1.0)
    assert s.on_result(pressed("9"), 2.0) == [INVALID_VI]
    assert s.on_result(pressed("0"), 3.0) == [
        RouteToQueue("support", "vi", (Selection("language", "1"), Selection("main", "0")))
    ]


def test_invalid_digit_on_language_menu_keeps_default_language() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(PLAYED, 1.0)
    assert s.on_result(pressed("5"), 2.0) == [SetLanguage("vi"), MENU_VI]


def test_timeout_keeps_default_language() -> None:
    s = new_session()
    s.start(0.0)
    assert s.on_result(PLAYED, 4.0) == [CHOOSE_LANGUAGE]
    assert s.on_result(TIMEOUT, 9.0) == [SetLanguage("vi"), MENU_VI]
    assert s.language == "vi" and s.selections == ()
    assert s.on_result(pressed("1"), 12.0) == [
        RouteToQueue("support", "vi", (Selection("main", "1"),))
    ]


def test_timeouts_exhaust_retries_to_fallback_queue() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(pressed("2"), 1.0)
    assert s.on_result(TIMEOUT, 7.0) == [MENU_EN]
    assert s.on_result(pressed("8"), 9.0) == [PlayPrompt("hotline/en/invalid", "120*")]
    assert s.on_result(PLAYED, 10.0) == [MENU_EN]
    assert s.on_result(TIMEOUT, 16.0) == [
        RouteToQueue("support", "en", (Selection("language", "2"),), fallback=True)
    ]


def test_missing_prompts_never_drop_the_caller() -> None:
    # STREAM FILE result=-1 (transcript 13), then GET DATA result=-1 (17): each
    # failed question is reported and followed by a silent read that times out
    s = new_session()
    assert s.start(0.0) == [SetLanguage("vi"), WELCOME_VI]
    assert s.on_result(FAILED, 0.1) == [CHOOSE_LANGUAGE]  # a missing intro: go on
    assert s.on_result(FAILED, 0.2) == [
        PromptFailed("language", "hotline/vi/choose-language"),
        LISTEN_LANGUAGE,
    ]
    assert s.on_result(TIMEOUT, 5.2) == [SetLanguage("vi"), MENU_VI]  # language: no retries
    for failures, at in enumerate((5.3, 11.4, 17.5), start=1):
        assert s.on_result(FAILED, at) == [
            PromptFailed("main", "hotline/vi/main-menu", failures),
            LISTEN_MENU,
        ]
        assert s.state is IvrState.LISTENING
        commands = s.on_result(TIMEOUT, at + 6.0)
    assert commands == [RouteToQueue("support", "vi", (), fallback=True)]
    assert s.state is IvrState.ROUTED


def test_failed_invalid_notice_asks_again() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(pressed("1"), 1.0)
    s.on_result(pressed("5"), 2.0)
    assert s.on_result(FAILED, 3.0) == [MENU_VI]


def test_caller_hangup_ends_the_session_without_commands() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(pressed("2"), 1.0)
    assert s.on_result(CallerHangup(), 2.0) == []
    assert s.done and s.state is IvrState.ABANDONED and s.ended_at == 2.0
    assert s.selections == (Selection("language", "2"),) and s.language == "en"
    assert s.on_result(CallerHangup(), 3.0) == []  # reported twice: harmless
    assert s.ended_at == 2.0


def test_hangup_after_routing_is_ignored() -> None:
    s = new_session()
    s.start(0.0)
    s.on_result(pressed("1"), 1.0)
    s.on_result(pressed("1"), 2.0)
    assert s.on_result(CallerHangup(), 3.0) == []
    assert s.state is IvrState.ROUTED


def test_hangup_option() -> None:
    ivr = parse_ivr(
        "languages: [en]\ndefault_language: en\nstart: m\nfallback_queue: support\n"
        "prompts: {menu: hotline/menu}\n"
        "nodes: {m: {prompt: menu, options: {9: {hangup: caller-asked}, 1: {queue: sales}}}}\n"
    )
    s = IvrSession(ivr, "c1", "100")
    assert s.start(0.0) == [SetLanguage("en"), CollectDigits("hotline/menu", 5.0, 1)]
    assert s.on_result(pressed("9"), 1.0) == [Hangup("caller-asked")]
    assert s.state is IvrState.HUNG_UP and s.done


def test_inputs_outside_the_table_raise() -> None:
    s = new_session()
    with pytest.raises(IvrStateError) as caught:
        s.on_result(PLAYED, 0.0)
    assert (caught.value.state, caught.value.kind) == (IvrState.IDLE, InputKind.PLAYED)
    s.start(0.0)
    with pytest.raises(IvrStateError):
        s.start(1.0)
    s.on_result(pressed("1"), 1.0)
    s.on_result(pressed("1"), 2.0)
    with pytest.raises(IvrStateError, match="from state IvrState.ROUTED on input InputKind.DIGITS"):
        s.on_result(pressed("1"), 3.0)


def test_transition_table_covers_every_live_state() -> None:
    live = [IvrState.INTRO, IvrState.ASKING, IvrState.LISTENING, IvrState.NOTICE]
    for state in live:
        assert {k for s, k in TRANSITIONS if s is state} == set(InputKind) - {
            InputKind.START,
            InputKind.CUSTOMER,  # only a condition waiting for the CRM takes it
            InputKind.QUEUES,  # only a condition waiting for the queues' state takes it
            InputKind.LOOKUP,  # only a lookup node waiting for the CRM takes it
        }
    for state in (IvrState.ROUTED, IvrState.HUNG_UP, IvrState.ABANDONED):
        assert {k for s, k in TRANSITIONS if s is state} == {InputKind.HANGUP}
    assert {k for s, k in TRANSITIONS if s is IvrState.IDLE} == {InputKind.START, InputKind.HANGUP}


def test_prompt_result_is_validated() -> None:
    with pytest.raises(ValueError, match="non-DTMF"):
        PromptResult("1a")
    with pytest.raises(ValueError, match="failed PromptResult carries no digits"):
        PromptResult("1", "failed")
    with pytest.raises(ValueError, match="status"):
        PromptResult("", "busy")  # type: ignore[arg-type]


results = st.one_of(
    # without the back key '*': a caller going back and forth has no bound (test_back_key_*)
    st.builds(PromptResult, st.text(alphabet="0123456789#", min_size=1, max_size=2)),
    st.just(PLAYED),
    st.just(TIMEOUT),
    st.just(FAILED),
)

# the longest walk of the sample: intro, language question and its silent read
# (the question failed), then the main menu asked three times, each failing and
# read in silence, with two invalid notices between
MAX_RESULTS = 3 + 3 * 2 + 2


@settings(max_examples=400, deadline=None)
@given(data=st.data(), hang_up=st.booleans())
def test_random_results_always_reach_a_queue(data: st.DataObject, hang_up: bool) -> None:
    s = new_session()
    commands = s.start(0.0)
    emitted = list(commands)
    hangup_at = data.draw(st.integers(0, MAX_RESULTS)) if hang_up else None
    steps = 0
    caller_left = False
    while not s.done:
        assert steps < MAX_RESULTS, "the IVR did not end in a bounded number of prompts"
        assert commands and isinstance(commands[-1], PlayPrompt | CollectDigits)
        assert all(isinstance(c, SetLanguage | PromptFailed) for c in commands[:-1])
        assert s.awaiting == commands[-1]
        event = CallerHangup() if steps == hangup_at else data.draw(results)
        caller_left = isinstance(event, CallerHangup)
        steps += 1
        commands = s.on_result(event, float(steps))
        emitted += commands
    assert not any(isinstance(c, Hangup) for c in emitted)
    assert s.awaiting is None
    if caller_left:
        assert commands == [] and s.state is IvrState.ABANDONED
        return
    assert s.state is IvrState.ROUTED
    *before, route = commands
    assert all(isinstance(c, SetLanguage) for c in before)
    chose_in_menu = any(sel.node == "main" for sel in s.selections)
    assert route == RouteToQueue("support", s.language, s.selections, fallback=not chose_in_menu)
    assert s.language == ("en" if Selection("language", "2") in s.selections else "vi")
