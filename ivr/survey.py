"""The post-call survey: one caller's answers, as a pure state machine.

Rules:

1. The shell starts a :class:`SurveySession` when the caller is back in the
   after-call context (the ``F()`` of the agent's Bridge) and the IVR has a
   ``survey`` with questions for the call's queue. ``start()`` and
   ``on_result(result)`` return commands like :class:`~ivr.session.IvrSession`:
   a list ending with the one command awaited (CollectDigits, PlayPrompt) or
   with Hangup; a :class:`SurveyDone` before the Hangup carries the answers.
2. Each question is one GET DATA: CSAT 1-5 and CES 1-7 read one digit, NPS
   0-10 up to two (``#`` ends a lone digit). An answer out of range plays the
   invalid prompt and asks again, ``retries`` times; a timeout, a failed
   prompt (nothing to ask with: transcript 17's ``result=-1``) or the retries
   used up leave the question unanswered and go on. The caller is never held:
   the survey ends after at most ``(retries + 1)`` asks per question.
3. A caller who hangs up ends it (``on_result(CallerHangup())`` returns
   ``[SurveyDone(...)]`` with what was answered, if anything): answers given
   are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .errors import IvrStateError
from .events import (
    CallerHangup,
    CollectDigits,
    Command,
    Hangup,
    IvrInput,
    PlayPrompt,
    PromptResult,
)
from .model import SURVEY_SCALES, IvrDefinition, Question, Survey


class SurveyState(Enum):
    """Where a survey stands."""

    #: built; ``start()`` not called yet
    IDLE = "idle"
    #: GET DATA of a question
    ASKING = "asking"
    #: the invalid-answer prompt before asking again
    NOTICE = "notice"
    #: the thanks prompt
    THANKS = "thanks"
    #: done (hung up by the survey, or by the caller)
    DONE = "done"


@dataclass(frozen=True, slots=True)
class SurveyDone:
    """The survey is over: store ``answers`` (question -> value; unanswered ones absent)."""

    answers: tuple[tuple[Question, int], ...]

    def as_dict(self) -> dict[str, int]:
        return dict(self.answers)


class SurveySession:
    """One caller's post-call survey."""

    def __init__(self, definition: IvrDefinition, queue: str, language: str) -> None:
        if definition.survey is None:
            raise ValueError("the IVR has no survey")
        self.definition = definition
        self.survey: Survey = definition.survey
        self.language = language
        self.questions = self.survey.questions(queue)
        self.answers: dict[Question, int] = {}
        self._state = SurveyState.IDLE
        self._i = 0
        self._attempts = 0

    @property
    def state(self) -> SurveyState:
        return self._state

    @property
    def done(self) -> bool:
        return self._state is SurveyState.DONE

    def start(self) -> list[Command | SurveyDone]:
        """Ask the first question (or end at once when the queue has none)."""
        if self._state is not SurveyState.IDLE:
            raise IvrStateError(self._state, "start")
        return self._next_question(first=True)

    def on_result(self, result: IvrInput) -> list[Command | SurveyDone]:
        """Take how the awaited command ended, or that the caller hung up."""
        if isinstance(result, CallerHangup):
            if self._state is SurveyState.DONE:
                return []
            self._state = SurveyState.DONE
            return [SurveyDone(self._answered())] if self.answers else []
        step = _STEPS.get(self._state)
        if step is None:
            raise IvrStateError(self._state, result.status)
        return step(self, result)

    # -- steps -------------------------------------------------------------------------
    def _answer(self, result: PromptResult) -> list[Command | SurveyDone]:
        question = self.questions[self._i][0]
        if result.status != "ok" or not result.digits:
            return self._next_question()  # no answer (timeout, failed prompt, '#' alone)
        low, high = SURVEY_SCALES[question]
        if result.digits.isdigit() and low <= int(result.digits) <= high:
            self.answers[question] = int(result.digits)
            return self._next_question()
        self._attempts += 1
        if self._attempts > self.survey.retries:
            return self._next_question()
        notice = self.survey.invalid_prompt or self.definition.invalid_prompt
        if notice is None:
            return [self._ask()]
        self._state = SurveyState.NOTICE
        return [PlayPrompt(self.definition.prompt_file(notice, self.language), "")]

    def _noticed(self, result: PromptResult) -> list[Command | SurveyDone]:
        return [self._ask()]

    def _thanked(self, result: PromptResult) -> list[Command | SurveyDone]:
        self._state = SurveyState.DONE
        return [Hangup("survey")]

    # -- helpers -----------------------------------------------------------------------
    def _answered(self) -> tuple[tuple[Question, int], ...]:
        return tuple((q, self.answers[q]) for q, _ in self.questions if q in self.answers)

    def _ask(self) -> CollectDigits:
        question, prompt = self.questions[self._i]
        self._state = SurveyState.ASKING
        digits = 2 if question == "nps" else 1
        file = self.definition.prompt_file(prompt, self.language)
        return CollectDigits(file, self.survey.timeout_s, max_digits=digits)

    def _next_question(self, *, first: bool = False) -> list[Command | SurveyDone]:
        if not first:
            self._i += 1
        self._attempts = 0
        if self._i < len(self.questions):
            return [self._ask()]
        done = SurveyDone(self._answered())
        if self.survey.thanks is not None:
            self._state = SurveyState.THANKS
            thanks = self.definition.prompt_file(self.survey.thanks, self.language)
            return [done, PlayPrompt(thanks, "")]
        self._state = SurveyState.DONE
        return [done, Hangup("survey")]


_STEPS: dict[SurveyState, Callable[[SurveySession, PromptResult], list[Command | SurveyDone]]] = {
    SurveyState.ASKING: SurveySession._answer,
    SurveyState.NOTICE: SurveySession._noticed,
    SurveyState.THANKS: SurveySession._thanked,
}
