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
    #: a supervisor moves it (another queue, priority, place in line: ``acd.core`` rule 11)
    MOVE = "move"


_S = CallState
_I = CallInput

CALL_TRANSITIONS: dict[tuple[CallState, CallInput], CallState] = {
    (_S.WAITING, _I.OFFER): _S.OFFERED,
    (_S.WAITING, _I.LEAVE): _S.ENDED,
    (_S.WAITING, _I.MAX_WAIT): _S.ENDED,
    (_S.WAITING, _I.HOLD_DONE): _S.WAITING,
    (_S.WAITING, _I.MOVE): _S.WAITING,
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

_NO_SKILLS = Levels()


@dataclass(slots=True, init=False)
class Call:
    """The core's mutable record of one call in a queue.

    What a routing decision reads comes first, so it shares the object's first
    cache lines (a decision finds the call cold); the rest follows."""

    state: CallState
    #: its queue's live parts (``acd.queue``), set by the core as it takes the call in
    queued_in: Queue = field(repr=False, compare=False)
    #: the agent the call is offered to or connected with (None while ring-all rings),
    #: and its record (set with it by the core)
    agent: Agent | None = field(repr=False, compare=False)
    call_id: str
    priority: int
    entered_at: float
    #: its place in line (``acd.line`` rule 1): the priority and entry it is ranked by,
    #: and a tie-break before ``seq``; ``priority``, ``entered_at`` and 0.0 unless a
    #: supervisor placed it (``Acd`` rule 11: it then ranks as the call it was put before)
    rank: float
    since: float
    nudge: float
    #: arrival order in the core: the last tie-break of the line
    seq: int
    agent_id: str | None
    #: in its queue's line (WAITING, and not just about to be offered)
    lined: bool
    #: its key in that line, set when it is added (``acd.line``)
    place: tuple[float, float, float, int]
    #: what the call requires now as bits (``acd.skills.SkillBits``: the line's key of
    #: its class), and as (skill, level) pairs
    bits: int
    max_wait_at: float | None
    #: the agent whose offer of this call last failed, and when
    last_agent: str | None
    connected_at: float | None
    #: the number of its offer's live timeout (``acd.timers.Deadlines.hold``), 0: none
    timer: int
    queue: str
    caller_number: str
    customer_id: str | None
    needs: Requirement
    failed_at: float | None
    #: ring-all: the agents whose phones ring with this call now, in offer order
    ringing: list[str]
    #: the skills the call requires before any relaxation
    skills: Mapping[str, int]
    #: the call brought its own skills (``CallQueued.skills``), kept across a reload
    own_skills: bool
    #: the snapshot's view of a connected call (fixed until it ends; None: to build)
    view: object | None
    #: sticky agent: while set, the WAITING call is held for this agent alone
    #: (``Router.held``, not its queue's line) until its STICKY deadline
    preferred: str | None
    #: how long it is held for ``preferred`` (``CallQueued.preferred_wait_s``: a
    #: transfer to a named agent); None: its queue's ``sticky_wait_s``
    prefer_wait: float | None
    #: its PBX is out of reach (``CallParked``): offered to no one, out of its line
    parked: bool

    def __init__(
        self,
        call_id: str,
        queue: str,
        caller_number: str,
        priority: int,
        customer_id: str | None,
        entered_at: float,
        seq: int,
        *,
        state: CallState = CallState.WAITING,
        agent_id: str | None = None,
        agent: Agent | None = None,
        connected_at: float | None = None,
        skills: Mapping[str, int] = _NO_SKILLS,
        own_skills: bool = False,
    ) -> None:
        self.state = state
        self.agent = agent
        self.call_id = call_id
        self.priority = priority
        self.entered_at = entered_at
        self.rank = priority
        self.since = entered_at
        self.nudge = 0.0
        self.seq = seq
        self.agent_id = agent_id
        self.lined = False
        self.place = (0.0, 0.0, 0.0, 0)
        self.bits = 0
        self.max_wait_at = None
        self.last_agent = None
        self.connected_at = connected_at
        self.timer = 0
        self.queue = queue
        self.caller_number = caller_number
        self.customer_id = customer_id
        self.needs = ()
        self.failed_at = None
        self.ringing = []
        self.skills = skills
        self.own_skills = own_skills
        self.view = None
        self.preferred = None
        self.prefer_wait = None
        self.parked = False
