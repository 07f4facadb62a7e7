"""One caller's walk through the IVR, as a pure state machine.

Rules (everything that moves a session lives here):

1. Inputs in, commands out. ``start(now, wall)`` begins; ``on_result(input,
   now, wall)`` takes how the last prompt ended (:class:`PromptResult`) or that
   the caller hung up (:class:`CallerHangup`); ``on_customer(known, now,
   wall)`` takes what the CRM said of the caller. ``now`` is the shell's
   monotonic clock (timings), ``wall`` the aware wall-clock time (business
   hours). No clock, no I/O, no randomness: a percentage split picks its
   branch from the call id, the shell executes the commands and feeds back
   their results.
2. Each returned list ends with the one command whose result the session now
   waits for (PlayPrompt, CollectDigits, RecordMessage: a voicemail's message,
   AwaitCustomer: the CRM's answer, or AwaitQueues: the queues' state, which
   the shell gives at once), or with the IVR's end (RouteToQueue or Hangup),
   or is empty (the caller hung up). SetLanguage, PromptFailed and
   RequestCallback (the shell stores it) may precede it and expect no result.
3. Transitions are the table ``TRANSITIONS``: (state, input kind) -> step.
   A pair missing from it raises :class:`IvrStateError`.
4. A failed prompt never drops the caller. On Asterisk, STREAM FILE of a
   missing sound file answers ``result=-1`` and ends AsyncAGI (transcript 13);
   the ``[hotline-safe]`` dialplan enters ``AGI(agi:async)`` again and the
   shell feeds ``PromptResult(status="failed")``. A failed intro,
   invalid-choice notice or ``play`` prompt goes on as if it had played.
5. A failed question is not a timeout. GET DATA of a missing sound file
   answers ``result=-1`` in 0.1 s and stays in AsyncAGI (transcript 17): the
   caller had no chance to answer, so it uses no retry. At a menu the session
   returns PromptFailed, then asks the menu's ``fallback_prompt`` if it has
   one (once per failed question: a shorter recording, another language's
   file), else (or when that fails too) reads the digit in silence
   (CollectDigits with no prompt, AGI ``WAIT FOR DIGIT`` for the node's
   timeout, state LISTENING); a digit there is the choice, nothing there is a timeout and
   uses a retry. After ``MAX_PROMPT_FAILURES`` failures of a node's question
   in a row (without one that played in between), a failure counts as a miss
   like a timeout. At an input node the entry is read again with GET DATA of
   the IVR's ``silence_prompt`` (state ENTERING_SILENT); if that fails too it
   counts as a miss. Past the retries (tries) the node's ``otherwise`` action
   runs, else the call goes to the fallback queue. The session emits Hangup
   only when the caller picks an option whose action is ``hangup`` or the
   flow reaches a ``hangup`` node or action (the loader refuses ``hangup`` in
   ``otherwise``), never on a timeout or a failure.
6. The loader refuses loops that need no caller input, so a caller who
   presses nothing, or an IVR whose every sound file is missing, reaches a
   queue in a bounded number of prompts: each asking node ends after at most
   ``retries + 1`` misses, and a failed question either uses a retry or is
   followed by a read that does. ``MAX_HOPS`` nodes without a prompt in a row
   send the call to the fallback queue (a second guard). Note that
   ``[hotline-safe]`` re-enters AGI only a few times: each failed STREAM FILE
   spends one of those re-entries.
7. Keys: at a menu an option of its own wins; else the IVR's ``back_key``
   returns to the menu before (at an input node too, as the whole entry),
   and its ``agent_key`` routes to ``agent_queue`` where the menu allows it.
8. The trail (:attr:`IvrSession.trail`) records every node entered, every
   entry, timeout, failure and branch with its time since the start; a
   ``secret`` or ``sensitive`` input's digits are masked there and in the
   selections. :attr:`IvrSession.sensitive` says the caller is at a
   ``sensitive`` node (the shell mutes a running recording meanwhile).
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from .errors import IvrStateError
from .events import (
    AwaitCustomer,
    AwaitingCommand,
    AwaitQueues,
    CallerHangup,
    CollectDigits,
    Command,
    CustomerKnown,
    Hangup,
    IvrInput,
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
)
from .model import (
    Action,
    CallbackNode,
    ConditionNode,
    GotoNode,
    HangupNode,
    InputNode,
    IvrDefinition,
    LookupNode,
    MenuNode,
    PlayNode,
    SetNode,
    SplitNode,
    Test,
    TransferNode,
    VoicemailNode,
)

#: failures of a node's question in a row that still get a silent read; past them a failure
#: counts as a miss. The silent reads use retries, so ``retries`` bounds them too; this caps
#: the silence a caller sits through at a node with many retries and a long timeout.
MAX_PROMPT_FAILURES = 3
#: nodes entered in a row with no prompt (condition, set, goto, split) before the session
#: gives up and routes to the fallback queue; the loader refuses such loops already
MAX_HOPS = 50
#: a secret entry's digits in the trail and the selections
MASK = "x"
#: a number a callback can dial: digits, a + first at most (not "anonymous", not empty)
_CALLABLE = re.compile(r"\+?[0-9]{3,20}")


class IvrState(Enum):
    """Where a session stands."""

    #: built; ``start()`` not called yet
    IDLE = "idle"
    #: playing a menu's intro (STREAM FILE); an option key interrupts it and is the choice
    INTRO = "intro"
    #: asked a menu's prompt (GET DATA); waiting for the digit
    ASKING = "asking"
    #: the menu's prompt failed (GET DATA result=-1); reading the digit with no prompt
    LISTENING = "listening"
    #: playing the invalid-choice prompt before asking again
    NOTICE = "notice"
    #: an input node's GET DATA: waiting for the entry
    ENTERING = "entering"
    #: the input's prompt failed: GET DATA of the silence prompt reads the entry
    ENTERING_SILENT = "entering_silent"
    #: a play node's prompt or a hangup node's goodbye (STREAM FILE)
    PLAYING = "playing"
    #: a condition on the CRM card, a voicemail or a callback request waits for the lookup
    WAITING_CUSTOMER = "waiting_customer"
    #: a condition on queue state waits for the shell's figures (answered at once)
    WAITING_QUEUES = "waiting_queues"
    #: a lookup node waits for the CRM's answer by account
    WAITING_LOOKUP = "waiting_lookup"
    #: a voicemail node's prompt (STREAM FILE) before the message
    VOICEMAIL_PROMPT = "voicemail_prompt"
    #: a voicemail node records the caller's message (RECORD FILE)
    RECORDING = "recording"
    #: done: the call goes to a queue
    ROUTED = "routed"
    #: done: the IVR hung up (a hangup option, action or node)
    HUNG_UP = "hung_up"
    #: done: the caller was sent out of the hotline (a transfer node)
    TRANSFERRED = "transferred"
    #: done: the caller hung up while in the IVR
    ABANDONED = "abandoned"


DONE_STATES = frozenset(
    {IvrState.ROUTED, IvrState.HUNG_UP, IvrState.TRANSFERRED, IvrState.ABANDONED}
)


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
    #: the CRM lookup answered (``on_customer``)
    CUSTOMER = "customer"
    #: the shell gave the queues' state (``on_queues``)
    QUEUES = "queues"
    #: the CRM answered a lookup by account (``on_lookup``)
    LOOKUP = "lookup"


def input_kind(event: IvrInput) -> InputKind:
    """Classify an input for the transition table."""
    if isinstance(event, CallerHangup):
        return InputKind.HANGUP
    if event.status == "failed":
        return InputKind.FAILED
    if event.status == "timeout":
        return InputKind.TIMEOUT
    return InputKind.DIGITS if event.digits else InputKind.PLAYED


@dataclass(frozen=True, slots=True)
class TrailStep:
    """One step of a caller's path: at ``at_s`` seconds after the start, at ``node``."""

    at_s: float
    node: str
    #: enter, digits, entry, invalid, timeout, prompt_failed, branch, back, agent, customer,
    #: lookup, voicemail, callback
    what: str
    #: the digits (masked for a secret entry), the branch taken, the prompt that failed
    detail: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"at_s": round(self.at_s, 3), "node": self.node, "what": self.what,
                "detail": self.detail}  # fmt: skip


