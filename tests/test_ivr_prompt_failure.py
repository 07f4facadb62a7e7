"""A menu question that fails to play (GET DATA result=-1) is neither a timeout nor a hang-up."""

from __future__ import annotations

from pathlib import Path

from ivr import (
    MAX_PROMPT_FAILURES,
    CallerHangup,
    CollectDigits,
    Command,
    IvrSession,
    IvrState,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    RouteToQueue,
    Selection,
    SetLanguage,
    agi_command,
    load_ivr,
    parse_ivr,
    prompt_result,
)

SAMPLE = load_ivr(Path(__file__).resolve().parents[1] / "config" / "ivr.yaml")

PLAYED = PromptResult()
TIMEOUT = PromptResult(status="timeout")
FAILED = PromptResult(status="failed")

CHOOSE_LANGUAGE = CollectDigits("hotline/vi/choose-language", 5.0, 1)
MENU_VI = CollectDigits("hotline/vi/main-menu", 6.0, 1)
MENU_EN = CollectDigits("hotline/en/main-menu", 6.0, 1)
LISTEN_4S = CollectDigits("", 4.0, 1)  # WAIT FOR DIGIT 4000
LISTEN_5S = CollectDigits("", 5.0, 1)
LISTEN_6S = CollectDigits("", 6.0, 1)  # WAIT FOR DIGIT 6000
MENU_FAILED_VI = PromptFailed("main", "hotline/vi/main-menu")


def pressed(digits: str) -> PromptResult:
    return PromptResult(digits)


def at_main_menu_vi() -> IvrSession:
    """A session past the language menu (1 pressed), awaiting the Vietnamese main menu."""
    s = IvrSession(SAMPLE, call_id="1796000000.1", caller_number="0912000001")
    s.start(0.0)
    assert s.on_result(pressed("1"), 1.0) == [SetLanguage("vi"), MENU_VI]
    return s


def test_a_missing_menu_prompt_uses_no_retry_and_the_digit_still_routes() -> None:
    # A missing main-menu prompt (GET DATA result=-1 in 0.1 s, transcript 17) used every
    # retry in 0.3 s and sent every caller to the fallback queue without a choice.
    s = at_main_menu_vi()
    assert s.on_result(FAILED, 1.1) == [MENU_FAILED_VI, LISTEN_6S]
    assert s.state is IvrState.LISTENING and s.awaiting == LISTEN_6S
    assert s.on_result(pressed("2"), 3.0) == [
        RouteToQueue("support", "vi", (Selection("language", "1"), Selection("main", "2")))
    ]
    assert isinstance(s.outcome, RouteToQueue) and not s.outcome.fallback


def test_a_failed_question_is_not_a_miss_even_with_no_retries_left() -> None:
    # the language node has retries: 0; were the failure a miss, `otherwise` (vi) would run
    s = IvrSession(SAMPLE, "c1", "100")
    s.start(0.0)
    assert s.on_result(PLAYED, 4.0) == [CHOOSE_LANGUAGE]
    assert s.on_result(FAILED, 4.1) == [
        PromptFailed("language", "hotline/vi/choose-language"),
        LISTEN_5S,
    ]
    assert s.on_result(pressed("2"), 6.0) == [SetLanguage("en"), MENU_EN]
    assert s.language == "en" and s.selections == (Selection("language", "2"),)


def test_the_caller_gets_as_many_chances_as_with_the_prompt() -> None:
    # each failed question is followed by a silent read; its timeout uses a retry
    s = at_main_menu_vi()
    assert s.on_result(FAILED, 1.1) == [MENU_FAILED_VI, LISTEN_6S]
    assert s.on_result(TIMEOUT, 7.1) == [MENU_VI]  # retry 1 of 2
    assert s.on_result(FAILED, 7.2) == [PromptFailed("main", "hotline/vi/main-menu", 2), LISTEN_6S]
    assert s.on_result(TIMEOUT, 13.2) == [MENU_VI]  # retry 2 of 2
    assert s.on_result(FAILED, 13.3) == [
        PromptFailed("main", "hotline/vi/main-menu", 3),
        LISTEN_6S,
    ]
    assert s.on_result(pressed("0"), 15.0) == [
        RouteToQueue("support", "vi", (Selection("language", "1"), Selection("main", "0")))
    ]


def test_silent_caller_with_a_missing_prompt_reaches_the_fallback_queue() -> None:
    s = at_main_menu_vi()
    now = 1.0
    for failures in (1, 2, 3):
        assert s.on_result(FAILED, now + 0.1) == [
            PromptFailed("main", "hotline/vi/main-menu", failures),
            LISTEN_6S,
        ]
        commands = s.on_result(TIMEOUT, now + 6.1)
        now += 6.1
    assert commands == [RouteToQueue("support", "vi", (Selection("language", "1"),), fallback=True)]


