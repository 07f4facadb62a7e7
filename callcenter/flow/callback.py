"""The queued callback that keeps the caller's place: pure data and the caller's dialog.

Rules (the call-flow core's rule 13 applies them):
1. A HOLDING caller of a queue with a :class:`CallbackPolicy` is offered a callback
   once it waited ``offer_after_s`` or its estimated wait (``acd.ewt``) reached
   ``offer_ewt_s``: the ``offer`` prompt ("press 1 to be called back"), played once
   and cut by ``1``. From then on ``1`` pressed during the hold music (``WAIT FOR
   DIGIT``: 15) or cutting the prompt (``result=49``: 17, 22) starts the dialog.
2. The dialog (:class:`Dialog`): the caller's own number is said back (``SAY DIGITS``:
   17) and confirmed with ``1``, ``2`` enters another (``GET DATA``: 02, 17); an entered
   number, or a caller id that is not a valid number (anonymous, an extension), must be
   a valid number for ``region`` (:func:`callable_number`, ``phonenumbers``), else
   ``invalid_number`` and the entry again, ``tries`` times at most. With
   ``record_name`` the caller says a name (``RECORD FILE``: 17). Then ``thanks`` and
   the caller hangs up. Any failure, or no answer within ``tries``, ends the dialog
   unconfirmed: the caller goes on holding, its place unchanged.
3. A confirmed caller becomes a virtual caller: the call stays in the ACD with its
   entry time and priority (nothing is re-queued), so a caller who entered later is
   not served first. The caller's hang-up then is not an abandon.
4. When the ACD offers the virtual caller, the agent's phone is rung into
   ``callback_context`` (an AsyncAGI context: 02); answered, the agent hears the
   ``whisper`` and the number (``SAY DIGITS``), then the customer is dialled
   (``dial`` with ``{number}``) with ``Application=Bridge`` on the agent's channel
   (03 B, 16). Answered: the call talks as any other, and ends ``callback_completed``
   (the call's outcome ``answered``). Not answered, busy or failed: the agent is
   released and the virtual caller goes back to its place after ``retry_s``; after
   ``max_attempts`` attempts it ends ``callback_failed`` (outcome ``failed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote

import phonenumbers

#: a number as Asterisk dials it: digits, a + first at most
_MAX_NUMBER = 20
#: the ``callback_requests`` node of a callback scheduled from the desk (core rule 18)
DESK_NODE = "desk"
#: what a scheduled callback's call id adds to its source call's id
_SCHEDULED_SUFFIX = "-cb"


def scheduled_call_id(source: str) -> str:
    """The call id a callback scheduled on call ``source`` runs under (a call of its own:
    the source call has its outcome). One per source call; a callback scheduled again on
    that callback's call gets ``…-cb-cb``."""
    return source + _SCHEDULED_SUFFIX


def scheduled_source(call_id: str) -> str:
    """The source call of a scheduled callback's call id (:func:`scheduled_call_id`)."""
    return call_id.removesuffix(_SCHEDULED_SUFFIX)


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """One queue's queued callback (``queues[].callback``)."""

    #: offered once the caller waited this long (None: not by wait)
    offer_after_s: float | None = 60.0
    #: offered once the estimated wait is at least this (None: not by the estimate)
    offer_ewt_s: float | None = None
    #: how a number without its country code is read (phonenumbers region)
    region: str = "VN"
    #: the caller may say a name after the beep (RECORD FILE)
    record_name: bool = False
    #: the longest name recording
    name_max_s: float = 5.0
    #: how often an entry or a confirmation is asked before the dialog gives up
    tries: int = 3
    #: attempts to reach the customer before ``callback_failed``
    max_attempts: int = 3
    #: the wait between two attempts
    retry_s: float = 120.0
    #: how long the customer's phone rings per attempt (Originate Timeout)
    customer_timeout_s: float = 30.0
    #: the customer's dial string, ``{number}`` the confirmed number
    dial: str = "Local/{number}@hotline-callback-out"
    offer: str = "hotline/{language}/callback-offer"
    number_is: str = "hotline/{language}/callback-number-is"
    confirm: str = "hotline/{language}/callback-confirm"
    enter_number: str = "hotline/{language}/callback-enter-number"
    invalid_number: str = "hotline/{language}/callback-invalid-number"
    say_name: str = "hotline/{language}/callback-say-name"
    thanks: str = "hotline/{language}/callback-thanks"
    #: what the agent hears before the number, when the callback is put through
    whisper: str = "hotline/{language}/callback-whisper"

    def offered(self, wait_s: float, ewt_s: float | None) -> bool:
        """Whether a caller who waited ``wait_s`` with estimate ``ewt_s`` is offered it."""
        by_wait = self.offer_after_s is not None and wait_s >= self.offer_after_s
        by_ewt = self.offer_ewt_s is not None and ewt_s is not None and ewt_s >= self.offer_ewt_s
        return by_wait or by_ewt