def trail_path(trail: tuple[TrailStep, ...] | list[TrailStep]) -> str:
    """A trail in one line, for a screen-pop: ``language(1) > main(3) > sub(*) > main(0)``;
    a condition's branch in brackets, a timeout as ``(-)``, a failed prompt as ``(!)``."""
    parts: list[str] = []
    for step in trail:
        if step.what == "enter":
            parts.append(step.node)
            continue
        mark = {"timeout": "(-)", "prompt_failed": "(!)", "branch": f"[{step.detail}]",
                "customer": ""}.get(step.what, f"({step.detail})")  # fmt: skip
        if parts and mark:
            parts[-1] += mark
    return " > ".join(parts)


Step = Callable[["IvrSession", str], list[Command]]


class IvrSession:
    """One caller in the IVR: feed it inputs, execute the commands it returns."""

    def __init__(
        self,
        definition: IvrDefinition,
        call_id: str,
        caller_number: str,
        *,
        customer: CustomerKnown | None = None,
        customer_pending: bool = False,
        language: str | None = None,
    ) -> None:
        self.definition = definition
        self.call_id = call_id
        self.caller_number = caller_number
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self._state = IvrState.IDLE
        self._node: str | None = None
        self._attempts = 0
        self._prompt_failures = 0
        self._hops = 0
        self._language = (
            language if language in definition.languages else definition.default_language
        )
        #: the node ``start()`` enters (None: the IVR's ``start``)
        self._start_node: str | None = None
        self._selections: list[Selection] = []
        self._variables: dict[str, str] = {}
        self._secrets: set[str] = set()
        #: the menus entered, oldest first: the back key returns to the one before the last
        self._menus: list[str] = []
        self._customer = customer
        self._customer_pending = customer_pending and customer is None
        self._then: Action | Hangup | None = None
        #: the question now asked is the menu's ``fallback_prompt`` (its prompt failed)
        self._on_fallback = False
        self._queues: dict[str, QueueState] = {}
        self._lookup: LookupResult | None = None
        self._trail: list[TrailStep] = []
        self._now = 0.0
        self._wall: dt.datetime | None = None
        self._awaiting: AwaitingCommand | None = None
        self._outcome: RouteToQueue | Hangup | Transfer | None = None

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
        """The node the caller is at (the last one, once done)."""
        return self._node

    @property
    def selections(self) -> tuple[Selection, ...]:
        """The choices made so far, in order (for the screen-pop and SQL); secrets masked."""
        return tuple(self._selections)

    @property
    def variables(self) -> dict[str, str]:
        """The session variables as the screen-pop and logs may show them (secrets masked)."""
        return {k: MASK * len(v) if k in self._secrets else v for k, v in self._variables.items()}

    @property
    def trail(self) -> tuple[TrailStep, ...]:
        """The caller's path so far (rule 8)."""
        return tuple(self._trail)

    @property
    def sensitive(self) -> bool:
        """True while the caller is at a ``sensitive`` input node (its prompt, its entry,
        its invalid-entry notice): a running recording of the call must be muted."""
        node = self.definition.nodes.get(self._node or "")
        return not self.done and isinstance(node, InputNode) and node.sensitive

    @property
    def awaiting(self) -> AwaitingCommand | None:
        """The command whose result is awaited: send it again after an AMI reconnect."""
        return self._awaiting

    @property
    def outcome(self) -> RouteToQueue | Hangup | Transfer | None:
        """The command that ended the IVR, if it has ended that way."""
        return self._outcome

    # -- inputs ----------------------------------------------------------------------

    def start(
        self, now: float, wall: dt.datetime | None = None, node: str | None = None
    ) -> list[Command]:
        """Begin the IVR: set the language and enter the start node, or ``node`` (a caller
        its agent sent to one node mid-call)."""
        if node is not None and node not in self.definition.nodes:
            raise KeyError(f"no IVR node {node!r}")
        self._start_node = node
        return self._apply(InputKind.START, "", now, wall)

    def on_result(
        self, result: IvrInput, now: float, wall: dt.datetime | None = None
    ) -> list[Command]:
        """Take how the awaited command ended, or that the caller hung up."""
        digits = result.digits if isinstance(result, PromptResult) else ""
        return self._apply(input_kind(result), digits, now, wall)

    def on_customer(
        self, known: CustomerKnown, now: float, wall: dt.datetime | None = None
    ) -> list[Command]:
        """Take the CRM's answer (found or not); only a waiting condition moves on it."""
        self._customer = known
        self._customer_pending = False
        if self._state is not IvrState.WAITING_CUSTOMER:
            return []
        return self._apply(InputKind.CUSTOMER, "", now, wall)

    def on_queues(
        self, states: dict[str, QueueState], now: float, wall: dt.datetime | None = None
    ) -> list[Command]:
        """Take the state of the queues an :class:`AwaitQueues` asked about."""
        self._queues = dict(states)
        return self._apply(InputKind.QUEUES, "", now, wall)

    def on_lookup(
        self, result: LookupResult, now: float, wall: dt.datetime | None = None
    ) -> list[Command]:
        """Take the CRM's answer to a :class:`LookupAccount`."""
        self._lookup = result
        return self._apply(InputKind.LOOKUP, "", now, wall)

    def _apply(
        self, kind: InputKind, digits: str, now: float, wall: dt.datetime | None
    ) -> list[Command]:
        step = TRANSITIONS.get((self._state, kind))
        if step is None:
            raise IvrStateError(self._state, kind)
        if kind is InputKind.START:
            self.started_at = now
        self._now = now
        if wall is not None:
            self._wall = wall
        self._hops = 0
        commands = step(self, digits)
        last = commands[-1] if commands else None
        self._awaiting = (
            last if isinstance(last, PlayPrompt | CollectDigits | RecordMessage) else None
        )
        if self.done and self.ended_at is None:
            self.ended_at = now
        return commands

    # -- steps (the values of TRANSITIONS) ----------------------------------------------

    def _begin(self, digits: str) -> list[Command]:
        return [
            SetLanguage(self._language),
            *self._enter(self._start_node or self.definition.start),
        ]

    def _choose(self, digits: str) -> list[Command]:
        node = self._menu
        action = node.options.get(digits)
        if action is not None:
            self._note("digits", digits)
            return self._take(action, Selection(self._menu_name, digits), fallback=False)
        if digits == self._back_key():
            self._note("back", digits)
            self._menus.pop()
            return self._enter(self._menus[-1], back=True)
        if digits == self._agent_key(node):
            self._note("agent", digits)
            self._selections.append(Selection(self._menu_name, digits))
            assert self.definition.agent_queue is not None  # _agent_key checked it
            return self._route(self.definition.agent_queue, fallback=False)
        self._note("invalid", digits)
        return self._miss(invalid=True)

    def _ask(self, digits: str = "") -> list[Command]:
        node = self._current
        if isinstance(node, InputNode):
            self._state = IvrState.ENTERING
            prompt = self.definition.prompt_file(node.prompt, self._language)
            return [CollectDigits(prompt, node.timeout_s, max_digits=node.max_digits)]
        node = self._menu
        self._state = IvrState.ASKING
        self._on_fallback = False
        prompt = self.definition.prompt_file(node.prompt, self._language)
        return [CollectDigits(prompt, node.timeout_s, max_digits=1)]

    def _notice_digits(self, digits: str) -> list[Command]:
        return self._ask() if isinstance(self._current, InputNode) else self._choose(digits)

    def _question_played(self, digits: str) -> list[Command]:
        # the question played: its failures in a row are over
        self._prompt_failures = 0
        if digits:
            return self._choose(digits)
        self._note("timeout")
        return self._miss(invalid=False)

    def _question_failed(self, digits: str) -> list[Command]:
        node = self._menu
        self._prompt_failures += 1
        listening = self._prompt_failures <= MAX_PROMPT_FAILURES
        asked = node.fallback_prompt if self._on_fallback else node.prompt
        assert asked is not None
        prompt = self.definition.prompt_file(asked, self._language)  # as it was sent
        report = PromptFailed(self._menu_name, prompt, self._prompt_failures, listening=listening)
        self._note("prompt_failed", prompt)
        if not listening:
            return [report, *self._miss(invalid=False)]
        if node.fallback_prompt is not None and not self._on_fallback:
            self._on_fallback = True  # the fallback prompt, asked once per failed question
            fallback = self.definition.prompt_file(node.fallback_prompt, self._language)
            return [report, CollectDigits(fallback, node.timeout_s, max_digits=1)]
        self._state = IvrState.LISTENING
        return [report, CollectDigits("", node.timeout_s, max_digits=1)]

    def _no_choice(self, digits: str) -> list[Command]:
        self._note("timeout")
        return self._miss(invalid=False)

    def _entered(self, digits: str) -> list[Command]:
        node = self._input
        entry = digits.rstrip("#")
        if entry == self._back_key() and self._menus:
            self._note("back", entry)
            return self._enter(self._menus[-1], back=True)
        shown = MASK * len(entry) if node.masked else entry
        if not node.accepts(entry):
            self._note("invalid", shown)
            return self._miss(invalid=True)
        self._note("entry", shown)
        self._variables[node.variable] = entry
        if node.masked:
            self._secrets.add(node.variable)
        else:
            self._secrets.discard(node.variable)
        return self._take(node.next, Selection(self._menu_name, shown), fallback=False)

    def _entry_empty(self, digits: str) -> list[Command]:
        # GET DATA ended with nothing: '#' alone, or nothing typed in time
        self._note("timeout")
        return self._miss(invalid=False)

    def _entry_failed(self, digits: str) -> list[Command]:
        node = self._input
        prompt = self.definition.prompt_file(node.prompt, self._language)
        self._note("prompt_failed", prompt)
        self._state = IvrState.ENTERING_SILENT
        silence = self.definition.silence_prompt
        return [
            PromptFailed(self._menu_name, prompt, 1, listening=True),
            CollectDigits(silence, node.timeout_s, max_digits=node.max_digits),
        ]

    def _silence_failed(self, digits: str) -> list[Command]:
        self._note("prompt_failed", self.definition.silence_prompt)
        report = PromptFailed(self._menu_name, self.definition.silence_prompt, 2, listening=False)
        return [report, *self._miss(invalid=False)]

    def _played(self, digits: str) -> list[Command]:
        then = self._then
        self._then = None
        if isinstance(then, Hangup):
            return self._hang_up(then.reason)
        assert then is not None, "PLAYING always has a next step"
        return self._take(then, None, fallback=False)

    def _take_message(self, name: str, node: VoicemailNode | CallbackNode) -> list[Command]:
        if isinstance(node, CallbackNode):
            return self._callback(name, node)
        if node.prompt is None:
            return self._record()
        self._state = IvrState.VOICEMAIL_PROMPT
        return [PlayPrompt(self.definition.prompt_file(node.prompt, self._language), "")]

    def _record(self, digits: str = "") -> list[Command]:
        node = self._current
        assert isinstance(node, VoicemailNode), f"{self._node} is no voicemail"
        self._state = IvrState.RECORDING
        return [RecordMessage(self._menu_name, node.max_s, node.silence_s, node.beep, node.queue)]

    def _recorded(self, digits: str) -> list[Command]:
        # RECORD FILE ended: '#' (or another digit), its time or the silence ("end"), or -1
        node = self._current
        assert isinstance(node, VoicemailNode), f"{self._node} is no voicemail"
        self._note("voicemail", digits or "end")
        return self._take(node.next, None, fallback=False)

    def _record_failed(self, digits: str) -> list[Command]:
        # -1: the caller hung up (their Hangup follows) or the file could not be written;
        # either way the flow goes on, never stranding a caller who is still there
        node = self._current
        assert isinstance(node, VoicemailNode), f"{self._node} is no voicemail"
        self._note("voicemail", "failed")
        return self._take(node.next, None, fallback=False)

    def _callback(self, name: str, node: CallbackNode) -> list[Command]:
        number = self._variables.get(node.number, "") if node.number else self.caller_number
        if _CALLABLE.fullmatch(number or "") is None:
            self._note("callback", "no_number")
            if node.otherwise is not None:
                return self._take(node.otherwise, None, fallback=True)
            return self._route(self.definition.fallback_queue, fallback=True)
        self._note("callback", "entered" if node.number else "own")
        request = RequestCallback(name, node.queue, number, own_number=node.number is None)
        return [request, *self._take(node.next, None, fallback=False)]

    def _customer_known(self, digits: str) -> list[Command]:
        known = self._customer
        self._note("customer", (known.tier or "") if known is not None else "")
        node = self._current
        if isinstance(node, VoicemailNode | CallbackNode):
            return self._take_message(self._menu_name, node)
        return self._ask_queues_or_decide(self._condition)

    def _looked_up(self, digits: str) -> list[Command]:
        node = self._current
        assert isinstance(node, LookupNode) and self._lookup is not None
        result = self._lookup
        self._note("lookup", result.outcome)
        if result.outcome == "found":
            self._customer = result.customer or CustomerKnown()
            self._customer_pending = False
            return self._take(node.found, None, fallback=False)
        if result.outcome == "timed_out" and node.timed_out is not None:
            return self._take(node.timed_out, None, fallback=False)
        return self._take(node.not_found, None, fallback=False)

    def _queues_known(self, digits: str) -> list[Command]:
        return self._decide(self._condition)

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
    def _current(self) -> object:
        return self.definition.nodes[self._menu_name]

    @property
    def _menu(self) -> MenuNode:
        node = self._current
        assert isinstance(node, MenuNode), f"{self._node} is no menu"
        return node

    @property
    def _input(self) -> InputNode:
        node = self._current
        assert isinstance(node, InputNode), f"{self._node} is no input"
        return node

    @property
    def _condition(self) -> ConditionNode:
        node = self._current
        assert isinstance(node, ConditionNode), f"{self._node} is no condition"
        return node

    def _note(self, what: str, detail: str = "") -> None:
        at = self._now - (self.started_at if self.started_at is not None else self._now)
        self._trail.append(TrailStep(at, self._menu_name, what, detail))

    def _back_key(self) -> str | None:
        """The back key, when there is a menu to go back to (a menu's own option wins)."""
        key = self.definition.back_key
        node = self._current
        if key is None or (isinstance(node, MenuNode) and key in node.options):
            return None
        if isinstance(node, MenuNode):
            return key if len(self._menus) > 1 else None
        return key if self._menus else None

    def _agent_key(self, node: MenuNode) -> str | None:
        key = self.definition.agent_key
        if key is None or self.definition.agent_queue is None or not node.agent:
            return None
        return None if key in node.options else key

    def _escape_digits(self, node: MenuNode) -> str:
        """The keys that interrupt the menu's intro and notice: options, back, agent."""
        keys = node.escape_digits
        for extra in (self._back_key(), self._agent_key(node)):
            if extra is not None and extra not in keys:
                keys += extra
        return keys

    def _enter(self, name: str, *, back: bool = False) -> list[Command]:
        self._hops += 1
        if self._hops > MAX_HOPS:
            self._note("loop", name)
            return self._route(self.definition.fallback_queue, fallback=True)
        self._node = name
        self._attempts = 0
        self._prompt_failures = 0
        self._note("enter", "back" if back else "")
        node = self.definition.nodes[name]
        if isinstance(node, MenuNode):
            if not back and (not self._menus or self._menus[-1] != name):
                self._menus.append(name)
            if node.intro is None:
                return self._ask()
            self._state = IvrState.INTRO
            intro = self.definition.prompt_file(node.intro, self._language)
            return [PlayPrompt(intro, self._escape_digits(node))]
        if isinstance(node, InputNode):
            return self._ask()
        if isinstance(node, PlayNode):
            return self._play(node.prompt, node.next)
        if isinstance(node, HangupNode):
            if node.prompt is None:
                return self._hang_up(node.reason)
            return self._play(node.prompt, Hangup(node.reason))
        if isinstance(node, ConditionNode):
            if self._customer is None and self._customer_pending and node.needs_customer:
                self._state = IvrState.WAITING_CUSTOMER
                return [AwaitCustomer(name)]
            return self._ask_queues_or_decide(node)
        if isinstance(node, SetNode):
            return self._set(node)
        if isinstance(node, LookupNode):
            account = self._variables.get(node.account)
            if not account:
                self._note("lookup", "no_value")
                return self._take(node.not_found, None, fallback=False)
            self._state = IvrState.WAITING_LOOKUP
            return [LookupAccount(name, account, node.timeout_s)]
        if isinstance(node, VoicemailNode | CallbackNode):
            if self._customer is None and self._customer_pending:
                # the message's row and the request carry the customer: wait for the
                # caller's lookup (it always answers within its budget)
                self._state = IvrState.WAITING_CUSTOMER
                return [AwaitCustomer(name)]
            return self._take_message(name, node)
        if isinstance(node, GotoNode):
            return self._enter(node.goto)
        if isinstance(node, TransferNode):
            self._state = IvrState.TRANSFERRED
            context = node.context or self.definition.transfer_context
            self._outcome = Transfer(context, node.to)
            return [self._outcome]
        assert isinstance(node, SplitNode)
        bucket = zlib.crc32(f"{self.call_id}/{name}".encode()) % 100
        for i, share in enumerate(node.branches):
            if bucket < share.percent or i == len(node.branches) - 1:
                self._note("branch", str(i))
                return self._take(share.then, None, fallback=False)
            bucket -= share.percent
        raise AssertionError("unreachable: the shares add up to 100")

    def _play(self, prompt: str, then: Action | Hangup) -> list[Command]:
        self._state = IvrState.PLAYING
        self._then = then
        return [PlayPrompt(self.definition.prompt_file(prompt, self._language), "")]

    def _ask_queues_or_decide(self, node: ConditionNode) -> list[Command]:
        if node.queues:
            self._state = IvrState.WAITING_QUEUES
            return [AwaitQueues(self._menu_name, node.queues)]
        return self._decide(node)

    def _decide(self, node: ConditionNode) -> list[Command]:
        for i, branch in enumerate(node.branches):
            if self._holds(branch.when):
                self._note("branch", str(i))
                return self._take(branch.then, None, fallback=False)
        self._note("branch", "otherwise")
        return self._take(node.otherwise, None, fallback=False)

    def _holds(self, test: Test) -> bool:
        customer = self._customer
        if test.open is not None or test.holiday is not None:
            if self._wall is None:
                raise ValueError("a business-hours condition needs the wall-clock time")
            if test.open is not None:
                return self.definition.calendar(test.open).is_open(self._wall)
            assert test.holiday is not None
            return self.definition.calendar(test.holiday).is_holiday(self._wall)
        if test.tier is not None:
            return customer is not None and customer.tier in test.tier
        if test.vip is not None:
            return (customer is not None and customer.vip) is test.vip
        if test.language is not None:
            return self._language == test.language
        if test.queue is not None:
            return test.holds_for(self._queues.get(test.queue, QueueState()))
        assert test.variable is not None
        value = self._variables.get(test.variable)
        if value is None:
            return False
        if test.equals is not None:
            return value == test.equals
        assert test.matches is not None
        return re.fullmatch(test.matches, value) is not None

    def _set(self, node: SetNode) -> list[Command]:
        commands: list[Command] = []
        for key, value in node.variables.items():
            self._variables[key] = value
            self._secrets.discard(key)
        if node.language is not None:
            self._language = node.language
            commands.append(SetLanguage(node.language))
        return commands + self._take(node.next, None, fallback=False)

    def _miss(self, *, invalid: bool) -> list[Command]:
        node = self._current
        self._attempts += 1
        if isinstance(node, InputNode):
            exhausted = self._attempts >= node.tries
            escape = ""
        else:
            assert isinstance(node, MenuNode)
            exhausted = self._attempts > node.retries
            escape = self._escape_digits(node)
        if exhausted:
            if node.otherwise is not None:
                return self._take(node.otherwise, None, fallback=True)
            return self._route(self.definition.fallback_queue, fallback=True)
        notice = node.invalid_prompt or self.definition.invalid_prompt
        if invalid and notice is not None:
            self._state = IvrState.NOTICE
            return [PlayPrompt(self.definition.prompt_file(notice, self._language), escape)]
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
            commands += self._hang_up(action.hangup)
        return commands

    def _hang_up(self, reason: str) -> list[Command]:
        self._state = IvrState.HUNG_UP
        self._outcome = Hangup(reason)
        return [self._outcome]

    def _route(self, queue: str, *, fallback: bool) -> list[Command]:
        self._state = IvrState.ROUTED
        self._outcome = RouteToQueue(queue, self._language, self.selections, fallback=fallback)
        return [self._outcome]