def test_an_invalid_digit_in_the_silent_read_is_a_miss() -> None:
    s = at_main_menu_vi()
    s.on_result(FAILED, 1.1)
    assert s.on_result(pressed("7"), 2.0) == [PlayPrompt("hotline/vi/invalid", "120*")]
    assert s.state is IvrState.NOTICE
    assert s.on_result(PLAYED, 3.0) == [MENU_VI]


def test_a_failed_silent_read_is_a_miss() -> None:
    # WAIT FOR DIGIT result=-1: the channel failed; it uses a retry, so it cannot loop
    s = at_main_menu_vi()
    s.on_result(FAILED, 1.1)
    assert s.on_result(FAILED, 1.2) == [MENU_VI]
    s.on_result(FAILED, 1.3)
    assert s.on_result(FAILED, 1.4) == [MENU_VI]
    s.on_result(FAILED, 1.5)
    assert s.on_result(FAILED, 1.6) == [
        RouteToQueue("support", "vi", (Selection("language", "1"),), fallback=True)
    ]


def test_timeouts_still_use_retries() -> None:
    s = at_main_menu_vi()
    assert s.on_result(TIMEOUT, 7.0) == [MENU_VI]
    assert s.on_result(TIMEOUT, 13.0) == [MENU_VI]
    assert s.on_result(TIMEOUT, 19.0) == [
        RouteToQueue("support", "vi", (Selection("language", "1"),), fallback=True)
    ]


def test_timeouts_and_failed_questions_share_the_retries() -> None:
    s = at_main_menu_vi()
    assert s.on_result(TIMEOUT, 7.0) == [MENU_VI]  # retry 1
    assert s.on_result(FAILED, 7.1) == [MENU_FAILED_VI, LISTEN_6S]  # the prompt went missing
    assert s.on_result(TIMEOUT, 13.1) == [MENU_VI]  # retry 2
    assert s.on_result(TIMEOUT, 19.1) == [
        RouteToQueue("support", "vi", (Selection("language", "1"),), fallback=True)
    ]


def test_failures_in_a_row_restart_when_the_question_plays() -> None:
    s = at_main_menu_vi()
    s.on_result(FAILED, 1.1)
    s.on_result(TIMEOUT, 7.1)
    assert s.on_result(PLAYED, 8.0) == [MENU_VI]  # GET DATA played; '#' alone: a miss
    assert s.on_result(FAILED, 8.1) == [MENU_FAILED_VI, LISTEN_6S]  # one in a row again


def test_failures_in_a_row_restart_at_a_new_node() -> None:
    s = IvrSession(SAMPLE, "c1", "100")
    s.start(0.0)
    s.on_result(PLAYED, 4.0)
    s.on_result(FAILED, 4.1)
    assert s.on_result(pressed("1"), 5.0) == [SetLanguage("vi"), MENU_VI]
    assert s.on_result(FAILED, 5.1) == [MENU_FAILED_VI, LISTEN_6S]


def many_retries() -> IvrSession:
    ivr = parse_ivr(
        "languages: [en]\ndefault_language: en\nstart: m\nfallback_queue: support\n"
        "prompts: {menu: hotline/menu}\n"
        "nodes: {m: {prompt: menu, timeout_s: 4, retries: 9, options: {1: {queue: sales}}}}\n"
    )
    s = IvrSession(ivr, "c1", "100")
    assert s.start(0.0) == [SetLanguage("en"), CollectDigits("hotline/menu", 4.0, 1)]
    return s


def test_past_the_bound_a_failed_question_counts_as_a_miss() -> None:
    s = many_retries()
    menu = CollectDigits("hotline/menu", 4.0, 1)
    for failures in range(1, MAX_PROMPT_FAILURES + 1):
        assert s.on_result(FAILED, 0.0) == [PromptFailed("m", "hotline/menu", failures), LISTEN_4S]
        assert s.on_result(pressed("7"), 0.0) == [menu]  # invalid (no invalid prompt): a miss
    # retries used: MAX_PROMPT_FAILURES of 9; from now on a failure is a miss, as before the fix
    results: list[list[Command]] = []
    while not s.done:
        results.append(s.on_result(FAILED, 0.0))
    failures = MAX_PROMPT_FAILURES + 1
    assert results[0] == [PromptFailed("m", "hotline/menu", failures, listening=False), menu]
    assert len(results) == 10 - MAX_PROMPT_FAILURES
    assert results[-1][-1] == RouteToQueue("support", "en", (), fallback=True)
    assert not any(c == LISTEN_4S for r in results for c in r)


