"""One caller's walk through the IVR, as a pure state machine.

Rules (everything that moves a session lives here):

1. Inputs in, commands out. ``start(now)`` begins; ``on_result(input, now)``
   takes how the last prompt ended (:class:`PromptResult`) or that the caller
   hung up (:class:`CallerHangup`). No clock, no I/O, no randomness: the shell
   executes the commands and feeds back their results.
2. Each returned list ends with the one command whose result the session now
   waits for (PlayPrompt or CollectDigits), or with the IVR's end
   (RouteToQueue or Hangup), or is empty (the caller hung up). SetLanguage and
   PromptFailed may precede it and expect no result.
3. Transitions are the table ``TRANSITIONS``: (state, input kind) -> step.
   A pair missing from it raises :class:`IvrStateError`.
4. A failed prompt never drops the caller. On Asterisk, STREAM FILE of a
   missing sound file answers ``result=-1`` and ends AsyncAGI (transcript 13);
   the ``[hotline-safe]`` dialplan enters ``AGI(agi:async)`` again and the
   shell feeds ``PromptResult(status="failed")``. A failed intro or
   invalid-choice notice goes on as if it had played.
5. A failed question is not a timeout. GET DATA of a missing sound file
   answers ``result=-1`` in 0.1 s and stays in AsyncAGI (transcript 17): the
   caller had no chance to answer, so it uses no retry. The session returns
   PromptFailed, then reads the digit in silence (CollectDigits with no
   prompt, AGI ``WAIT FOR DIGIT`` for the node's timeout, state LISTENING);
   a digit there is the choice, nothing there is a timeout and uses a retry.
   After ``MAX_PROMPT_FAILURES`` failures of a node's question in a row
   (without one that played in between), a failure counts as a miss like a
   timeout. Past the retries the node's ``otherwise`` action runs, else the
   call goes to the fallback queue. The session emits Hangup only when the
   caller picks an option whose action is ``hangup`` (the loader refuses
   ``hangup`` in ``otherwise``), never on a timeout or a failure.
6. The loader refuses ``otherwise`` chains that loop, so a caller who presses
   nothing, or an IVR whose every sound file is missing, reaches a queue in a
   bounded number of prompts: each node ends after at most ``retries + 1``
   misses, and a failed question either uses a retry or is followed by a
   silent read that does. Note that ``[hotline-safe]`` re-enters AGI only
   a few times: each failed STREAM FILE spends one of those re-entries.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from .errors import IvrStateError
from .events import (
    AwaitingCommand,
    CallerHangup,
    CollectDigits,
    Command,
    Hangup,
    IvrInput,
    PlayPrompt,
    PromptFailed,
    PromptResult,
    RouteToQueue,
    Selection,
    SetLanguage,
)
from .model import Action, IvrDefinition, MenuNode

#: failures of a node's question in a row that still get a silent read; past them a failure
#: counts as a miss. The silent reads use retries, so ``retries`` bounds them too; this caps
#: the silence a caller sits through at a node with many retries and a long timeout.
MAX_PROMPT_FAILURES = 3


class IvrState(Enum):
    """Where a session stands."""

    #: built; ``start()`` not called yet
    IDLE = "idle"
    #: playing a node's intro (STREAM FILE); an option key interrupts it and is the choice
    INTRO = "intro"
    #: asked a node's prompt (GET DATA); waiting for the digit
    ASKING = "asking"
    #: the node's prompt failed (GET DATA result=-1); reading the digit with no prompt
    LISTENING = "listening"
    #: playing the invalid-choice prompt before asking again
    NOTICE = "notice"
    #: done: the call goes to a queue
    ROUTED = "routed"
    #: done: the IVR hung up (the caller chose a hangup option)
    HUNG_UP = "hung_up"
    #: done: the caller hung up while in the IVR
    ABANDONED = "abandoned"


DONE_STATES = frozenset({IvrState.ROUTED, IvrState.HUNG_UP, IvrState.ABANDONED})


class InputKind(Enum):
    """What an input says, as far as the transition table cares."""

    #: ``start()``
    START = "start"
    #: the caller pressed digits (``PromptResult`` ok with digits)
    DIGITS = "digits"
    #: the prompt ran to its end with no digit (``PromptResult`` ok, no digits)
    PLAYED = "played"
    #: GET DATA or WAIT FOR DIGIT got nothing in time
    TIMEOUT = "timeout"
    #: the command failed (AGI ``result=-1``, e.g. a missing sound file)
    FAILED = "failed"
    #: the caller hung up
    HANGUP = "hangup"


def input_kind(event: IvrInput) -> InputKind:
    """Classify an input for the transition table."""
    if isinstance(event, CallerHangup):
        return InputKind.HANGUP
    if event.status == "failed":
        return InputKind.FAILED
    if event.status == "timeout":
        return InputKind.TIMEOUT
    return InputKind.DIGITS if event.digits else InputKind.PLAYED


Step = Callable[["IvrSession", str], list[Command]]


class IvrSession:
    """One caller in the IVR: feed it inputs, execute the commands it returns."""

    def __init__(self, definition: IvrDefinition, call_id: str, caller_number: str) -> None:
        self.definition = definition
        self.call_id = call_id
        self.caller_number = caller_number
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._state = IvrState.IDLE
        self._node: str | None = None
        self._attempts = 0
        self._prompt_failures = 0
        self._language = definition.default_language
        self._selections: list[Selection] = []
        self._awaiting: AwaitingCommand | None = None
        self._outcome: RouteToQueue | Hangup | None = None

    # -- what the shell reads --------------------------------------------------------

    @property
    def state(self) -> IvrState:
        return self._state

    @property
    def done(self) -> bool:
        """True once routed, hung up by the IVR, or abandoned by the caller."""
        return self._state in DONE_STATES

    @property
    def language(self) -> str:
        return self._language

    @property
    def node(self) -> str | None:
        """The menu node the caller is at (the last one, once done)."""
        return self._node

    @property
    def selections(self) -> tuple[Selection, ...]:
        """The choices made so far, in order (for the screen-pop and SQL)."""
        return tuple(self._selections)

    @property
    def awaiting(self) -> AwaitingCommand | None:
        """The command whose result is awaited: send it again after an AMI reconnect."""
        return self._awaiting

    @property
    def outcome(self) -> RouteToQueue | Hangup | None:
        """The command that ended the IVR, if it has ended that way."""
        return self._outcome

    # -- inputs ----------------------------------------------------------------------

    def start(self, now: float) -> list[Command]:
        """Begin the IVR: set the default language and enter the start node."""
        return self._apply(InputKind.START, "", now)

    def on_result(self, result: IvrInput, now: float) -> list[Command]:
        """Take how the awaited command ended, or that the caller hung up."""
        digits = result.digits if isinstance(result, PromptResult) else ""
        return self._apply(input_kind(result), digits, now)

    def _apply(self, kind: InputKind, digits: str, now: float) -> list[Command]:
        step = TRANSITIONS.get((self._state, kind))
        if step is None:
            raise IvrStateError(self._state, kind)
        if kind is InputKind.START:
            self.started_at = now
        commands = step(self, digits)
        last = commands[-1] if commands else None
        self._awaiting = last if isinstance(last, PlayPrompt | CollectDigits) else None
        if self.done and self.ended_at is None:
            self.ended_at = now
        return commands

    # -- steps (the values of TRANSITIONS) ----------------------------------------------

    def _begin(self, digits: str) -> list[Command]:
        return [SetLanguage(self._language), *self._enter(self.definition.start)]

    def _choose(self, digits: str) -> list[Command]:
        action = self._menu.options.get(digits)
        if action is None:
            return self._miss(invalid=True)
        return self._take(action, Selection(self._menu_name, digits), fallback=False)

    def _ask(self, digits: str = "") -> list[Command]:
        node = self._menu
        self._state = IvrState.ASKING
        prompt = self.definition.prompt_file(node.prompt, self._language)
        return [CollectDigits(prompt, node.timeout_s, max_digits=1)]

    def _question_played(self, digits: str) -> list[Command]:
        # the question played: its failures in a row are over
        self._prompt_failures = 0
        return self._choose(digits) if digits else self._miss(invalid=False)

    def _question_failed(self, digits: str) -> list[Command]:
        node = self._menu
        self._prompt_failures += 1
        listening = self._prompt_failures <= MAX_PROMPT_FAILURES
        prompt = self.definition.prompt_file(node.prompt, self._language)  # as _ask sent it
        report = PromptFailed(self._menu_name, prompt, self._prompt_failures, listening=listening)
        if not listening:
            return [report, *self._miss(invalid=False)]
        self._state = IvrState.LISTENING
        return [report, CollectDigits("", node.timeout_s, max_digits=1)]

    def _no_choice(self, digits: str) -> list[Command]:
        return self._miss(invalid=False)

    def _caller_left(self, digits: str) -> list[Command]:
        self._state = IvrState.ABANDONED
        return []

    def _nothing(self, digits: str) -> list[Command]:
        return []

    # -- helpers -----------------------------------------------------------------------

    @property
    def _menu_name(self) -> str:
        assert self._node is not None, "no node before start()"
        return self._node

    @property
    def _menu(self) -> MenuNode:
        return self.definition.nodes[self._menu_name]

    def _enter(self, name: str) -> list[Command]:
        self._node = name
        self._attempts = 0
        self._prompt_failures = 0
        node = self._menu
        if node.intro is None:
            return self._ask()
        self._state = IvrState.INTRO
        return [
            PlayPrompt(self.definition.prompt_file(node.intro, self._language), node.escape_digits)
        ]

    def _miss(self, *, invalid: bool) -> list[Command]:
        node = self._menu
        self._attempts += 1
        if self._attempts > node.retries:
            if node.otherwise is not None:
                return self._take(node.otherwise, None, fallback=True)
            return self._route(self.definition.fallback_queue, fallback=True)
        notice = node.invalid_prompt or self.definition.invalid_prompt
        if invalid and notice is not None:
            self._state = IvrState.NOTICE
            return [
                PlayPrompt(self.definition.prompt_file(notice, self._language), node.escape_digits)
            ]
        return self._ask()

    def _take(
        self, action: Action, selection: Selection | None, *, fallback: bool
    ) -> list[Command]:
        if selection is not None:
            self._selections.append(selection)
        commands: list[Command] = []
        if action.language is not None:
            self._language = action.language
            commands.append(SetLanguage(action.language))
        if action.goto is not None:
            commands += self._enter(action.goto)
        elif action.queue is not None:
            commands += self._route(action.queue, fallback=fallback)
        else:
            assert action.hangup is not None  # the model holds exactly one target
            self._state = IvrState.HUNG_UP
            self._outcome = Hangup(action.hangup)
            commands.append(self._outcome)
        return commands

    def _route(self, queue: str, *, fallback: bool) -> list[Command]:
        self._state = IvrState.ROUTED
        self._outcome = RouteToQueue(queue, self._language, self.selections, fallback=fallback)
        return [self._outcome]


_S, _K = IvrState, InputKind

#: (state, input kind) -> step. Pairs not listed are errors (IvrStateError).
TRANSITIONS: dict[tuple[IvrState, InputKind], Step] = {
    (_S.IDLE, _K.START): IvrSession._begin,
    (_S.IDLE, _K.HANGUP): IvrSession._caller_left,
    # the intro and the invalid-choice notice: an option key is the choice; anything else asks
    **{
        (state, kind): step
        for state in (_S.INTRO, _S.NOTICE)
        for kind, step in (
            (_K.DIGITS, IvrSession._choose),
            (_K.PLAYED, IvrSession._ask),
            (_K.TIMEOUT, IvrSession._ask),
            (_K.FAILED, IvrSession._ask),  # a missing intro is no reason to stop
            (_K.HANGUP, IvrSession._caller_left),
        )
    },
    (_S.ASKING, _K.DIGITS): IvrSession._question_played,
    (_S.ASKING, _K.PLAYED): IvrSession._question_played,  # GET DATA ended with no digit ('#' alone)
    (_S.ASKING, _K.TIMEOUT): IvrSession._question_played,
    (_S.ASKING, _K.FAILED): IvrSession._question_failed,  # not a timeout: no retry used
    (_S.ASKING, _K.HANGUP): IvrSession._caller_left,
    # the silent read after a failed question (WAIT FOR DIGIT)
    (_S.LISTENING, _K.DIGITS): IvrSession._choose,
    (_S.LISTENING, _K.PLAYED): IvrSession._no_choice,  # WAIT FOR DIGIT has no such answer
    (_S.LISTENING, _K.TIMEOUT): IvrSession._no_choice,  # the caller's chance: a retry used
    (_S.LISTENING, _K.FAILED): IvrSession._no_choice,  # the channel failed: a retry used
    (_S.LISTENING, _K.HANGUP): IvrSession._caller_left,
    # a hangup reported after the IVR ended is old news
    (_S.ROUTED, _K.HANGUP): IvrSession._nothing,
    (_S.HUNG_UP, _K.HANGUP): IvrSession._nothing,
    (_S.ABANDONED, _K.HANGUP): IvrSession._nothing,
}
