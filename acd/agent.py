"""The agent state machine.

Rules:
1. ``AGENT_TRANSITIONS`` is the whole machine: an (state, input) pair that is
   not in it raises InvalidTransition and changes nothing.
2. Only a READY agent is offered a call, and an agent holds at most one call
   (offered or on call).
3. ``idle_since`` is set when the agent becomes READY from anything but
   OFFERED (login, end of pause, end of wrap-up); a failed offer leaves it
   unchanged, so the agent keeps its place in the longest-idle order.
4. ``rna_count`` counts consecutive failed offers of any kind and ``fails``
   those of each kind (no-answer and no-report are one kind); an answer, a
   login or a READY after a pause resets them. A kind reaching its limit
   (``AcdConfig.pause_limit``) takes input RNA_LIMIT instead of OFFER_FAILED
   (-> PAUSED with that kind's reason: "ring-no-answer", "device-busy",
   "device-unreachable", "offer-failed"); unreachable pauses at once by default.
5. ON_CALL only ends with the call: no pause or logout in the middle of it.
6. A wrap-up ends at ``wrap_up_until``; the agent may move it later (input
   EXTEND_WRAP_UP, the state stays WRAP_UP) up to ``wrap_up_limit`` (the call's
   end + the queue's ``wrap_up_max_s``), or end it early (READY).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .config import AgentConfig
from .events import OfferFailure


class AgentState(Enum):
    """Where an agent is in the working day."""

    # members are singletons compared by identity: hash them by identity too
    # (C speed; Enum.__hash__ hashes the name in Python on every dict lookup)
    __hash__ = object.__hash__

    #: not working; never offered a call
    LOGGED_OUT = "logged_out"
    #: idle and waiting for a call; routable
    READY = "ready"
    #: the agent's phone is ringing with one call
    OFFERED = "offered"
    #: talking to a caller
    ON_CALL = "on_call"
    #: after-call work; READY again when the queue's ``wrap_up_s`` elapses
    WRAP_UP = "wrap_up"
    #: logged in but not taking calls (break, ring-no-answer...)
    PAUSED = "paused"


class AgentInput(Enum):
    """What can happen to an agent."""

    # members are singletons compared by identity: hash them by identity too
    # (C speed; Enum.__hash__ hashes the name in Python on every dict lookup)
    __hash__ = object.__hash__

    #: the agent logs in
    LOGIN = "login"
    #: the agent logs out
    LOGOUT = "logout"
    #: the agent asks for calls
    READY = "ready"
    #: the agent (or a supervisor) pauses
    PAUSE = "pause"
    #: the core offers a call
    OFFER = "offer"
    #: the agent answered the offer
    ANSWER = "answer"
    #: the offer failed, below the ring-no-answer limit
    OFFER_FAILED = "offer_failed"
    #: the offer failed and the ring-no-answer limit is reached
    RNA_LIMIT = "rna_limit"
    #: the caller left while the agent was ringing
    OFFER_CANCELLED = "offer_cancelled"
    #: the conversation ended
    CALL_ENDED = "call_ended"
    #: the wrap-up time is over
    WRAP_UP_ELAPSED = "wrap_up_elapsed"
    #: found talking with a call at a resync (``CallResumed``)
    RESUME_CALL = "resume_call"
    #: the agent asks for more after-call work (``WrapUpExtend``)
    EXTEND_WRAP_UP = "extend_wrap_up"


_S = AgentState
_I = AgentInput

AGENT_TRANSITIONS: dict[tuple[AgentState, AgentInput], AgentState] = {
    (_S.LOGGED_OUT, _I.LOGIN): _S.READY,
    (_S.READY, _I.READY): _S.READY,
    (_S.READY, _I.PAUSE): _S.PAUSED,
    (_S.READY, _I.LOGOUT): _S.LOGGED_OUT,
    (_S.READY, _I.OFFER): _S.OFFERED,
    (_S.OFFERED, _I.ANSWER): _S.ON_CALL,
    (_S.OFFERED, _I.OFFER_FAILED): _S.READY,
    (_S.OFFERED, _I.RNA_LIMIT): _S.PAUSED,
    (_S.OFFERED, _I.OFFER_CANCELLED): _S.READY,
    (_S.OFFERED, _I.PAUSE): _S.PAUSED,
    (_S.OFFERED, _I.LOGOUT): _S.LOGGED_OUT,
    (_S.ON_CALL, _I.CALL_ENDED): _S.WRAP_UP,
    (_S.WRAP_UP, _I.WRAP_UP_ELAPSED): _S.READY,
    (_S.WRAP_UP, _I.EXTEND_WRAP_UP): _S.WRAP_UP,
    (_S.WRAP_UP, _I.READY): _S.READY,
    (_S.WRAP_UP, _I.PAUSE): _S.PAUSED,
    (_S.WRAP_UP, _I.LOGOUT): _S.LOGGED_OUT,
    (_S.PAUSED, _I.READY): _S.READY,
    (_S.PAUSED, _I.PAUSE): _S.PAUSED,
    (_S.PAUSED, _I.LOGOUT): _S.LOGGED_OUT,
    (_S.LOGGED_OUT, _I.RESUME_CALL): _S.ON_CALL,
    (_S.READY, _I.RESUME_CALL): _S.ON_CALL,
    (_S.PAUSED, _I.RESUME_CALL): _S.ON_CALL,
    (_S.WRAP_UP, _I.RESUME_CALL): _S.ON_CALL,
}


@dataclass(slots=True)
class Agent:
    """The core's mutable record of one agent (read it through ``Acd.snapshot``).

    The fields a routing decision reads come first, so they share the object's
    first cache lines (a decision finds the agent cold)."""

    config: AgentConfig
    #: position in the configuration: the last tie-break of longest-idle routing
    order: int
    #: ``config.agent_id`` and ``config.device``, copied: read on every step and
    #: offer (a reload keeps an agent's id and copies its device again)
    agent_id: str = field(init=False)
    device: str = field(init=False)
    state: AgentState = AgentState.LOGGED_OUT
    call_id: str | None = None
    #: the snapshot's view of the agent while nothing changed (None: to rebuild)
    view: object | None = None
    #: in the READY indexes of its queues (READY, and not just about to be offered)
    indexed: bool = False
    #: in its board's ``changed`` list (``acd.board``)
    recount_due: bool = False
    idle_since: float | None = None
    #: when ``state`` (or the pause reason) last changed
    since: float = 0.0
    reason: str = ""
    #: routing's own copies, for speed: skills as a plain dict; each queue
    #: served's number in the router (``Router.call_for``), and its way into that
    #: queue's READY index (``ReadyAgents.slot``); each queue's agents-by-state counts
    skills: dict[str, int] = field(default_factory=dict)
    #: its skills as bits (``acd.skills.SkillBits``)
    skill_bits: int = 0
    lines: array[int] = field(default_factory=lambda: array("I"))
    #: calls answered and seconds talked, per queue (fewest-calls, least-talk-time)
    talk_s: dict[str, float] = field(default_factory=dict)
    answered: dict[str, int] = field(default_factory=dict)
    slots: list[tuple[Any, ...]] = field(default_factory=list)
    #: its entry in each of those indexes while indexed, by slot (``acd.ready``)
    entries: list[tuple[Any, ...]] = field(default_factory=list)
    counts: list[dict[AgentState, int]] = field(default_factory=list)
    #: the state its queues' agents-by-state counts hold for it (brought up to
    #: date when they are read, so a burst of changes is counted once)
    counted: AgentState = AgentState.LOGGED_OUT
    rna_count: int = 0
    #: consecutive failed offers per kind since the last answer, login or pause end
    fails: dict[OfferFailure, int] = field(default_factory=dict)
    #: login count in the core: round-robin's rotation order
    login_seq: int = 0
    #: seconds paused per reason, closed pauses only
    paused_s: dict[str, float] = field(default_factory=dict)
    #: while WRAP_UP with a timer: when it ends, and the latest an extension may reach
    wrap_up_until: float = 0.0
    wrap_up_limit: float = 0.0

    def __post_init__(self) -> None:
        self.agent_id = self.config.agent_id
        self.device = self.config.device
