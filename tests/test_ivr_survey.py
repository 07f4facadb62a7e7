"""The post-call survey on a pure session: answers, ranges, timeouts, failures, hang-ups."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr import (
    CallerHangup,
    CollectDigits,
    Hangup,
    IvrConfigError,
    PlayPrompt,
    PromptResult,
    SurveyDone,
    SurveySession,
    load_ivr,
    parse_ivr,
)

TIMEOUT = PromptResult(status="timeout")
FAILED = PromptResult(status="failed")
PLAYED = PromptResult()
SURVEYED = textwrap.dedent(
    """\
    languages: [vi, en]
    default_language: vi
    start: main
    fallback_queue: support
    invalid_prompt: invalid
    prompts:
      menu: hotline/menu
      invalid: {vi: hotline/vi/invalid, en: hotline/en/invalid}
      csat: {vi: hotline/vi/survey-csat, en: hotline/en/survey-csat}
      nps: {vi: hotline/vi/survey-nps, en: hotline/en/survey-nps}
      ces: {vi: hotline/vi/survey-ces, en: hotline/en/survey-ces}
      thanks: {vi: hotline/vi/survey-thanks, en: hotline/en/survey-thanks}
    survey:
      csat: csat
      nps: nps
      ces: ces
      thanks: thanks
      queues:
        sales: [csat]
        vip: []
    nodes:
      main:
        prompt: menu
        options: {1: {queue: support}}
    """
)
IVR = parse_ivr(SURVEYED)
CSAT = CollectDigits("hotline/en/survey-csat", 6.0, 1)
NPS = CollectDigits("hotline/en/survey-nps", 6.0, 2)
CES = CollectDigits("hotline/en/survey-ces", 6.0, 1)
THANKS = PlayPrompt("hotline/en/survey-thanks", "")


def test_all_three_answered() -> None:
    s = SurveySession(IVR, "support", "en")
    assert s.start() == [CSAT]
    assert s.on_result(PromptResult("4")) == [NPS]
    assert s.on_result(PromptResult("10")) == [CES]
    assert s.on_result(PromptResult("2")) == [
        SurveyDone((("csat", 4), ("nps", 10), ("ces", 2))),
        THANKS,
    ]
    assert s.on_result(PLAYED) == [Hangup("survey")]
    assert s.done and s.answers == {"csat": 4, "nps": 10, "ces": 2}


def test_out_of_range_is_asked_again_then_skipped() -> None:
    s = SurveySession(IVR, "support", "en")
    s.start()
    assert s.on_result(PromptResult("9")) == [PlayPrompt("hotline/en/invalid", "")]
    assert s.on_result(PLAYED) == [CSAT]
    assert s.on_result(PromptResult("0")) == [NPS]  # retries: 1 used: no CSAT
    assert s.on_result(PromptResult("0")) == [CES]  # NPS 0 is in range
    assert s.on_result(PromptResult("8")) == [PlayPrompt("hotline/en/invalid", "")]
    s.on_result(PLAYED)
    assert s.on_result(PromptResult("7"))[0] == SurveyDone((("nps", 0), ("ces", 7)))


def test_timeouts_and_missing_prompts_never_hold_the_caller() -> None:
    s = SurveySession(IVR, "support", "vi")
    assert s.start() == [CollectDigits("hotline/vi/survey-csat", 6.0, 1)]
    assert s.on_result(FAILED)[0].prompt == "hotline/vi/survey-nps"  # type: ignore[union-attr]
    assert s.on_result(TIMEOUT)[0].prompt == "hotline/vi/survey-ces"  # type: ignore[union-attr]
    assert s.on_result(PLAYED) == [SurveyDone(()), PlayPrompt("hotline/vi/survey-thanks", "")]
    assert s.on_result(FAILED) == [Hangup("survey")]  # a missing thanks still hangs up


def test_questions_per_queue() -> None:
    s = SurveySession(IVR, "sales", "en")
    assert s.start() == [CSAT]
    assert s.on_result(PromptResult("5")) == [SurveyDone((("csat", 5),)), THANKS]
    assert IVR.survey is not None and IVR.survey.questions("vip") == ()


def test_a_hangup_keeps_the_answers_given() -> None:
    s = SurveySession(IVR, "support", "en")
    s.start()
    s.on_result(PromptResult("3"))
    assert s.on_result(CallerHangup()) == [SurveyDone((("csat", 3),))]
    assert s.done and s.on_result(CallerHangup()) == []
    s = SurveySession(IVR, "support", "en")
    s.start()
    assert s.on_result(CallerHangup()) == []  # nothing answered: nothing to store


def test_a_question_without_its_prompt_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ivr.yaml"
    path.write_text(SURVEYED.replace("  ces: ces\n", "").replace("sales: [csat]", "sales: [ces]"))
    with pytest.raises(IvrConfigError) as caught:
        load_ivr(path)
    assert [str(p).replace(str(path), "F") for p in caught.value.problems] == [
        "F:18: survey.queues.sales.0: ces has no prompt in the survey"
    ]