def callable_number(text: str, region: str) -> str | None:
    """``text`` as the digits to dial (``+`` kept) when ``phonenumbers`` finds it a valid
    number for ``region``; None otherwise (empty, anonymous, an extension, garbage)."""
    if not text or len(text) > _MAX_NUMBER or not text.lstrip("+").isdigit():
        return None
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return text if phonenumbers.is_valid_number(parsed) else None


class Ask(Enum):
    """What the dialog's last command asked the caller."""

    #: "1: this number, 2: another" after the number was said
    CONFIRM = "confirm"
    #: the digits of another number
    ENTER = "enter"
    #: the name, after the beep
    NAME = "name"
    #: the thanks played: the caller is told goodbye
    THANKS = "thanks"


@dataclass(frozen=True, slots=True)
class Command:
    """One AGI command of the dialog; ``ask`` set when the dialog waits for its reply."""

    text: str
    ask: Ask | None = None


def _reply(text: str | None) -> tuple[int | None, str]:
    """(the result as a number, the raw result) of an AGI reply line; (None, "") when
    there was no reply."""
    if not text:
        return None, ""
    line = unquote(text)
    start = line.find("result=")
    if start < 0:
        return None, ""
    raw = line[start + 7 :].split(" ", 1)[0].strip()
    try:
        return int(raw), raw
    except ValueError:
        return None, raw


class Dialog:
    """One caller's callback dialog (rule 2): AGI replies in, AGI commands out."""

    def __init__(self, policy: CallbackPolicy, caller_number: str, language: str,
                 name_path: str) -> None:  # fmt: skip
        self.policy = policy
        self.language = language
        #: where RECORD FILE writes the name, without its extension
        self.name_path = name_path
        self._own = callable_number(caller_number, policy.region)
        #: the number to call back, once confirmed
        self.number: str | None = None
        #: the name recording's file (``name_path`` + ``.wav``), once one was recorded
        self.name_file: str | None = None
        self.confirmed = False
        self.done = False
        self._tries = 0
        self._candidate: str | None = None

    def _prompt(self, template: str) -> str:
        return template.replace("{language}", self.language)

    def start(self) -> list[Command]:
        """The dialog's first commands: the caller's number said back, or the entry."""
        if self._own is None:
            return self._ask_entry()
        return self._say_back(self._own)

    def on_reply(self, ask: Ask, text: str | None) -> list[Command]:
        """The reply (None: none came) of the command that asked ``ask``."""
        if self.done:
            return []
        result, raw = _reply(text)
        if text is None or (result is not None and result < 0):
            return self._give_up()  # the caller hung up, or the command failed
        if ask is Ask.CONFIRM:
            if raw == "1" and self._candidate is not None:
                self.number = self._candidate
                return self._after_number()
            if raw == "2":
                return self._ask_entry()
            return self._again(lambda: self._say_back(self._candidate or ""))
        if ask is Ask.ENTER:
            number = callable_number(raw, self.policy.region)
            if number is None:
                invalid = Command(f'STREAM FILE {self._prompt(self.policy.invalid_number)} ""')
                return self._again(lambda: [invalid, *self._ask_entry()])
            return self._say_back(number)
        if ask is Ask.NAME:
            if "endpos=" in (unquote(text) if text else "") and not _silent(text):
                self.name_file = f"{self.name_path}.wav"
            return self._finish()
        self.done = True  # THANKS
        return []

    def _say_back(self, number: str) -> list[Command]:
        self._candidate = number
        return [
            Command(f'STREAM FILE {self._prompt(self.policy.number_is)} ""'),
            Command(f'SAY DIGITS {number.lstrip("+")} ""'),
            Command(f"GET DATA {self._prompt(self.policy.confirm)} 5000 1", Ask.CONFIRM),
        ]

    def _ask_entry(self) -> list[Command]:
        return [Command(f"GET DATA {self._prompt(self.policy.enter_number)} 10000 15",
                        Ask.ENTER)]  # fmt: skip

    def _again(self, ask: Callable[[], list[Command]]) -> list[Command]:
        self._tries += 1
        if self._tries >= self.policy.tries:
            return self._give_up()
        return ask()

    def _after_number(self) -> list[Command]:
        if not self.policy.record_name:
            return self._finish()
        ms = round(self.policy.name_max_s * 1000)
        return [
            Command(f'STREAM FILE {self._prompt(self.policy.say_name)} ""'),
            Command(f'RECORD FILE {self.name_path} wav "#" {ms} 0 BEEP', Ask.NAME),
        ]

    def _finish(self) -> list[Command]:
        self.confirmed = True
        return [Command(f'STREAM FILE {self._prompt(self.policy.thanks)} ""', Ask.THANKS)]

    def _give_up(self) -> list[Command]:
        # a caller who confirmed its number and hangs up (during the name, the thanks)
        # keeps the callback
        self.done = True
        self.confirmed = self.number is not None
        return []


def _silent(text: str | None) -> bool:
    """RECORD FILE that wrote nothing: ``endpos=0``."""
    line = unquote(text or "")
    return "endpos=0" in line.split()
