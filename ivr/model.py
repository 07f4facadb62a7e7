"""The IVR file's schema: pydantic 2 models, unknown keys forbidden.

An IVR is a set of named nodes, each with a ``type`` (``menu`` when left out):

- ``menu``: plays an optional ``intro`` once on entry, then asks its
  ``prompt`` and reads one digit; each option maps a keypad key to an action
  (set a language, then go to a node, enqueue in a queue, or hang up). The
  IVR's ``back_key`` (``*``) returns to the menu before, its ``agent_key``
  (``0``) reaches ``agent_queue`` where a menu allows it (``agent: true``, the
  default), unless the menu gives those keys options of its own.
- ``input``: data entry (min/max digits, ``#`` ends it, a ``pattern`` and/or
  the Luhn check, ``tries``), kept in a session variable, masked if ``secret``;
  a ``sensitive`` one (a card number) is masked too, and a call's running
  recording is muted while the caller is at it (``callcenter/flow``).
- ``play``: a prompt, then ``next``. ``hangup``: an optional goodbye, then
  hang up. ``transfer``: out of the hotline to an extension or a number (AMI
  ``Redirect`` into ``transfer_context``). ``set``: variables and/or the language, then ``next``. ``goto``:
  a junction. ``split``: branches by percentage (the call id picks one).
- ``lookup``: the CRM by an entered account number, within a time budget;
  branches on found, not found, timed out.
- ``voicemail``: an optional prompt, then the caller's message (AGI ``RECORD
  FILE`` with a beep, ``max_s``, ``#`` to end, ``silence_s``), kept as a file
  with a row the supervisors list; then ``next``.
- ``callback``: a callback request for ``queue`` at the caller's number, or at
  a number an ``input`` node took (``number``: its variable), stored as
  ``pending``; then ``next``.
- ``condition``: the first branch whose test holds (business hours or a
  holiday of a calendar, the caller's CRM tier or VIP flag, the language, a
  variable, a queue's state: ready agents, callers waiting, longest wait)
  runs, else ``otherwise``.

Invalid digits and timeouts count toward a menu's ``retries`` (an input's
``tries``); a prompt that fails to play does not, at first (:mod:`ivr.session`,
rule 5). Past them the node's ``otherwise`` action runs, or the call goes to
``fallback_queue``. Prompts are sound files named per language: a mapping
``{vi: hotline/vi/welcome, en: hotline/en/welcome}`` holding every declared
language, or one string for a file shared by all languages. Calendars
(:mod:`ivr.calendar`) give business hours per weekday in an IANA zone,
holidays and special days.

References (goto targets, prompt names, languages, calendars, known queues)
are checked against names taken from the raw document and passed as
validation context, so a file's unknown keys and dangling references are
reported in one pass; the loader adds what needs the whole flow (loops with no
input, unreachable nodes). Build definitions with :func:`ivr.loader.parse_ivr`
or :func:`ivr.loader.load_ivr`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)

from yamlconf import matching, problem

from .calendar import (
    DEFAULT_ZONE,
    WEEKDAYS,
    Calendar,
    parse_date,
    parse_dates,
    parse_ranges,
    zone,
)
from .events import DTMF_DIGITS, QueueState

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Za-z]{2,4})?")
# AGI arguments are space-separated and quoted: keep file names to plain characters
_PROMPT_FILE = re.compile(r"/?[A-Za-z0-9_][A-Za-z0-9_./-]*")
_QUEUE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_EXTEN = re.compile(r"\+?[0-9]{1,20}")


def _context(info: ValidationInfo, key: str) -> Collection[str] | None:
    ctx = info.context
    if isinstance(ctx, Mapping):
        known = ctx.get(key)
        if known is not None:
            return frozenset(known)
    return None


def _known(kind: str, key: str) -> Callable[[str, ValidationInfo], str]:
    def check(value: str, info: ValidationInfo) -> str:
        known = _context(info, key)
        if known is not None and value not in known:
            raise problem(f"unknown {kind} {value!r}")
        return value

    return check


def _keypad_key(value: object) -> object:
    # YAML reads an unquoted `1:` as the integer 1
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _one_key(value: str) -> str:
    if len(value) != 1 or value not in DTMF_DIGITS:
        raise problem(f"{value!r} is not a keypad key: use one of 0-9, '*' or '#' (quote * and #)")
    return value


def _spread_prompt(value: object, info: ValidationInfo) -> object:
    # one string means the same file in every language
    if isinstance(value, str):
        languages = (info.context or {}).get("languages") or ("",)
        return dict.fromkeys(languages, value)
    return value


def _every_language(value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
    languages = (info.context or {}).get("languages")
    if languages:
        missing = [lang for lang in languages if lang not in value]
        unknown = [lang for lang in value if lang not in languages]
        reasons = [f"missing language {lang!r}" for lang in missing]
        reasons += [f"unknown language {lang!r}" for lang in unknown]
        if reasons:
            raise problem("; ".join(reasons))
    return value


Name = Annotated[str, AfterValidator(matching(_NAME, "name (letters, digits, _ and -)"))]
LanguageCode = Annotated[str, AfterValidator(matching(_LANGUAGE, "language code (vi, en, en_US)"))]
PromptFile = Annotated[str, AfterValidator(matching(_PROMPT_FILE, "sound file name"))]
PromptFiles = Annotated[
    dict[LanguageCode, PromptFile],
    BeforeValidator(_spread_prompt),
    AfterValidator(_every_language),
]
NodeRef = Annotated[str, AfterValidator(_known("node", "nodes"))]
PromptRef = Annotated[str, AfterValidator(_known("prompt", "prompts"))]
LanguageRef = Annotated[str, AfterValidator(_known("language", "languages"))]
CalendarRef = Annotated[str, AfterValidator(_known("calendar", "calendars"))]
QueueName = Annotated[
    str,
    AfterValidator(matching(_QUEUE, "queue name")),
    AfterValidator(_known("queue", "queues")),
]
KeypadKey = Annotated[str, BeforeValidator(_keypad_key), AfterValidator(_one_key)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(_Strict):
    """What a choice does: optionally set the language, then exactly one of goto, queue, hangup."""

    language: LanguageRef | None = None
    goto: NodeRef | None = None
    queue: QueueName | None = None
    #: the reason given in the Hangup command
    hangup: str | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        targets = [k for k in ("goto", "queue", "hangup") if getattr(self, k) is not None]
        if len(targets) != 1:
            has = f" (has {' and '.join(targets)})" if targets else ""
            raise problem(f"needs exactly one of goto, queue or hangup{has}")
        return self


def _never_drop(value: Action | None) -> Action | None:
    if value is not None and value.hangup is not None:
        raise problem(
            "hangup is not allowed here: a timeout or a failed prompt never drops the caller"
        )
    return value


#: where a node goes when the caller gave no usable input: never a hangup
Otherwise = Annotated[Action | None, AfterValidator(_never_drop)]


class MenuNode(_Strict):
    """A menu: intro once, then prompt and one digit, up to ``retries`` more times."""

    type: Literal["menu"] = "menu"
    prompt: PromptRef
    #: played once on entry (STREAM FILE); an option key interrupts it and counts as the choice
    intro: PromptRef | None = None
    #: played after an invalid digit; defaults to the IVR's ``invalid_prompt``
    invalid_prompt: PromptRef | None = None
    #: asked instead when ``prompt`` fails to play (a shorter recording, another
    #: language's file), before the digit is read in silence
    fallback_prompt: PromptRef | None = None
    timeout_s: float = Field(5.0, gt=0, le=60)
    #: how many more times the prompt is asked after a timeout or an invalid digit
    retries: int = Field(2, ge=0, le=9)
    options: dict[KeypadKey, Action] = Field(min_length=1)
    #: runs when retries are exhausted; without it the call goes to the fallback queue
    otherwise: Otherwise = None
    #: the IVR's ``agent_key`` reaches ``agent_queue`` from this menu (when one is set)
    agent: bool = True

    @property
    def escape_digits(self) -> str:
        """The option keys, in file order: the digits that interrupt the intro."""
        return "".join(self.options)


class InputNode(_Strict):
    """Data entry: the caller types digits (an account or order number), ``#`` ends early.

    The entry is read with one GET DATA of at most ``max_digits`` digits; it is
    accepted when it has ``min_digits`` or more, matches ``pattern`` (the whole
    entry, when given) and passes the Luhn check (when ``luhn``). It is kept in
    the session variable ``variable``; a ``secret`` entry is masked wherever
    the IVR reports it (trail, selections, logs, screen-pop). A ``sensitive`` node is
    ``secret`` and more: while the caller is at it the call's recording, if one runs,
    is muted (:attr:`ivr.IvrSession.sensitive`).
    """

    type: Literal["input"]
    prompt: PromptRef
    #: the session variable the accepted entry goes to
    variable: Name
    min_digits: int = Field(1, ge=1, le=32)
    max_digits: int = Field(ge=1, le=32)
    timeout_s: float = Field(6.0, gt=0, le=60)
    #: how many entries the caller gets (timeouts and invalid entries both use one)
    tries: int = Field(3, ge=1, le=9)
    #: a regular expression the whole entry must match
    pattern: str | None = None
    #: the entry must pass the Luhn check digit (card and many account numbers)
    luhn: bool = False
    #: mask the entry in the trail, the selections, the logs and the screen-pop
    secret: bool = False
    #: a card number or the like: masked as ``secret``, and a running recording of the call
    #: (a caller sent here by its agent mid-call) is muted while the caller is at this node
    sensitive: bool = False
    #: played after an invalid entry; defaults to the IVR's ``invalid_prompt``
    invalid_prompt: PromptRef | None = None
    #: where an accepted entry goes
    next: Action
    #: where the caller goes after ``tries`` failed entries; default: the fallback queue
    otherwise: Otherwise = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as e:
                raise problem(f"not a regular expression: {e}") from None
        return value

    @model_validator(mode="after")
    def _lengths(self) -> Self:
        if self.min_digits > self.max_digits:
            raise problem(
                f"min_digits {self.min_digits} is more than max_digits {self.max_digits}",
                at="min_digits",
            )
        return self

    @property
    def masked(self) -> bool:
        """Whether the entry is masked wherever the IVR reports it."""
        return self.secret or self.sensitive

    def accepts(self, entry: str) -> bool:
        """True when ``entry`` (``#`` already stripped) is a valid entry for this node."""
        if not (self.min_digits <= len(entry) <= self.max_digits) or not entry.isdigit():
            return False
        if self.pattern is not None and re.fullmatch(self.pattern, entry) is None:
            return False
        return not self.luhn or luhn_ok(entry)


class PlayNode(_Strict):
    """Play a prompt (STREAM FILE, not interruptible), then take ``next``."""

    type: Literal["play"]
    prompt: PromptRef
    next: Action


class Test(_Strict):
    """One question a condition asks; exactly one of its keys (``equals`` or ``matches``
    go with ``variable``)."""

    #: true within the calendar's business hours (never on its holidays)
    open: CalendarRef | None = None
    #: true on one of the calendar's holidays
    holiday: CalendarRef | None = None
    #: the caller's CRM tier is one of these (an unknown caller has none)
    tier: list[str] | None = None
    #: the caller is (true) or is not (false) a VIP in the CRM
    vip: bool | None = None
    #: the caller's language is this one
    language: LanguageRef | None = None
    #: a session variable (an entry, or one a ``set`` node gave)
    variable: Name | None = None
    #: with ``variable``: true when it equals this
    equals: str | None = None
    #: with ``variable``: true when this regular expression matches all of it
    matches: str | None = None
    #: a queue's state now, with one of ``ready_agents``, ``waiting`` or ``longest_wait_s``
    queue: QueueName | None = None
    #: with ``queue``: true when at least this many of its agents are ready
    ready_agents: int | None = Field(None, ge=0, le=10_000)
    #: with ``queue``: true when at least this many callers wait in it
    waiting: int | None = Field(None, ge=1, le=100_000)
    #: with ``queue``: true when its longest current wait is over this many seconds
    longest_wait_s: float | None = Field(None, ge=0, le=86_400)

    @model_validator(mode="after")
    def _one_question(self) -> Self:
        asked = [k for k in ("open", "holiday", "tier", "vip", "language", "variable", "queue")
                 if getattr(self, k) is not None]  # fmt: skip
        if len(asked) != 1:
            has = f" (has {' and '.join(asked)})" if asked else ""
            raise problem(
                f"needs exactly one of open, holiday, tier, vip, language, variable or queue{has}"
            )
        measures = [k for k in ("ready_agents", "waiting", "longest_wait_s")
                    if getattr(self, k) is not None]  # fmt: skip
        if self.queue is not None and len(measures) != 1:
            raise problem(
                "queue needs exactly one of ready_agents, waiting or longest_wait_s", at="queue"
            )
        if self.queue is None and measures:
            raise problem(f"{measures[0]} goes with queue", at=measures[0])
        compare = [k for k in ("equals", "matches") if getattr(self, k) is not None]
        if self.variable is not None and len(compare) != 1:
            raise problem("variable needs exactly one of equals or matches", at="variable")
        if self.variable is None and compare:
            raise problem(f"{compare[0]} goes with variable", at=compare[0])
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as e:
                raise problem(f"not a regular expression: {e}", at="matches") from None
        return self

    @property
    def needs_customer(self) -> bool:
        """True when the answer depends on the CRM card."""
        return self.tier is not None or self.vip is not None

    def holds_for(self, state: QueueState) -> bool:
        """The answer of a ``queue`` test, given that queue's state now."""
        if self.ready_agents is not None:
            return state.ready_agents >= self.ready_agents
        if self.waiting is not None:
            return state.waiting >= self.waiting
        assert self.longest_wait_s is not None
        return state.longest_wait_s > self.longest_wait_s


class Branch(_Strict):
    """A condition's branch: when ``when`` holds, ``then`` runs."""

    when: Test
    then: Action


class ConditionNode(_Strict):
    """Branch on hours, holidays, the CRM, the language or a variable: the first true
    branch runs, else ``otherwise``. No caller input."""

    type: Literal["condition"]
    branches: list[Branch] = Field(min_length=1)
    otherwise: Action

    @property
    def needs_customer(self) -> bool:
        return any(b.when.needs_customer for b in self.branches)

    @property
    def queues(self) -> tuple[str, ...]:
        """The queues whose state the branches ask about, in order."""
        return tuple(dict.fromkeys(b.when.queue for b in self.branches if b.when.queue))


class SetNode(_Strict):
    """Set session variables and/or the language, then take ``next``."""

    type: Literal["set"]
    variables: dict[Name, str] = Field(default_factory=dict)
    language: LanguageRef | None = None
    next: Action

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.variables and self.language is None:
            raise problem("sets nothing: give variables or language")
        return self


class LookupNode(_Strict):
    """Look the caller up in the CRM by an entered account number (an input node's
    variable), within ``timeout_s``; branch on found, not found or timed out. A found
    customer's tier is the caller's from then on (conditions, the ACD's priority)."""

    type: Literal["lookup"]
    #: the session variable that holds the account number
    account: Name
    timeout_s: float = Field(2.0, gt=0, le=10)
    found: Action
    not_found: Action
    #: when the CRM did not answer in time; default: ``not_found``
    timed_out: Action | None = None


class TransferNode(_Strict):
    """Send the caller out of the hotline: an AMI ``Redirect`` of its channel to
    ``exten`` (an extension or an external number) in ``context`` (default: the IVR's
    ``transfer_context``), whose dialplan does the rest (transcript 07). The call's
    outcome is ``ivr_hangup`` once it ends there; a ``transferred`` call event says where."""

    type: Literal["transfer"]
    to: Annotated[str, AfterValidator(matching(_EXTEN, "extension or number (digits, + first)"))]
    context: Annotated[str, AfterValidator(matching(_QUEUE, "dialplan context"))] | None = None


class VoicemailNode(_Strict):
    """Take a message: the optional ``prompt``, then AGI ``RECORD FILE`` (a beep first when
    ``beep``) until the caller presses ``#``, ``max_s`` pass or ``silence_s`` of silence
    (null: no silence detection); then ``next``, whether a message was left or not. The
    shell names the file and stores it with a row (caller, customer, ``queue``, flow,
    node, duration); while the caller's CRM lookup runs, the node waits for it first."""

    type: Literal["voicemail"]
    prompt: PromptRef | None = None
    #: the longest message, in seconds (RECORD FILE's timeout)
    max_s: int = Field(120, ge=1, le=600)
    #: seconds of silence that end the message (RECORD FILE ``s=``); null: none
    silence_s: int | None = Field(5, ge=1, le=60)
    beep: bool = True
    #: the queue the message is for (the supervisors' list shows it); null: none
    queue: QueueName | None = None
    next: Action

    @model_validator(mode="after")
    def _silence_within(self) -> Self:
        if self.silence_s is not None and self.silence_s >= self.max_s:
            raise problem(
                f"silence_s {self.silence_s} is not less than max_s {self.max_s}",
                at="silence_s",
            )
        return self


class CallbackNode(_Strict):
    """Ask to be called back: a request for ``queue`` at the caller's number, or at the
    number an ``input`` node kept in the variable ``number`` (its length and pattern
    checked there), stored with status ``pending`` and the caller's CRM customer (the
    node waits for the caller's lookup, which answers within its budget); then ``next``.
    With no number to
    call (an anonymous caller, an empty variable) ``otherwise`` runs instead (default:
    the fallback queue)."""

    type: Literal["callback"]
    queue: QueueName
    #: the session variable holding the number to call back; null: the caller's number
    number: Name | None = None
    next: Action
    #: when there is no number to call back; default: the fallback queue
    otherwise: Otherwise = None


class GotoNode(_Strict):
    """Go on to another node (a named junction several branches share)."""

    type: Literal["goto"]
    goto: NodeRef


class HangupNode(_Strict):
    """Optionally play a goodbye prompt, then hang up."""

    type: Literal["hangup"]
    prompt: PromptRef | None = None
    #: the reason given in the Hangup command
    reason: str = "ivr"


class Share(_Strict):
    """One part of a percentage split."""

    percent: int = Field(ge=1, le=100)
    then: Action


class SplitNode(_Strict):
    """Send callers down branches by percentage (A/B tests); a call's branch is fixed
    by its id, so the same call always takes the same branch."""

    type: Literal["split"]
    branches: list[Share] = Field(min_length=2)

    @field_validator("branches")
    @classmethod
    def _hundred(cls, value: list[Share]) -> list[Share]:
        total = sum(s.percent for s in value)
        if total != 100:
            raise problem(f"the percentages add up to {total}, not 100")
        return value


def _node_type(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type", "menu")
        return kind if isinstance(kind, str) and kind in NODE_TYPES else "?"
    return str(getattr(value, "type", "menu"))


NODE_TYPES = (
    "menu", "input", "play", "condition", "lookup", "set", "goto", "hangup", "transfer", "split",
    "voicemail", "callback",
)  # fmt: skip
Node = Annotated[
    Annotated[MenuNode, Tag("menu")]
    | Annotated[InputNode, Tag("input")]
    | Annotated[PlayNode, Tag("play")]
    | Annotated[ConditionNode, Tag("condition")]
    | Annotated[LookupNode, Tag("lookup")]
    | Annotated[SetNode, Tag("set")]
    | Annotated[GotoNode, Tag("goto")]
    | Annotated[HangupNode, Tag("hangup")]
    | Annotated[TransferNode, Tag("transfer")]
    | Annotated[SplitNode, Tag("split")]
    | Annotated[VoicemailNode, Tag("voicemail")]
    | Annotated[CallbackNode, Tag("callback")],
    Discriminator(
        _node_type,
        custom_error_type="config",
        custom_error_message=f"unknown node type (expected one of: {', '.join(NODE_TYPES)})",
        custom_error_context={"at": "type"},
    ),
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _ranges(value: str | list[str]) -> str | list[str]:
    try:
        parse_ranges(value)
    except ValueError as e:
        raise problem(str(e)) from None
    return value


def _dates(value: str) -> str:
    try:
        parse_dates(value)
    except ValueError as e:
        raise problem(str(e)) from None
    return value


def _one_date(value: str) -> str:
    try:
        parse_date(value)
    except ValueError as e:
        raise problem(str(e)) from None
    return value


def _zone(value: str) -> str:
    try:
        zone(value)
    except ValueError as e:
        raise problem(str(e)) from None
    return value


Hours = Annotated[str | list[str], AfterValidator(_ranges)]


class CalendarSpec(_Strict):
    """Business hours per weekday, holidays and special days (:mod:`ivr.calendar`)."""

    zone: Annotated[str, AfterValidator(_zone)] = DEFAULT_ZONE
    #: opening hours per weekday (``"08:00-17:30"`` or a list); a day not listed is closed
    hours: dict[Weekday, Hours] = Field(default_factory=dict)
    #: closed all day: dates (``2027-02-05``) or ranges (``2027-02-06..2027-02-10``)
    holidays: list[Annotated[str, AfterValidator(_dates)]] = Field(default_factory=list)
    #: dates with their own hours (``closed`` for none), replacing the weekday's
    special: dict[Annotated[str, AfterValidator(_one_date)], Hours] = Field(default_factory=dict)

    def build(self) -> Calendar:
        """The pure :class:`~ivr.calendar.Calendar` these values describe."""
        hours: dict[str, str | list[str]] = {str(k): v for k, v in self.hours.items()}
        week = tuple(parse_ranges(hours.get(day, "closed")) for day in WEEKDAYS)
        holidays = frozenset(d for text in self.holidays for d in parse_dates(text))
        special = tuple((parse_date(k), parse_ranges(v)) for k, v in self.special.items())
        return Calendar(zone(self.zone), week, holidays, special)


#: what each survey question accepts: (lowest, highest) answer
SURVEY_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
Question = Literal["csat", "nps", "ces"]
QUESTIONS: tuple[Question, ...] = ("csat", "nps", "ces")


class Survey(_Strict):
    """The post-call survey, asked in the after-call context once the agent hung up.

    ``csat`` (1-5) is always asked; ``nps`` (0-10, ``#`` after one digit) and
    ``ces`` (1-7) when given. ``queues`` picks the questions per queue; a queue
    not listed gets them all, one listed with ``[]`` gets no survey.
    """

    csat: PromptRef
    nps: PromptRef | None = None
    ces: PromptRef | None = None
    #: played once the answers are in, before the hang-up
    thanks: PromptRef | None = None
    #: played after an answer out of range; defaults to the IVR's ``invalid_prompt``
    invalid_prompt: PromptRef | None = None
    timeout_s: float = Field(6.0, gt=0, le=60)
    #: how many more times a question is asked after an answer out of range
    retries: int = Field(1, ge=0, le=3)
    queues: dict[QueueName, list[Question]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _asked_exist(self) -> Self:
        for queue, asked in self.queues.items():
            for i, question in enumerate(asked):
                if getattr(self, question) is None:
                    raise problem(
                        f"{question} has no prompt in the survey", at=("queues", queue, i)
                    )
        return self

    def questions(self, queue: str) -> tuple[tuple[Question, str], ...]:
        """The (question, prompt name) pairs a caller of ``queue`` is asked, in order."""
        given = [q for q in QUESTIONS if getattr(self, q) is not None]
        asked = self.queues.get(queue, given)
        return tuple((q, getattr(self, q)) for q in given if q in asked)


class IvrDefinition(_Strict):
    """A whole IVR: languages, prompts, nodes, where to start and where to fall back."""

    #: the flow's name: the ``flow`` label of its metrics
    name: Name = "hotline"
    #: the dialplan context a ``transfer`` node redirects callers into
    transfer_context: Annotated[str, AfterValidator(matching(_QUEUE, "dialplan context"))] = (
        "hotline-transfer"
    )
    languages: list[LanguageCode] = Field(min_length=1)
    default_language: str
    start: NodeRef
    fallback_queue: QueueName
    #: played after an invalid digit, unless a node names its own
    invalid_prompt: PromptRef | None = None
    #: at a menu, this key goes back to the menu before (null: no back key)
    back_key: KeypadKey | None = "*"
    #: at a menu that allows it, this key goes to ``agent_queue`` (null: no agent key)
    agent_key: KeypadKey | None = "0"
    #: the queue the agent key reaches; without one the agent key does nothing
    agent_queue: QueueName | None = None
    #: GET DATA plays this when an input's own prompt failed, so the caller can still type
    #: (Asterisk's core sounds have ``silence/1``)
    silence_prompt: PromptFile = "silence/1"
    #: where Asterisk reads sounds, as this machine sees it (relative: to the IVR file);
    #: when given, every prompt must have a file there (``<name>.wav``, ``.gsm`` ...)
    sounds_dir: str | None = None
    calendars: dict[Name, CalendarSpec] = Field(default_factory=dict)
    #: the post-call survey; without it the after-call context just hangs up
    survey: Survey | None = None
    #: the nodes an agent may send its talking caller to mid-call (a card number in a
    #: ``sensitive`` input node); the caller comes back to the agent when the IVR routes
    #: to a queue from there. Each counts as reached, like ``start``.
    visits: list[NodeRef] = Field(default_factory=list)
    prompts: dict[Name, PromptFiles]
    nodes: dict[Name, Node] = Field(min_length=1)
    #: words the agent's desk shows for the caller's IVR trail, per language: a node
    #: (``main: {en: Main menu, vi: Menu chính}``) or a menu's option (``main.2:
    #: {en: Billing}``); without one the desk says what the option did (``ivr.readable``)
    labels: dict[str, dict[LanguageCode, Annotated[str, Field(min_length=1, max_length=80)]]] = (
        Field(default_factory=dict)
    )

    @field_validator("labels")
    @classmethod
    def _labels_name_nodes(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        nodes = info.data.get("nodes")
        if nodes is None:  # the nodes failed: their own problems are listed
            return value
        for key in value:
            node_name, dot, option = key.partition(".")
            node = nodes.get(node_name)
            if node is None:
                raise problem(f"{key}: no node {node_name!r}")
            if dot and not (isinstance(node, MenuNode) and option in node.options):
                raise problem(f"{key}: node {node_name!r} has no option {option!r}")
        return value

    @field_validator("languages")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        twice = sorted({lang for lang in value if value.count(lang) > 1})
        if twice:
            raise problem(f"listed twice: {', '.join(twice)}")
        return value

    @field_validator("default_language")
    @classmethod
    def _declared(cls, value: str, info: ValidationInfo) -> str:
        # the raw list from the context when `languages` itself failed validation
        languages = info.data.get("languages") or (info.context or {}).get("languages")
        if languages and value not in languages:
            raise problem(f"{value!r} is not one of the languages ({', '.join(languages)})")
        return value

    def prompt_file(self, name: str, language: str) -> str:
        """The sound file of prompt ``name`` in ``language``."""
        files = self.prompts[name]
        return files.get(language) or next(iter(files.values()))

    def calendar(self, name: str) -> Calendar:
        """The calendar ``name`` (checked at load: a condition names only known ones).

        Built when asked (a few microseconds), so definitions compare by their values."""
        return self.calendars[name].build()


def luhn_ok(digits: str) -> bool:
    """The Luhn check (ISO/IEC 7812-1): the last digit checks all the others."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) > 1 and total % 10 == 0


def reference_context(data: Any, queues: Collection[str] | None = None) -> dict[str, Any]:
    """Names a raw IVR document declares, for checking references while validating it."""

    def keys(key: str) -> frozenset[str] | None:
        value = data.get(key) if isinstance(data, dict) else None
        return frozenset(str(k) for k in value) if isinstance(value, dict) else None

    languages = data.get("languages") if isinstance(data, dict) else None
    if not (isinstance(languages, list) and all(isinstance(x, str) for x in languages)):
        languages = None
    return {
        "languages": tuple(languages) if languages else None,
        "prompts": keys("prompts"),
        "nodes": keys("nodes"),
        "calendars": keys("calendars") or frozenset(),
        "queues": frozenset(queues) if queues is not None else None,
    }
