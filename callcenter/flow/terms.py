"""The call-flow core's terms: its limits, the agent legs' id pattern, the CRM tiers'
shape, the pages' names for agent states and the small rules every part of the core
shares (the outcome of a call that ends outside the ACD, an agent id as SQL's)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import acd
from acd import Outcome

from .inputs import OfferResult
from .state import Stage

#: how often one AGI command is sent before the core gives up on it
MAX_AGI_TRIES = 6
#: how many closed call ids the core remembers (a dead run's open calls read at start)
CLOSED_KEPT = 100_000
#: a call with AGI work waits this long for AsyncAGIStart, then tries anyway
AGI_REENTRY_S = 4.0
#: agent legs we originate: ``hl-<run>-<agent>-<n>``; the agent is read back at a resync
LEG_ID = re.compile(r"^hl-(?P<run>[0-9a-z]+)-(?P<agent>[^-]+)-(?P<n>\d+)$")

#: CRM tier -> (base priority, skills required besides the queue's) of its callers
Tiers = Mapping[str, tuple[int, Mapping[str, int]]]
#: the tiers when none are given: VIP customers first (``acd.tiers`` in the config)
DEFAULT_TIERS: Tiers = {"vip": (1, {})}

#: the pages' names for the ACD's agent states
PAGE_STATE = {
    acd.AgentState.READY: "ready",
    acd.AgentState.OFFERED: "ringing",
    acd.AgentState.ON_CALL: "talking",
    acd.AgentState.WRAP_UP: "wrapup",
    acd.AgentState.PAUSED: "paused",
    acd.AgentState.LOGGED_OUT: "offline",
}

OFFER_FAILURES = {
    OfferResult.NO_ANSWER: acd.OfferFailure.NO_ANSWER,
    OfferResult.BUSY: acd.OfferFailure.BUSY,
    OfferResult.UNREACHABLE: acd.OfferFailure.UNREACHABLE,
    OfferResult.FAILED: acd.OfferFailure.FAILED,
}


def unqueued_outcome(stage: Stage, queue: str | None, lost: bool) -> Outcome:
    """The outcome of a call that ends outside the ACD, from the stage it was in."""
    if stage is Stage.AFTER_CALL or stage is Stage.TALKING:
        return Outcome.ANSWERED
    if lost:
        return Outcome.LOST
    return Outcome.IVR_HANGUP if queue is None else Outcome.ABANDONED


def int_id(agent_id: str | None) -> int | None:
    return int(agent_id) if agent_id is not None and agent_id.isdigit() else None
