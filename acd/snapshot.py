"""Read-only views of the core for wallboards, agent desktops and tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .agent import Agent, AgentState
from .call import UNANSWERED, Call, CallState
from .line import line_key
from .stats import QueueStats


@dataclass(frozen=True, slots=True)
class AgentView:
    """One agent as seen at the snapshot's time."""

    agent_id: str
    name: str
    state: AgentState
    #: when the state (or pause reason) last changed
    since: float
    reason: str
    #: seconds READY so far in this idle period (None unless READY or OFFERED)
    idle_s: float | None
    call_id: str | None
    rna_count: int
    queues: tuple[str, ...]
    #: WRAP_UP with a timer: when it ends and the latest an extension may reach
    #: (shell's clock); None otherwise
    wrap_up_until: float | None = None
    wrap_up_limit: float | None = None


@dataclass(frozen=True, slots=True)
class CallView:
    """One call in a queue as seen at the snapshot's time."""

    call_id: str
    queue: str
    state: CallState
    priority: int
    caller_number: str
    customer_id: str | None
    wait_s: float
    #: 1-based place in its queue's line among unanswered calls (None once connected)
    position: int | None
    agent_id: str | None
    #: the estimated wait still ahead (``acd.ewt``; None once offered or connected,
    #: or when the queue has no estimate), and its input beside the queue's: how
    #: many WAITING calls are before it in line
    ewt_s: float | None = None
    ahead: int | None = None
    #: sticky agent: the agent this WAITING call is held for now (``acd.routing``
    #: rule 5), else None
    preferred_agent: str | None = None


@dataclass(frozen=True, slots=True)
class AcdSnapshot:
    """Every agent, every call and every queue's figures at ``at``."""

    at: float
    agents: tuple[AgentView, ...]
    calls: tuple[CallView, ...]
    queues: tuple[QueueStats, ...]


def agent_view(agent: Agent, now: float) -> AgentView:
    return AgentView(
        agent_id=agent.agent_id,
        name=agent.config.name,
        state=agent.state,
        since=agent.since,
        reason=agent.reason,
        idle_s=None if agent.idle_since is None else max(0.0, now - agent.idle_since),
        call_id=agent.call_id,
        rna_count=agent.rna_count,
        queues=agent.config.queues,
        **_wrap_up(agent),
    )


def _wrap_up(agent: Agent) -> dict[str, float]:
    if agent.state is not AgentState.WRAP_UP or agent.wrap_up_limit <= 0.0:
        return {}
    return {"wrap_up_until": agent.wrap_up_until, "wrap_up_limit": agent.wrap_up_limit}


def call_view(
    call: Call,
    now: float,
    position: int | None,
    estimate: tuple[int, float] | None = None,
) -> CallView:
    """``estimate``: (calls WAITING ahead, estimated wait) of a WAITING call."""
    end = call.connected_at if call.connected_at is not None else now
    return CallView(
        call_id=call.call_id,
        queue=call.queue,
        state=call.state,
        priority=call.priority,
        caller_number=call.caller_number,
        customer_id=call.customer_id,
        wait_s=max(0.0, end - call.entered_at),
        position=position,
        agent_id=call.agent_id,
        ewt_s=None if estimate is None else estimate[1],
        ahead=None if estimate is None else estimate[0],
        preferred_agent=call.preferred,
    )


def in_line(calls: Iterable[Call], aging_per_s: float) -> list[Call]:
    """The unanswered calls among ``calls`` (all of one queue's), in line order."""
    return sorted(
        (c for c in calls if c.state in UNANSWERED), key=lambda c: line_key(c, aging_per_s)
    )
