"""Routing: which READY agent gets a waiting call, and which call a READY agent gets.

Rules:
1. Work-conserving: after every input no WAITING call has a READY agent of
   its queue who fits it (skills). Routing is driven by what just changed
   (``Acd._dispatch``): a call that became WAITING (queued, requeued, relaxed)
   looks for an agent through its queue's strategy; an agent that became
   READY takes the most due call it fits across all its queues. By rule 1
   nobody else READY fits that call, so the strategy has nothing to choose.
2. Most due: highest effective priority at ``now`` (``acd.line``), then the
   earliest entry, then arrival order in the core.
3. A call whose offer failed goes to another READY agent who fits if any;
   else back to the agent who failed it (``Call.last_agent``).
4. Nothing here scans every agent or every call: a call looks at the READY
   agents of its own queue (``acd.ready``), an agent at the head of each skill
   class of its own queues (``acd.line``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .agent import Agent
from .call import Call
from .config import QueueConfig
from .line import Line, LineKey, due_key
from .ready import ReadyAgents
from .rng import SplitMix64
from .skills import fits


class Router:
    """The lines and READY-agent indexes of every queue."""

    __slots__ = ("lines", "ready")

    def __init__(
        self, queues: Mapping[str, QueueConfig], agents: Iterable[Agent], rng: SplitMix64
    ) -> None:
        self.lines = {name: Line(q.aging_per_s) for name, q in queues.items()}
        self.ready = {name: ReadyAgents(name, q.strategy, rng) for name, q in queues.items()}
        for agent in agents:
            agent.skills = dict(agent.config.skills)
            agent.slots = [
                (self.ready[q], agent.config.penalties.get(q, 0)) for q in agent.config.queues
            ]

    # -- index upkeep -----------------------------------------------------------

    def agent_in(self, agent: Agent) -> None:
        for ready, tier in agent.slots:
            ready.add(agent, tier)  # type: ignore[attr-defined]

    def agent_out(self, agent: Agent) -> None:
        for ready, _ in agent.slots:
            ready.remove(agent)  # type: ignore[attr-defined]

    def call_in(self, call: Call) -> None:
        self.lines[call.queue].add(call)

    def call_out(self, call: Call) -> None:
        self.lines[call.queue].remove(call)

    def offered(self, call: Call, agent: Agent) -> None:
        """Remember the offer for round-robin (before the agent leaves READY)."""
        self.ready[call.queue].offered(agent)

    # -- decisions --------------------------------------------------------------

    def agent_for(self, call: Call, exclude: str | None) -> Agent | None:
        """The READY agent the call's queue picks for it, never ``exclude``."""
        return self.ready[call.queue].pick(call.needs, exclude, call.skills)

    def call_for(self, agent: Agent, now: float) -> Call | None:
        """The most due WAITING call ``agent`` fits across its queues, or None."""
        best: Call | None = None
        best_key: LineKey | None = None
        skills = agent.skills
        for queue in agent.config.queues:
            line = self.lines[queue]
            if not line:
                continue
            for needs, call in line.heads():
                if needs and not fits(skills, needs):
                    continue
                key = due_key(call, line.aging_per_s, now)
                if best_key is None or key < best_key:
                    best, best_key = call, key
        return best
