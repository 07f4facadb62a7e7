"""The call's life as one pure core: :class:`CallFlow` (see :mod:`.core` for its rules)."""

from .call import Call, LiveRecording, Offer, Purpose, Where
from .core import PAGE_STATE, CallFlow
from .state import TRANSITIONS, FlowError, Stage, Step

__all__ = [
    "PAGE_STATE",
    "TRANSITIONS",
    "Call",
    "CallFlow",
    "FlowError",
    "Offer",
    "Purpose",
    "LiveRecording",
    "Stage",
    "Step",
    "Where",
]
