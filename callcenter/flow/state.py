"""A call's stages and the table of how it moves between them.

Rules:

1. A call's stage changes only through :data:`TRANSITIONS`; a (stage, step)
   pair missing from it raises :class:`FlowError`, which names both.
2. ``ENDED`` is final: nothing leaves it.
3. A call goes forward, never back to ``IVR`` but when it overflows to an IVR
   node (``OVERFLOW_IVR``); ``OFFERED`` returns to ``HOLDING`` when the agent's
   phone does not answer or the call overflows to another queue (``REQUEUE``),
   ``VISITING`` (a caller its agent sent to an IVR node mid-call) returns to
   ``TALKING``, and ``TALKING`` returns to ``HOLDING`` when its agent transfers the
   caller to a queue (``TRANSFER``).
"""

from __future__ import annotations

from enum import Enum


class Stage(Enum):
    """Where a call is in its life."""

    #: found parked after a restart; waiting for what SQL knows of it
    ADOPTING = "adopting"
    #: in the IVR menus (AsyncAGI), the IVR session drives it
    IVR = "ivr"
    #: waiting in an ACD queue: music in ``WAIT FOR DIGIT`` slices (15, 22)
    HOLDING = "holding"
    #: still holding, while an agent's phone rings for it
    OFFERED = "offered"
    #: bridged with an agent, recorded
    TALKING = "talking"
    #: sent by its agent to an IVR node mid-call (a card number); the agent waits on hold
    VISITING = "visiting"
    #: the agent left; ``Bridge``'s ``F()`` sent the caller to the after-call context (03)
    AFTER_CALL = "after_call"
    #: a virtual caller: the caller asked to be called back and hung up; its place in
    #: line is kept (``.callback``)
    CALLBACK = "callback"
    #: a callback whose agent answered: the whisper, then the customer's phone rings
    DIALING = "dialing"
    #: the caller's channel is gone
    ENDED = "ended"


class Step(Enum):
    """What moves a call from one stage to another."""

    #: SQL had no queue visit for an adopted caller: the IVR starts again
    RESUME_IVR = "resume_ivr"
    #: back in its queue at its old place (an adopted caller, or the IVR's choice)
    QUEUE = "queue"
    #: found in a bridge with an agent at a resync
    FOUND_TALKING = "found_talking"
    #: found in AsyncAGI at a resync while its agent leg waits in the agent-wait context
    #: (a restart during an IVR visit): bridged back with that agent
    FOUND_VISITING = "found_visiting"
    #: the ACD offered the call to an agent
    OFFER = "offer"
    #: the offer failed or was withdrawn
    OFFER_OVER = "offer_over"
    #: the agent answered (the ACD connected the call)
    CONNECT = "connect"
    #: the agent left the bridge
    AGENT_LEFT = "agent_left"
    #: the agent (or a supervisor) sent the caller to an IVR node mid-call
    VISIT = "visit"
    #: back from that IVR visit: the caller entered the agent's bridge again
    REJOIN = "rejoin"
    #: the queue's longest wait passed: the call leaves the queue
    OVERFLOW = "overflow"
    #: it overflowed to another queue (its wait kept)
    REQUEUE = "requeue"
    #: it overflowed to an IVR node (a voicemail, a callback request, any node)
    OVERFLOW_IVR = "overflow_ivr"
    #: the caller confirmed a callback: it keeps its place as a virtual caller
    CALLBACK_CONFIRMED = "callback_confirmed"
    #: the customer answered the callback's call: bridged with the agent
    CUSTOMER_ANSWERED = "customer_answered"
    #: the callback's attempt reached nobody (or lost its agent): back in line
    CALLBACK_RETRY = "callback_retry"
    #: the callback failed for good (its last attempt, or its queue timed it out)
    CALLBACK_END = "callback_end"
    #: its agent handed the talking caller on to a queue (a blind transfer)
    TRANSFER = "transfer"
    #: the caller's channel is gone
    HANG_UP = "hang_up"


S, T = Stage, Step

#: (stage, step) -> next stage
TRANSITIONS: dict[tuple[Stage, Step], Stage] = {
    (S.ADOPTING, T.RESUME_IVR): S.IVR,
    (S.ADOPTING, T.QUEUE): S.HOLDING,
    (S.ADOPTING, T.FOUND_TALKING): S.TALKING,
    (S.ADOPTING, T.FOUND_VISITING): S.VISITING,
    (S.ADOPTING, T.HANG_UP): S.ENDED,
    (S.IVR, T.QUEUE): S.HOLDING,
    (S.IVR, T.FOUND_TALKING): S.TALKING,
    (S.IVR, T.HANG_UP): S.ENDED,
    (S.HOLDING, T.OFFER): S.OFFERED,
    (S.HOLDING, T.FOUND_TALKING): S.TALKING,
    (S.HOLDING, T.OVERFLOW): S.AFTER_CALL,
    (S.HOLDING, T.REQUEUE): S.HOLDING,
    (S.HOLDING, T.OVERFLOW_IVR): S.IVR,
    (S.HOLDING, T.HANG_UP): S.ENDED,
    (S.OFFERED, T.OFFER_OVER): S.HOLDING,
    (S.OFFERED, T.CONNECT): S.TALKING,
    (S.OFFERED, T.FOUND_TALKING): S.TALKING,
    (S.OFFERED, T.OVERFLOW): S.AFTER_CALL,
    (S.OFFERED, T.REQUEUE): S.HOLDING,
    (S.OFFERED, T.OVERFLOW_IVR): S.IVR,
    (S.OFFERED, T.HANG_UP): S.ENDED,
    (S.TALKING, T.AGENT_LEFT): S.AFTER_CALL,
    (S.TALKING, T.HANG_UP): S.ENDED,
    (S.TALKING, T.VISIT): S.VISITING,
    (S.TALKING, T.TRANSFER): S.HOLDING,
    (S.VISITING, T.REJOIN): S.TALKING,
    (S.VISITING, T.AGENT_LEFT): S.AFTER_CALL,
    (S.VISITING, T.HANG_UP): S.ENDED,
    (S.AFTER_CALL, T.HANG_UP): S.ENDED,
    (S.HOLDING, T.CALLBACK_CONFIRMED): S.CALLBACK,
    (S.IVR, T.CALLBACK_CONFIRMED): S.CALLBACK,
    (S.CALLBACK, T.CONNECT): S.DIALING,
    (S.CALLBACK, T.CALLBACK_END): S.ENDED,
    (S.DIALING, T.CUSTOMER_ANSWERED): S.TALKING,
    (S.DIALING, T.CALLBACK_RETRY): S.CALLBACK,
    (S.DIALING, T.CALLBACK_END): S.ENDED,
}


class FlowError(Exception):
    """A step that the call's stage does not allow (a bug, never the caller's fault)."""

    def __init__(self, call_id: str, stage: Stage, step: Step) -> None:
        super().__init__(f"call {call_id}: no transition from {stage.name} on {step.name}")
        self.call_id = call_id
        self.stage = stage
        self.step = step


def next_stage(call_id: str, stage: Stage, step: Step) -> Stage:
    """The stage ``step`` leads to from ``stage``; :class:`FlowError` if none."""
    try:
        return TRANSITIONS[(stage, step)]
    except KeyError:
        raise FlowError(call_id, stage, step) from None
