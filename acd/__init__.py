"""ACD: queues, agents, routing; a pure core (events and now in, commands out).

    acd = Acd(AcdConfig(queues=(QueueConfig("support"),), agents=(...)))
    commands = acd.handle(CallQueued("c1", "support", "+3210"), now)
    deadline = acd.next_timer()        # arm loop.call_at(deadline, ...)
    commands = acd.on_timer(now)
    commands = acd.reconfigure(new_config, now)      # live: queues, strategies, skills
    board = acd.snapshot(now, queues=("support",))  # costs what it shows

Per queue (``QueueConfig``): a strategy (``Strategy``: longest-idle, round-robin,
round-robin-ordered, fewest-calls, least-talk-time, linear, random,
weighted-random, best-skill-match, ring-all), required skills with levels 1..5 relaxed
by wait (``RelaxStep``), priority aging, max wait, wrap-up. Per agent
(``AgentConfig``): queues with penalties and weights, skills. Per failure kind
(``AcdConfig.pause_after``): auto-pause limits and reasons. Modules:
``acd.line`` (waiting calls), ``acd.ready`` (READY agents), ``acd.routing``
(who gets what), ``acd.stats`` (figures kept up to date), ``acd.skills``,
``acd.erlang`` (Erlang B and C: staffing, predicted waits).

No asyncio, socket, database or clock inside, and no randomness but a seeded
generator (``AcdConfig.seed``); see ``acd.core`` and ``acd.routing``.
"""

from .agent import AGENT_TRANSITIONS, AgentInput, AgentState
from .call import CALL_TRANSITIONS, CallInput, CallState
from .commands import (
    AgentStateChanged,
    CallConnected,
    CallMoved,
    CallOutcome,
    CancelOffer,
    Command,
    HoldCaller,
    OfferCall,
    Outcome,
    OverflowCall,
    PauseEnded,
    WrapUpExtended,
)
from .config import DEFAULT_PAUSE_REASONS, AcdConfig, AgentConfig, QueueConfig, Strategy
from .core import Acd
from .errors import (
    AcdError,
    CallNotWaiting,
    DuplicateCall,
    InvalidTransition,
    InvalidValue,
    PastMaxWait,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
    WrapUpLimit,
)
from .events import (
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    CallEnded,
    CallLeft,
    CallParked,
    CallQueued,
    CallResumed,
    ConsultEnded,
    ConsultStarted,
    Event,
    HoldSliceDone,
    LeaveReason,
    MoveCall,
    OfferAnswered,
    OfferFailed,
    OfferFailure,
    TimeoutDropped,
    WrapUpExtend,
)
from .skills import MAX_LEVEL, Levels, RelaxStep
from .snapshot import AcdSnapshot, AgentView, CallView
from .stats import QueueStats

__all__ = [
    "AGENT_TRANSITIONS",
    "Acd",
    "AcdConfig",
    "AcdError",
    "AcdSnapshot",
    "AgentConfig",
    "AgentInput",
    "AgentLogin",
    "AgentLogout",
    "AgentPause",
    "AgentReady",
    "AgentState",
    "AgentStateChanged",
    "AgentView",
    "CALL_TRANSITIONS",
    "CallConnected",
    "CallEnded",
    "CallInput",
    "CallMoved",
    "CallNotWaiting",
    "CallLeft",
    "CallParked",
    "CallOutcome",
    "CallQueued",
    "CallResumed",
    "CallState",
    "CallView",
    "ConsultEnded",
    "ConsultStarted",
    "CancelOffer",
    "Command",
    "DEFAULT_PAUSE_REASONS",
    "DuplicateCall",
    "Event",
    "HoldCaller",
    "HoldSliceDone",
    "InvalidTransition",
    "InvalidValue",
    "LeaveReason",
    "Levels",
    "MAX_LEVEL",
    "MoveCall",
    "TimeoutDropped",
    "OfferAnswered",
    "OfferCall",
    "OfferFailed",
    "OfferFailure",
    "Outcome",
    "OverflowCall",
    "PastMaxWait",
    "PauseEnded",
    "QueueConfig",
    "QueueStats",
    "RelaxStep",
    "Strategy",
    "UnknownAgent",
    "UnknownCall",
    "UnknownQueue",
    "WrapUpExtend",
    "WrapUpExtended",
    "WrapUpLimit",
]
