"""Inputs a session takes and commands it returns: frozen, slotted, validated when built.

Inputs: :class:`PromptResult` (how the last prompt ended),
:class:`CallerHangup` and :class:`CustomerKnown` (the CRM's answer). Commands:
:class:`PlayPrompt` and :class:`CollectDigits` await a result,
:class:`AwaitCustomer` awaits the CRM, :class:`RecordMessage` the caller's
message; :class:`SetLanguage`, :class:`PromptFailed` and :class:`RequestCallback`
do not;
:class:`RouteToQueue` and :class:`Hangup` end the IVR. Prompt values in
commands are sound file names already resolved for the caller's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: the keys of a phone keypad, as DTMF digits
DTMF_DIGITS = frozenset("0123456789*#")

PromptStatus = Literal["ok", "timeout", "failed"]


def _check_digits(what: str, digits: str) -> None:
    bad = set(digits) - DTMF_DIGITS
    if bad:
        raise ValueError(f"{what} {digits!r} holds non-DTMF characters {''.join(sorted(bad))!r}")


@dataclass(frozen=True, slots=True)
class PromptResult:
    """How the last PlayPrompt or CollectDigits ended.

    ``status`` is ``ok`` when the prompt ran (``digits`` holds what the caller
    pressed: the interrupting digit of STREAM FILE, the entry of GET DATA, the
    digit of WAIT FOR DIGIT, or "" if none), ``timeout`` when GET DATA or WAIT
    FOR DIGIT got nothing, ``failed`` when the command failed (AGI
    ``result=-1``: a missing sound file, or a caller who hung up meanwhile).
    """

    digits: str = ""
    status: PromptStatus = "ok"

    def __post_init__(self) -> None:
        if self.status not in ("ok", "timeout", "failed"):
            raise ValueError(f"PromptResult status {self.status!r} is not ok, timeout or failed")
        _check_digits("PromptResult digits", self.digits)
        if self.status != "ok" and self.digits:
            raise ValueError(f"a {self.status} PromptResult carries no digits")


@dataclass(frozen=True, slots=True)
class CallerHangup:
    """The caller hung up while in the IVR."""


IvrInput = PromptResult | CallerHangup


@dataclass(frozen=True, slots=True)
class CustomerKnown:
    """What the CRM said of the caller (``IvrSession.on_customer``): ``tier`` None and
    ``vip`` false when no customer was found or the lookup timed out."""

    tier: str | None = None
    vip: bool = False


@dataclass(frozen=True, slots=True)
class Selection:
    """One choice the caller made: the digits pressed at a menu node."""

    node: str
    digits: str


@dataclass(frozen=True, slots=True)
class PlayPrompt:
    """Play ``prompt`` (AGI ``STREAM FILE``); a digit of ``escape_digits`` interrupts it."""

    prompt: str
    escape_digits: str = ""

    def __post_init__(self) -> None:
        _check_digits("escape_digits", self.escape_digits)


@dataclass(frozen=True, slots=True)
class CollectDigits:
    """Play ``prompt`` and read up to ``max_digits`` digits (AGI ``GET DATA``).

    With ``prompt=""`` nothing is played: the caller's one digit is read in
    silence (AGI ``WAIT FOR DIGIT``), which is how a menu whose question
    failed to play still takes a choice.
    """

    prompt: str
    timeout_s: float
    max_digits: int = 1

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"CollectDigits timeout_s must be > 0, not {self.timeout_s}")
        if self.max_digits < 1:
            raise ValueError(f"CollectDigits max_digits must be >= 1, not {self.max_digits}")
        if not self.prompt and self.max_digits != 1:
            raise ValueError(
                f"CollectDigits without a prompt reads one digit, not max_digits={self.max_digits}"
            )

    @property
    def silent(self) -> bool:
        """True when no prompt is played (AGI ``WAIT FOR DIGIT``)."""
        return not self.prompt


@dataclass(frozen=True, slots=True)
class PromptFailed:
    """A menu's question failed to play; nothing to send to Asterisk, the shell logs it.

    On Asterisk 22, GET DATA of a missing sound file answers ``result=-1``
    within 0.1 s and the channel stays in AsyncAGI (transcript 17). The
    session puts this report before its next command: the failure is neither
    a caller timeout nor a hang-up. A caller who hangs up during GET DATA
    also gets ``result=-1`` (transcript 22): the report is then spurious but
    harmless, the next command finds the channel gone and the shell feeds
    CallerHangup.
    """

    #: the menu node whose question failed
    node: str
    #: the sound file that failed, as sent in GET DATA
    prompt: str
    #: how many times in a row this node's question has failed, this one included
    failures: int = 1
    #: true: the next command reads the digit with no prompt and the failure used no retry;
    #: false: too many failures in a row (``MAX_PROMPT_FAILURES``), it counted as a miss
    listening: bool = True

    def __post_init__(self) -> None:
        if self.failures < 1:
            raise ValueError(f"PromptFailed failures must be >= 1, not {self.failures}")


@dataclass(frozen=True, slots=True)
class SetLanguage:
    """Set the channel's language (``CHANNEL(language)``); expects no result."""

    language: str


