"""The state machine of one call's visit to a queue.

Rules:
1. ``CALL_TRANSITIONS`` is the whole machine: a missing (state, input) pair
   raises InvalidTransition and changes nothing.
2. A call is offered to at most one agent at a time (``Call.agent_id``), but
   in a ring-all queue, where it rings several at once (``Call.ringing``): it
   stays OFFERED until one answers or every leg has failed.
3. A failed offer puts the call back to WAITING with its original
   ``entered_at`` and priority, so it keeps its place at the head of the line;
   ``last_agent`` remembers who failed it.
4. ENDED is terminal: the core drops the call and emits its one CallOutcome.
5. ``max_wait_s`` does not interrupt a ringing offer: in OFFERED the deadline
   is deferred, and the call times out if that offer fails.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from .skills import Levels, Requirement

if TYPE_CHECKING:
    from .agent import Agent
    from .queue import Queue


class CallState(Enum):
    """Where a call is in its visit to a queue."""

    # members are singletons compared by identity: hash them by identity too
    # (C speed; Enum.__hash__ hashes the name in Python on every dict lookup)
    __hash__ = object.__hash__

    #: in line, hearing music, not offered to anyone
    WAITING = "waiting"
    #: one agent's phone is ringing with this call
    OFFERED = "offered"
    #: bridged to an agent
    CONNECTED = "connected"
    #: gone from the queue (answered and over, abandoned, or timed out)
    ENDED = "ended"


class CallInput(Enum):
    """What can happen to a queued call."""

    # members are singletons compared by identity: hash them by identity too
    # (C speed; Enum.__hash__ hashes the name in Python on every dict lookup)
    __hash__ = object.__hash__

    #: the core offers the call to an agent
    OFFER = "offer"
    #: the agent answered
    ANSWER = "answer"
    #: the offer failed or was withdrawn (agent paused or logged out)
    OFFER_FAILED = "offer_failed"
    #: the caller left
    LEAVE = "leave"
    #: the conversation ended
    END = "end"
    #: the queue's ``max_wait_s`` elapsed
    MAX_WAIT = "max_wait"
    #: a music-on-hold slice finished
    HOLD_DONE = "hold_done"


_S = CallState
_I = CallInput

CALL_TRANSITIONS: dict[tuple[CallState, CallInput], CallState] = {
    (_S.WAITING, _I.OFFER): _S.OFFERED,
    (_S.WAITING, _I.LEAVE): _S.ENDED,
    (_S.WAITING, _I.MAX_WAIT): _S.ENDED,
    (_S.WAITING, _I.HOLD_DONE): _S.WAITING,
    (_S.OFFERED, _I.ANSWER): _S.CONNECTED,
    (_S.OFFERED, _I.OFFER_FAILED): _S.WAITING,
    (_S.OFFERED, _I.LEAVE): _S.ENDED,
    (_S.OFFERED, _I.MAX_WAIT): _S.OFFERED,
    (_S.OFFERED, _I.HOLD_DONE): _S.OFFERED,
    (_S.CONNECTED, _I.END): _S.ENDED,
    (_S.CONNECTED, _I.LEAVE): _S.ENDED,
    (_S.CONNECTED, _I.HOLD_DONE): _S.CONNECTED,
}

#: states of a call still in line (not yet answered)
UNANSWERED = frozenset({CallState.WAITING, CallState.OFFERED})


@dataclass(slots=True)
class Call:
    """The core's mutable record of one call in a queue."""

    call_id: str
    queue: str
    caller_number: str
    priority: int
    customer_id: str | None
    entered_at: float
    #: arrival order in the core: the last tie-break of the line
    seq: int
    # what a routing decision reads comes first (a decision finds the call cold)
    state: CallState = CallState.WAITING
    #: the agent the call is offered to or connected with (None while ring-all rings),
    #: and its record (set with it by the core)
    agent_id: str | None = None
    agent: Agent | None = field(default=None, repr=False, compare=False)
    #: its queue's live parts (``acd.queue``), set by the core as it takes the call in
    queued_in: Queue = field(init=False, repr=False, compare=False)
    #: in its queue's line (WAITING, and not just about to be offered)
    lined: bool = False
    #: its key in that line, set when it is added (``acd.line``)
    place: tuple[float, float, int] = (0.0, 0.0, 0)
    #: what the call requires now (its skill class in the line), and as bits
    #: (``acd.skills.SkillBits``: the line's key of the class)
    needs: Requirement = ()
    bits: int = 0
    connected_at: float | None = None
    max_wait_at: float | None = None
    #: the agent whose offer of this call last failed, and when
    last_agent: str | None = None
    failed_at: float | None = None
    #: ring-all: the agents whose phones ring with this call now, in offer order
    ringing: list[str] = field(default_factory=list)
    #: the skills the call requires before any relaxation
    skills: Mapping[str, int] = field(default_factory=Levels)
    #: the call brought its own skills (``CallQueued.skills``), kept across a reload
    own_skills: bool = False
    #: the number of its offer's live timeout (``acd.timers.Deadlines.hold``), 0: none
    timer: int = 0
    #: the snapshot's view of a connected call (fixed until it ends; None: to build)
    view: object | None = None