def test_a_caller_gone_during_the_failed_question_is_abandoned() -> None:
    # A hang-up during GET DATA also answers result=-1 (transcript 22); the shell
    # then finds the channel gone and feeds CallerHangup: nothing more is asked.
    s = at_main_menu_vi()
    assert s.on_result(FAILED, 1.1) == [MENU_FAILED_VI, LISTEN_6S]
    assert s.on_result(CallerHangup(), 1.1) == []
    assert s.state is IvrState.ABANDONED and s.awaiting is None and s.outcome is None
    assert s.selections == (Selection("language", "1"),) and s.ended_at == 1.1
    assert s.on_result(CallerHangup(), 1.2) == []  # reported twice: harmless


def drive(s: IvrSession, replies: list[str]) -> list[str]:
    """Run the session as the shell does: AGI lines out, decoded AsyncAGIExec results in."""
    sent: list[str] = []
    commands = s.start(0.0)
    for now, reply in enumerate(replies, start=1):
        *before, awaited = commands
        sent += [line for c in before if (line := agi_command(c)) is not None]
        assert isinstance(awaited, PlayPrompt | CollectDigits)
        sent.append(agi_command(awaited) or "")
        commands = s.on_result(prompt_result(awaited, reply), float(now))
    assert s.done and isinstance(commands[-1], RouteToQueue)
    return sent


def test_agi_lines_of_a_missing_menu_prompt() -> None:
    s = IvrSession(SAMPLE, "c1", "100")
    sent = drive(
        s,
        [
            "200 result=49 endpos=7360\n",  # 1 during the welcome (17)
            "200 result=-1\n",  # GET DATA of the missing main menu (17)
            "200 result=0\n",  # WAIT FOR DIGIT timed out (22)
            "200 result=-1\n",
            "200 result=50\n",  # 2 in the silent read
        ],
    )
    assert sent == [
        "SET VARIABLE CHANNEL(language) vi",
        'STREAM FILE hotline/vi/welcome "12"',
        "SET VARIABLE CHANNEL(language) vi",
        "GET DATA hotline/vi/main-menu 6000 1",
        "WAIT FOR DIGIT 6000",
        "GET DATA hotline/vi/main-menu 6000 1",
        "WAIT FOR DIGIT 6000",
    ]
    assert s.outcome == RouteToQueue(
        "support", "vi", (Selection("language", "1"), Selection("main", "2"))
    )


def with_fallback() -> IvrSession:
    ivr = parse_ivr(
        "languages: [vi, en]\ndefault_language: vi\nstart: m\nfallback_queue: support\n"
        "prompts:\n"
        "  menu: {vi: hotline/vi/main-menu, en: hotline/en/main-menu}\n"
        "  short: {vi: hotline/vi/menu-short, en: hotline/en/menu-short}\n"
        "nodes:\n"
        "  m: {prompt: menu, fallback_prompt: short, timeout_s: 6, retries: 1,\n"
        "      options: {1: {queue: support}, 2: {queue: support}}}\n"
    )
    s = IvrSession(ivr, "c1", "100")
    assert s.start(0.0) == [SetLanguage("vi"), MENU_VI]
    return s


SHORT_VI = CollectDigits("hotline/vi/menu-short", 6.0, 1)


def test_a_failed_question_asks_the_fallback_prompt_before_reading_in_silence() -> None:
    s = with_fallback()
    assert s.on_result(FAILED, 0.1) == [PromptFailed("m", "hotline/vi/main-menu"), SHORT_VI]
    assert s.state is IvrState.ASKING
    assert s.on_result(pressed("2"), 2.0) == [RouteToQueue("support", "vi", (Selection("m", "2"),))]


def test_a_failed_fallback_prompt_still_leaves_the_silent_read() -> None:
    s = with_fallback()
    s.on_result(FAILED, 0.1)
    assert s.on_result(FAILED, 0.2) == [
        PromptFailed("m", "hotline/vi/menu-short", 2),
        LISTEN_6S,
    ]
    assert s.on_result(TIMEOUT, 6.2) == [MENU_VI]  # retry 1: the main prompt again
    assert s.on_result(FAILED, 6.3) == [PromptFailed("m", "hotline/vi/main-menu", 3), SHORT_VI]
    assert s.on_result(TIMEOUT, 12.3)[-1] == RouteToQueue("support", "vi", (), fallback=True)
