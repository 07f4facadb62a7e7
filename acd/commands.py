"""Output commands: what the ACD core asks the shell to do, in order.

Every command is a frozen, slotted dataclass validated when built (the core's
own hot path builds five of them with ``built`` and the ``build_*`` functions, which
trust its state). Actions
on the PBX: ``HoldCaller``, ``OfferCall``, ``CancelOffer``, ``OverflowCall``.
Records (SQL, wallboard, metrics): ``AgentStateChanged``, ``CallConnected``,
``CallOutcome``, ``PauseEnded``, ``CallMoved``; to the agent's desk: ``WrapUpExtended``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from enum import Enum
from typing import Any, TypeVar

from ._check import (
    check_enum,
    check_id,
    check_optional_id,
    check_seconds,
    check_str,
    check_time,
)
from .agent import AgentState
from .errors import InvalidValue


class Outcome(Enum):
    """How a call ended: exactly one per call, the one word for it in the ACD, the call-flow
    core, SQL (``calls.outcome``, ``queue_outcomes.outcome``) and ``/metrics``.

    The ACD emits ANSWERED, ABANDONED, TIMEOUT and LOST for a queued call; IVR_HANGUP
    is the call-flow core's, for a caller who hung up before reaching a queue.
    """

    #: an agent answered; emitted when the conversation ends
    ANSWERED = "answered"
    #: the caller left (hung up, or lost) before an agent answered
    ABANDONED = "abandoned"
    #: the call waited ``max_wait_s``; the shell overflows it (``OverflowCall``)
    TIMEOUT = "timeout"
    #: the PBX lost the call (it restarted) before an agent answered (``LeaveReason.LOST``)
    LOST = "lost"
    #: the caller hung up in the IVR, before reaching a queue (never the ACD's)
    IVR_HANGUP = "ivr_hangup"
    #: accepted in SQL for rows of earlier versions; nothing sets it any more
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class HoldCaller:
    """Play music on hold to the caller for ``seconds``, then report HoldSliceDone."""

    call_id: str
    seconds: float

    def __post_init__(self) -> None:
        check_id("HoldCaller.call_id", self.call_id)
        check_seconds("HoldCaller.seconds", self.seconds, positive=True)


@dataclass(frozen=True, slots=True)
class OfferCall:
    """Ring ``device`` for ``timeout_s`` and bridge it to the caller if answered.

    Report back with OfferAnswered or OfferFailed (same call_id and agent_id).
    """

    call_id: str
    agent_id: str
    device: str
    timeout_s: float
    queue: str

    def __post_init__(self) -> None:
        check_id("OfferCall.call_id", self.call_id)
        check_id("OfferCall.agent_id", self.agent_id)
        check_id("OfferCall.device", self.device)
        check_seconds("OfferCall.timeout_s", self.timeout_s, positive=True)
        check_id("OfferCall.queue", self.queue)


@dataclass(frozen=True, slots=True)
class CancelOffer:
    """Stop ringing the agent's phone; the offer is void (any later report is ignored)."""

    call_id: str
    agent_id: str

    def __post_init__(self) -> None:
        check_id("CancelOffer.call_id", self.call_id)
        check_id("CancelOffer.agent_id", self.agent_id)


@dataclass(frozen=True, slots=True)
class OverflowCall:
    """The call leaves ``queue`` unanswered by the queue's rules: send it elsewhere.
    ``reason``: ``max_wait`` (it waited ``max_wait_s``), ``max_length``, ``join_empty``,
    ``leave_empty`` (``acd.core`` rule 10)."""

    call_id: str
    queue: str
    wait_s: float
    reason: str = "max_wait"

    def __post_init__(self) -> None:
        check_id("OverflowCall.call_id", self.call_id)
        check_id("OverflowCall.queue", self.queue)
        check_seconds("OverflowCall.wait_s", self.wait_s)
        if self.reason not in OVERFLOW_REASONS:
            raise InvalidValue(f"OverflowCall.reason must be one of "
                               f"{', '.join(OVERFLOW_REASONS)}; got {self.reason!r}")  # fmt: skip