_S, _K = IvrState, InputKind
#: (state, input kind) -> step; every pair not listed is an IvrStateError
TRANSITIONS: dict[tuple[IvrState, InputKind], Step] = {
    (_S.IDLE, _K.START): IvrSession._begin,
    (_S.IDLE, _K.HANGUP): IvrSession._caller_left,
    # the intro and the invalid-choice notice: an option key is the choice; anything else asks
    **{
        (state, kind): step
        for state in (_S.INTRO, _S.NOTICE)
        for kind, step in (
            (_K.DIGITS, IvrSession._notice_digits),
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
    # an input node's GET DATA, and its read over the silence prompt after a failure
    **{
        (state, kind): step
        for state, failed in (
            (_S.ENTERING, IvrSession._entry_failed),  # not a timeout: no try used
            (_S.ENTERING_SILENT, IvrSession._silence_failed),  # a try used
        )
        for kind, step in (
            (_K.DIGITS, IvrSession._entered),
            (_K.PLAYED, IvrSession._entry_empty),
            (_K.TIMEOUT, IvrSession._entry_empty),
            (_K.FAILED, failed),
            (_K.HANGUP, IvrSession._caller_left),
        )
    },
    # a play node's prompt, a hangup node's goodbye: however it ended, go on
    (_S.PLAYING, _K.DIGITS): IvrSession._played,
    (_S.PLAYING, _K.PLAYED): IvrSession._played,
    (_S.PLAYING, _K.TIMEOUT): IvrSession._played,
    (_S.PLAYING, _K.FAILED): IvrSession._played,
    (_S.PLAYING, _K.HANGUP): IvrSession._caller_left,
    (_S.WAITING_CUSTOMER, _K.CUSTOMER): IvrSession._customer_known,
    (_S.WAITING_CUSTOMER, _K.HANGUP): IvrSession._caller_left,
    (_S.WAITING_QUEUES, _K.QUEUES): IvrSession._queues_known,
    (_S.WAITING_QUEUES, _K.HANGUP): IvrSession._caller_left,
    (_S.WAITING_LOOKUP, _K.LOOKUP): IvrSession._looked_up,
    (_S.WAITING_LOOKUP, _K.HANGUP): IvrSession._caller_left,
    # a voicemail's prompt: however it ended, the recording starts (a missing prompt too)
    (_S.VOICEMAIL_PROMPT, _K.DIGITS): IvrSession._record,
    (_S.VOICEMAIL_PROMPT, _K.PLAYED): IvrSession._record,
    (_S.VOICEMAIL_PROMPT, _K.TIMEOUT): IvrSession._record,
    (_S.VOICEMAIL_PROMPT, _K.FAILED): IvrSession._record,
    (_S.VOICEMAIL_PROMPT, _K.HANGUP): IvrSession._caller_left,
    # RECORD FILE: ended by '#', its time or the silence; -1 (hang-up, unwritable file)
    (_S.RECORDING, _K.DIGITS): IvrSession._recorded,
    (_S.RECORDING, _K.PLAYED): IvrSession._recorded,
    (_S.RECORDING, _K.TIMEOUT): IvrSession._recorded,
    (_S.RECORDING, _K.FAILED): IvrSession._record_failed,
    (_S.RECORDING, _K.HANGUP): IvrSession._caller_left,
    # a hangup reported after the IVR ended is old news
    (_S.ROUTED, _K.HANGUP): IvrSession._nothing,
    (_S.HUNG_UP, _K.HANGUP): IvrSession._nothing,
    (_S.TRANSFERRED, _K.HANGUP): IvrSession._nothing,
    (_S.ABANDONED, _K.HANGUP): IvrSession._nothing,
}