@dataclass(frozen=True, slots=True)
class RouteToQueue:
    """The IVR is over: enqueue the call in ``queue`` (the ACD takes it from here).

    ``fallback`` is true when the caller made no usable choice (timeouts,
    invalid digits, failed prompts) and the route is the IVR's fallback.
    """

    queue: str
    language: str
    selections: tuple[Selection, ...] = ()
    fallback: bool = False


@dataclass(frozen=True, slots=True)
class RecordMessage:
    """Record the caller's message at voicemail ``node`` (AGI ``RECORD FILE``, transcript
    17): a beep first when ``beep``, ``#`` ends it, at most ``max_s`` seconds, and
    ``silence_s`` seconds of silence end it (None: no silence detection). The shell picks
    the file's name and stores the message; the session awaits how it ended."""

    node: str
    max_s: int
    silence_s: int | None = None
    beep: bool = True
    #: the queue the message is for (the node's ``queue``), if any
    queue: str | None = None

    def __post_init__(self) -> None:
        if self.max_s < 1:
            raise ValueError(f"RecordMessage max_s must be >= 1, not {self.max_s}")
        if self.silence_s is not None and self.silence_s < 1:
            raise ValueError(f"RecordMessage silence_s must be >= 1, not {self.silence_s}")


@dataclass(frozen=True, slots=True)
class RequestCallback:
    """The caller asked to be called back at ``number`` for ``queue`` (callback ``node``);
    nothing to send to Asterisk: the shell stores the request as ``pending``."""

    node: str
    queue: str
    number: str = field(repr=False)
    #: the number is the caller's own (true) or one they typed (false)
    own_number: bool = True

    def __post_init__(self) -> None:
        digits = self.number.removeprefix("+")
        if not (digits.isdigit() and digits.isascii()):
            raise ValueError("RequestCallback number must be digits, + first at most")


@dataclass(frozen=True, slots=True)
class Transfer:
    """The IVR is over: redirect the caller to ``exten`` in ``context`` (AMI ``Redirect``)."""

    context: str
    exten: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """The IVR is over: hang up the call (only an explicit ``hangup`` option does this)."""

    reason: str


@dataclass(frozen=True, slots=True)
class QueueState:
    """One queue's state now, as a condition asks it (``IvrSession.on_queues``)."""

    ready_agents: int = 0
    waiting: int = 0
    longest_wait_s: float = 0.0


@dataclass(frozen=True, slots=True)
class AwaitQueues:
    """A condition asks the state of ``queues``; nothing to send to Asterisk: the shell
    answers at once with ``IvrSession.on_queues`` from the ACD's figures."""

    node: str
    queues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LookupAccount:
    """Look the caller up in the CRM by ``account`` within ``timeout_s``; the shell feeds
    :class:`LookupResult` (``IvrSession.on_lookup``). ``account`` is the entry itself:
    the shell passes it to the CRM only, never to a log."""

    node: str
    account: str = field(repr=False)
    timeout_s: float


@dataclass(frozen=True, slots=True)
class LookupResult:
    """What a :class:`LookupAccount` found: ``found`` with the customer, ``not_found``,
    or ``timed_out``."""

    outcome: Literal["found", "not_found", "timed_out"]
    customer: CustomerKnown | None = None


@dataclass(frozen=True, slots=True)
class AwaitCustomer:
    """A condition on the CRM card (or a voicemail or a callback request, whose rows carry
    the customer) waits for the lookup's answer; nothing to send to
    Asterisk: the shell feeds :class:`CustomerKnown` once its lookup answers (found, not
    found or timed out), which it always does within its time budget."""

    #: the condition, voicemail or callback node that waits
    node: str


Command = (
    PlayPrompt
    | CollectDigits
    | SetLanguage
    | PromptFailed
    | RouteToQueue
    | Hangup
    | AwaitCustomer
    | AwaitQueues
    | LookupAccount
    | Transfer
    | RecordMessage
    | RequestCallback
)
#: commands whose result the session waits for
AwaitingCommand = PlayPrompt | CollectDigits | RecordMessage