#: why a call overflows (``OverflowCall.reason``)
OVERFLOW_REASONS = ("max_wait", "max_length", "join_empty", "leave_empty")


@dataclass(frozen=True, slots=True)
class CallConnected:
    """The agent answered; ``wait_s`` is the caller's time in queue."""

    call_id: str
    agent_id: str
    wait_s: float

    def __post_init__(self) -> None:
        check_id("CallConnected.call_id", self.call_id)
        check_id("CallConnected.agent_id", self.agent_id)
        check_seconds("CallConnected.wait_s", self.wait_s)


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """The one record of how a call's visit to ``queue`` ended."""

    call_id: str
    queue: str
    outcome: Outcome
    #: time in queue: until answer for ANSWERED, until leaving otherwise
    wait_s: float
    #: the agent who answered (ANSWERED only)
    agent_id: str | None
    at: float
    #: answer to end of conversation (ANSWERED only)
    talk_s: float | None = None

    def __post_init__(self) -> None:
        check_id("CallOutcome.call_id", self.call_id)
        check_id("CallOutcome.queue", self.queue)
        check_enum("CallOutcome.outcome", self.outcome, Outcome)
        check_seconds("CallOutcome.wait_s", self.wait_s)
        check_optional_id("CallOutcome.agent_id", self.agent_id)
        check_time("CallOutcome.at", self.at)
        if self.talk_s is not None:
            check_seconds("CallOutcome.talk_s", self.talk_s)
        answered = self.outcome is Outcome.ANSWERED
        if answered != (self.agent_id is not None) or answered != (self.talk_s is not None):
            raise InvalidValue("CallOutcome: agent_id and talk_s are set for ANSWERED only")


@dataclass(frozen=True, slots=True)
class AgentStateChanged:
    """An agent went from ``old`` to ``new`` (or changed pause reason) at ``at``."""

    agent_id: str
    old: AgentState
    new: AgentState
    at: float
    reason: str
    #: the call being offered or talked on, or the call that just ended
    call_id: str | None = None

    def __post_init__(self) -> None:
        check_id("AgentStateChanged.agent_id", self.agent_id)
        check_enum("AgentStateChanged.old", self.old, AgentState)
        check_enum("AgentStateChanged.new", self.new, AgentState)
        check_time("AgentStateChanged.at", self.at)
        check_str("AgentStateChanged.reason", self.reason)
        check_optional_id("AgentStateChanged.call_id", self.call_id)


@dataclass(frozen=True, slots=True)
class PauseEnded:
    """A pause of ``agent_id`` for ``reason`` ran from ``started_at`` to ``ended_at``.

    Emitted when the agent leaves PAUSED or its pause reason changes, so reports
    sum pause time per reason, per agent, per interval from these records alone
    (a pause still running is in ``Acd.pause_totals``).
    """

    agent_id: str
    reason: str
    started_at: float
    ended_at: float

    def __post_init__(self) -> None:
        check_id("PauseEnded.agent_id", self.agent_id)
        check_str("PauseEnded.reason", self.reason)
        check_time("PauseEnded.started_at", self.started_at)
        check_time("PauseEnded.ended_at", self.ended_at)
        if self.ended_at < self.started_at:
            raise InvalidValue("PauseEnded: ended_at is before started_at")

    @property
    def seconds(self) -> float:
        return self.ended_at - self.started_at


@dataclass(frozen=True, slots=True)
class WrapUpExtended:
    """``agent_id``'s wrap-up now ends at ``ends_at`` (at most ``limit_at``), moved at
    ``at`` by a ``WrapUpExtend`` (shell's clock); the state stays WRAP_UP."""

    agent_id: str
    at: float
    ends_at: float
    limit_at: float

    def __post_init__(self) -> None:
        check_id("WrapUpExtended.agent_id", self.agent_id)
        check_time("WrapUpExtended.at", self.at)
        check_time("WrapUpExtended.ends_at", self.ends_at)
        check_time("WrapUpExtended.limit_at", self.limit_at)
        if not self.at < self.ends_at <= self.limit_at:
            raise InvalidValue("WrapUpExtended: expected at < ends_at <= limit_at")


