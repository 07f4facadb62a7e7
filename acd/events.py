"""Input events: what the shell tells the ACD core (``Acd.handle(event, now)``).

Every event is a frozen, slotted dataclass validated when built. Times are
not part of events: the core takes ``now`` beside each one, except
``CallQueued.entered_at``, which restores a call's original wait after a
controller restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from ._check import (
    check_enum,
    check_id,
    check_int,
    check_optional_id,
    check_seconds,
    check_str,
    check_time,
)
from .errors import InvalidValue
from .skills import Levels


class OfferFailure(Enum):
    """Why an offer to an agent did not become a call."""

    # members are singletons compared by identity: hash them by identity too
    # (C speed; Enum.__hash__ hashes the name in Python on every dict lookup)
    __hash__ = object.__hash__

    #: the agent's phone rang for ``offer_timeout_s`` and nobody answered
    NO_ANSWER = "no-answer"
    #: the device was busy (SIP 486; for PJSIP ``OriginateResponse`` says only
    #: Reason 0 and the leg's ``Hangup`` Cause 17 / TechCause 486 tells: transcript 16)
    BUSY = "busy"
    #: the device has no contact: Reason 0 within a millisecond, no channel (16)
    UNREACHABLE = "unreachable"
    #: the originate failed (unregistered device, congestion...)
    FAILED = "failed"
    #: the shell never reported back; set by the core itself on its grace deadline
    NO_REPORT = "no-report"


class LeaveReason(Enum):
    """Why a caller left the queue."""

    #: the caller hung up
    HANGUP = "hangup"
    #: the PBX lost the call: it restarted (transcript 20); outcome ``lost`` unless answered
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class CallQueued:
    """A caller enters ``queue``. ``entered_at`` (past or now) restores a call's wait."""

    call_id: str
    queue: str
    caller_number: str
    #: base priority (VIP, callback...): higher is served first; the effective
    #: priority grows with the wait (``QueueConfig.aging_per_s``); FIFO when equal
    priority: int = 0
    customer_id: str | None = None
    #: when the caller first entered the queue; None means "now"
    entered_at: float | None = None
    #: skills this call requires (minimum levels 1..5), set by the IVR or the
    #: CRM; None: the queue's ``skills``. Relaxed by the queue's rules all the same.
    skills: Mapping[str, int] | None = None
    #: sticky agent: the agent who last served this caller's number (the shell looks
    #: it up); the call waits up to its queue's ``sticky_wait_s`` for that agent alone
    #: (routing rule 5). Ignored when unknown, not of the queue or not fitting the call.
    preferred_agent: str | None = None
    #: how long the call is held for ``preferred_agent`` instead of its queue's
    #: ``sticky_wait_s`` (a transfer to a named agent; None: the queue's). Kept across
    #: a reload (it is the call's own, not the queue's).
    preferred_wait_s: float | None = None

    def __post_init__(self) -> None:
        check_id("CallQueued.call_id", self.call_id)
        check_optional_id("CallQueued.preferred_agent", self.preferred_agent)
        if self.preferred_wait_s is not None:
            check_seconds("CallQueued.preferred_wait_s", self.preferred_wait_s)
        check_id("CallQueued.queue", self.queue)
        check_str("CallQueued.caller_number", self.caller_number)
        check_int("CallQueued.priority", self.priority)
        check_optional_id("CallQueued.customer_id", self.customer_id)
        if self.entered_at is not None:
            check_time("CallQueued.entered_at", self.entered_at)
        if self.skills is not None:
            object.__setattr__(self, "skills", Levels(self.skills, field="CallQueued.skills"))


