"""ACD: queues, agents, routing; a pure core (events and now in, commands out).

    acd = Acd(AcdConfig(queues=(QueueConfig("support"),), agents=(...)))
    commands = acd.handle(CallQueued("c1", "support", "+3210"), now)
    deadline = acd.next_timer()        # arm loop.call_at(deadline, ...)
    commands = acd.on_timer(now)

No asyncio, socket, database, clock or randomness inside; see ``acd.core``.
"""

from .agent import AGENT_TRANSITIONS, AgentInput, AgentState
from .call import CALL_TRANSITIONS, CallInput, CallState
from .commands import (
    AgentStateChanged,
    CallConnected,
    CallOutcome,
    CancelOffer,
    Command,
    HoldCaller,
    OfferCall,
    Outcome,
    OverflowCall,
)
from .config import AcdConfig, AgentConfig, QueueConfig
from .core import Acd
from .errors import (
    AcdError,
    DuplicateCall,
    InvalidTransition,
    InvalidValue,
    UnknownAgent,
    UnknownQueue,
)
from .events import (
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    CallEnded,
    CallLeft,
    CallQueued,
    CallResumed,
    Event,
    HoldSliceDone,
    LeaveReason,
    OfferAnswered,
    OfferFailed,
    OfferFailure,
)
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
    "CallLeft",
    "CallOutcome",
    "CallQueued",
    "CallResumed",
    "CallState",
    "CallView",
    "CancelOffer",
    "Command",
    "DuplicateCall",
    "Event",
    "HoldCaller",
    "HoldSliceDone",
    "InvalidTransition",
    "InvalidValue",
    "LeaveReason",
    "OfferAnswered",
    "OfferCall",
    "OfferFailed",
    "OfferFailure",
    "Outcome",
    "OverflowCall",
    "QueueConfig",
    "QueueStats",
    "UnknownAgent",
    "UnknownQueue",
]