@dataclass(frozen=True, slots=True)
class CallMoved:
    """A supervisor moved the WAITING call (``MoveCall``): from ``from_queue`` to
    ``queue`` (the same when only its place changed), its base ``priority`` now, its
    ``position`` in that queue's line right after the move and its wait so far (kept)."""

    call_id: str
    from_queue: str
    queue: str
    priority: int
    position: int
    wait_s: float

    def __post_init__(self) -> None:
        check_id("CallMoved.call_id", self.call_id)
        check_id("CallMoved.from_queue", self.from_queue)
        check_id("CallMoved.queue", self.queue)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise InvalidValue(f"CallMoved.priority must be an int, got {self.priority!r}")
        if isinstance(self.position, bool) or not isinstance(self.position, int) or (
                self.position < 1):  # fmt: skip
            raise InvalidValue(f"CallMoved.position must be an int >= 1, got {self.position!r}")
        check_seconds("CallMoved.wait_s", self.wait_s)


Command = (
    HoldCaller
    | OfferCall
    | CancelOffer
    | OverflowCall
    | CallConnected
    | CallOutcome
    | AgentStateChanged
    | PauseEnded
    | WrapUpExtended
    | CallMoved
)


C = TypeVar("C", HoldCaller, OfferCall, CallConnected, CallOutcome, AgentStateChanged)


def _builder(cls: type[C]) -> Callable[..., C]:
    """``cls``'s constructor without ``__post_init__``: the fields are stored in a draft of
    the same slots that is not frozen (a plain store, where the frozen class's
    ``__setattr__`` refuses), then the draft becomes a ``cls`` (``__class__``
    assignment: the same layout, checked by CPython). An AgentStateChanged costs about
    130 ns so, against 280 ns stored through each slot's descriptor and 850 ns through
    the frozen ``__init__`` and its checks (one process, interleaved). The object is a
    ``cls`` like any other, frozen from then on."""
    names = [f.name for f in fields(cls)]
    draft = type(f"_{cls.__name__}Draft", (), {"__slots__": cls.__slots__})
    sets = "".join(f"    command.{n} = {n}\n" for n in names)
    source = (
        f"def build({', '.join(names)}):\n    command = _new(draft)\n{sets}"
        "    command.__class__ = cls\n    return command\n"
    )
    scope: dict[str, Any] = {"_new": object.__new__, "cls": cls, "draft": draft}
    exec(source, scope)  # noqa: S102 (field names of our own dataclasses)
    build: Callable[..., C] = scope["build"]
    return build


_BUILDERS: dict[type, Callable[..., Any]] = {
    cls: _builder(cls)
    for cls in (HoldCaller, OfferCall, CallConnected, CallOutcome, AgentStateChanged)
}

#: the core's hot path calls these directly (``built`` without the look-up)
build_hold_caller: Callable[[str, float], HoldCaller] = _BUILDERS[HoldCaller]
build_offer_call: Callable[[str, str, str, float, str], OfferCall] = _BUILDERS[OfferCall]
build_call_connected: Callable[[str, str, float], CallConnected] = _BUILDERS[CallConnected]
build_call_outcome: Callable[
    [str, str, Outcome, float, str | None, float, float | None], CallOutcome
] = _BUILDERS[CallOutcome]
build_state_changed: Callable[
    [str, AgentState, AgentState, float, str, str | None], AgentStateChanged
] = _BUILDERS[AgentStateChanged]


def built(cls: type[C], *values: object) -> C:
    """``cls(*values)``, every field given, without re-running its checks.

    Only for the commands the core builds on its hot path from its own state,
    which was checked on the way in (events, configuration) and is kept by its
    tables: the checks and the frozen ``__init__`` cost about 0.7 us more per
    command, five commands per routing decision. The property tests re-check
    every command the core returns (``dataclasses.replace``).
    """
    command: C = _BUILDERS[cls](*values)
    return command