@dataclass(frozen=True, slots=True)
class CallLeft:
    """The caller is gone: abandoned if waiting or offered, ended if connected."""

    call_id: str
    reason: LeaveReason = LeaveReason.HANGUP

    def __post_init__(self) -> None:
        check_id("CallLeft.call_id", self.call_id)
        check_enum("CallLeft.reason", self.reason, LeaveReason)


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The conversation of a connected call is over (either side hung up).

    ``counted=False``: the conversation reached nobody (a queued callback's attempt
    whose customer did not answer): the agent goes to wrap-up as after any call, but
    the visit is not an answered call: its queue gives back its offered and answered
    counts, and its talk time is no sample of the estimated wait (``acd.core`` rule 13).
    """

    call_id: str
    counted: bool = True

    def __post_init__(self) -> None:
        check_id("CallEnded.call_id", self.call_id)
        if not isinstance(self.counted, bool):
            raise InvalidValue(f"CallEnded.counted must be a bool; got {self.counted!r}")


@dataclass(frozen=True, slots=True)
class HoldSliceDone:
    """The music-on-hold slice of a ``HoldCaller`` command finished playing."""

    call_id: str

    def __post_init__(self) -> None:
        check_id("HoldSliceDone.call_id", self.call_id)


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    """The agent answered the offered call; the PBX bridged agent and caller."""

    call_id: str
    agent_id: str

    def __post_init__(self) -> None:
        check_id("OfferAnswered.call_id", self.call_id)
        check_id("OfferAnswered.agent_id", self.agent_id)


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """The offer did not connect (no answer, busy, failed)."""

    call_id: str
    agent_id: str
    reason: OfferFailure = OfferFailure.NO_ANSWER

    def __post_init__(self) -> None:
        check_id("OfferFailed.call_id", self.call_id)
        check_id("OfferFailed.agent_id", self.agent_id)
        check_enum("OfferFailed.reason", self.reason, OfferFailure)


@dataclass(frozen=True, slots=True)
class AgentLogin:
    """The agent starts work; LOGGED_OUT -> READY. With ``paused`` (a reason) it is
    PAUSED at once, never offered a call in between: an agent a restarted shell
    restores as it was (a pause of one not yet able to take calls empties no queue,
    rule 10)."""

    agent_id: str
    paused: str | None = None

    def __post_init__(self) -> None:
        check_id("AgentLogin.agent_id", self.agent_id)
        check_optional_id("AgentLogin.paused", self.paused)


@dataclass(frozen=True, slots=True)
class AgentLogout:
    """The agent stops work. Not allowed while ON_CALL."""

    agent_id: str

    def __post_init__(self) -> None:
        check_id("AgentLogout.agent_id", self.agent_id)


@dataclass(frozen=True, slots=True)
class AgentReady:
    """The agent takes calls again (ends a pause, or ends wrap-up early)."""

    agent_id: str

    def __post_init__(self) -> None:
        check_id("AgentReady.agent_id", self.agent_id)


@dataclass(frozen=True, slots=True)
class WrapUpExtend:
    """The agent in wrap-up asks for ``seconds`` more after-call work; the wrap-up's
    end moves that much later, up to its limit (the queue's ``wrap_up_max_s`` from
    the call's end). Raises InvalidTransition outside WRAP_UP, WrapUpLimit when the
    end is at its limit already."""

    agent_id: str
    seconds: float

    def __post_init__(self) -> None:
        check_id("WrapUpExtend.agent_id", self.agent_id)
        check_seconds("WrapUpExtend.seconds", self.seconds, positive=True)


@dataclass(frozen=True, slots=True)
class AgentPause:
    """The agent stops taking calls for ``reason`` (break, training...)."""

    agent_id: str
    reason: str

    def __post_init__(self) -> None:
        check_id("AgentPause.agent_id", self.agent_id)
        check_id("AgentPause.reason", self.reason)


@dataclass(frozen=True, slots=True)
class CallResumed:
    """A call already talking to ``agent_id`` when the controller (re)started.

    Found in a bridge with the agent's leg at a resync (transcript 21): the
    agent is ON_CALL with it at once, whatever state it was restored in, and
    the call ends like any connected call (``CallEnded``/``CallLeft``).
    """

    call_id: str
    queue: str
    agent_id: str
    caller_number: str
    #: when the caller entered the queue and when the agent answered (shell's clock)
    entered_at: float
    connected_at: float

    def __post_init__(self) -> None:
        check_id("CallResumed.call_id", self.call_id)
        check_id("CallResumed.queue", self.queue)
        check_id("CallResumed.agent_id", self.agent_id)
        check_str("CallResumed.caller_number", self.caller_number)
        check_time("CallResumed.entered_at", self.entered_at)
        check_time("CallResumed.connected_at", self.connected_at)


@dataclass(frozen=True, slots=True)
class CallParked:
    """The call's PBX is out of reach (the shell lost its link to that node): while
    ``parked``, a WAITING call keeps its entry, priority, max-wait deadline and place in
    the figures but is offered to no agent; unparked, it is routed again as a call that
    just became WAITING (``acd.core`` rule 15). Either way again changes nothing."""

    call_id: str
    parked: bool

    def __post_init__(self) -> None:
        check_id("CallParked.call_id", self.call_id)
        if not isinstance(self.parked, bool):
            raise InvalidValue(f"CallParked.parked must be a bool; got {self.parked!r}")


@dataclass(frozen=True, slots=True)
class MoveCall:
    """A supervisor moves a WAITING call: to another ``queue`` (its entry time, so its
    wait, kept), to a new base ``priority``, and/or to ``position`` in its queue's line
    (1: the front). At least one is given; None leaves that as it is (``Acd`` rule 11).
    """

    call_id: str
    queue: str | None = None
    priority: int | None = None
    position: int | None = None

    def __post_init__(self) -> None:
        check_id("MoveCall.call_id", self.call_id)
        check_optional_id("MoveCall.queue", self.queue)
        if self.priority is not None:
            check_int("MoveCall.priority", self.priority)
        if self.position is not None:
            check_int("MoveCall.position", self.position, minimum=1)
        if self.queue is None and self.priority is None and self.position is None:
            raise InvalidValue("MoveCall: give a queue, a priority or a position")


@dataclass(frozen=True, slots=True)
class TimeoutDropped:
    """The shell keeps no ``timeout`` outcome for the call's visit to ``queue`` that the
    core just ended with ``TIMEOUT``: it sent the call on to another queue (overflow), or
    a queued callback ends ``failed``. The queue gives back its offered and timed-out
    counts: the call counts once, as ``docs/kpis.md`` counts it (``acd.core`` rule 13)."""

    call_id: str
    queue: str

    def __post_init__(self) -> None:
        check_id("TimeoutDropped.call_id", self.call_id)
        check_id("TimeoutDropped.queue", self.queue)


@dataclass(frozen=True, slots=True)
class ConsultStarted:
    """The agent talking to ``call_id`` consults ``agent_id`` before an attended
    transfer: that agent, READY, is rung for the call (OFFERED, reason ``consult``) and
    is offered nothing else until ``ConsultEnded`` (``acd.core`` rule 14)."""

    call_id: str
    agent_id: str

    def __post_init__(self) -> None:
        check_id("ConsultStarted.call_id", self.call_id)
        check_id("ConsultStarted.agent_id", self.agent_id)


@dataclass(frozen=True, slots=True)
class ConsultEnded:
    """The consultation of ``agent_id`` about ``call_id`` is over: cancelled (``failure``
    None, not ``transferred``: READY again, its idle place kept), failed (``failure``: the
    offer failure rules, agent rule 4), or ``transferred``: the first agent's visit ends as
    after any call (wrap-up, the visit's one outcome) and ``agent_id`` talks to the call
    from now on (ON_CALL; the call is CONNECTED to it, as a ``CallResumed`` one is)."""

    call_id: str
    agent_id: str
    failure: OfferFailure | None = None
    transferred: bool = False

    def __post_init__(self) -> None:
        check_id("ConsultEnded.call_id", self.call_id)
        check_id("ConsultEnded.agent_id", self.agent_id)
        if self.failure is not None:
            check_enum("ConsultEnded.failure", self.failure, OfferFailure)
        if not isinstance(self.transferred, bool):
            raise InvalidValue(f"ConsultEnded.transferred must be a bool; got {self.transferred!r}")
        if self.transferred and self.failure is not None:
            raise InvalidValue("ConsultEnded: a failed consultation transfers nothing")


Event = (
    CallQueued
    | ConsultStarted
    | ConsultEnded
    | CallResumed
    | CallLeft
    | CallEnded
    | HoldSliceDone
    | OfferAnswered
    | OfferFailed
    | AgentLogin
    | AgentLogout
    | AgentReady
    | AgentPause
    | WrapUpExtend
    | MoveCall
    | TimeoutDropped
    | CallParked
)
