"""Routing: which READY agent gets a waiting call, and which call a READY agent gets.

Rules:
1. Work-conserving: after every input no WAITING call has a READY agent of
   its queue who fits it (skills). Routing is driven by what just changed
   (``Acd._dispatch``): a call that became WAITING (queued, requeued, relaxed)
   looks for an agent through its queue's strategy; an agent that became
   READY takes the most due call it fits across all its queues. By rule 1
   nobody else READY fits that call, so the strategy has nothing to choose.
2. Most due: highest effective priority at ``now`` (``acd.line``), then the
   earliest entry, then arrival order in the core. A skill class the agent
   does not fit is skipped whole (its head stands for all of it).
3. A call whose offer failed goes to another READY agent who fits if any;
   else back to the agent who failed it (``Call.last_agent``).
4. Nothing here scans every agent or every call: a call looks at the READY
   agents of its own queue (``acd.ready``), an agent at the head of each skill
   class of its own queues (``acd.line``).
5. Sticky agent, the one exception to rule 1: a call queued with a preferred
   agent (``CallQueued.preferred_agent``, in a queue with ``sticky_wait_s`` > 0)
   that serves its queue and fits it goes to that agent at once if READY;
   else it is held for that agent alone (``held``, outside its queue's line:
   other READY agents do not see it) until the agent becomes READY (it then
   takes its held calls first, most due first), logs out, or ``sticky_wait_s``
   passes; the call is then routed like any other, keeping its entry time and
   priority. A held call never waits while its preferred agent is READY.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, insort
from collections.abc import Iterable, Mapping

from .agent import Agent
from .call import Call
from .config import QueueConfig
from .line import Line
from .ready import ReadyAgents
from .rng import SplitMix64
from .skills import SkillBits


class Router:
    """The lines and READY-agent indexes of every queue."""

    __slots__ = ("lines", "ready", "held", "_busy", "_by_index")

    def __init__(
        self,
        queues: Mapping[str, QueueConfig],
        agents: Iterable[Agent],
        rng: SplitMix64,
        skill_bits: SkillBits,
    ) -> None:
        # queue i's line holds a call iff _busy[i]: 5,000 queues in 5 kB, which stays
        # in the cache, while the lines an agent serves are far apart in memory
        self._busy = bytearray(len(queues))
        self._by_index = [Line(q.aging_per_s, self._busy, i) for i, q in enumerate(queues.values())]
        self.lines = dict(zip(queues, self._by_index, strict=True))
        index = {name: i for i, name in enumerate(queues)}
        #: rule 5: per agent id, the WAITING calls held for it alone, in arrival order
        self.held: dict[str, list[Call]] = {}
        self.ready = {name: ReadyAgents(name, q.strategy, rng) for name, q in queues.items()}
        for agent in agents:
            agent.skills = dict(agent.config.skills)
            agent.skill_bits = skill_bits.have(agent.skills)
            agent.slots = [
                self.ready[q].slot(agent.config.penalties.get(q, 0)) for q in agent.config.queues
            ]
            agent.lines = array("I", [index[q] for q in agent.config.queues])
            agent.entries = []

    def remember(self, old: Router) -> None:
        """Keep each queue's round-robin place from ``old`` (after a reload)."""
        for name, ready in self.ready.items():
            previous = old.ready.get(name)
            if previous is not None:
                ready.remember(previous)

    # -- index upkeep -----------------------------------------------------------

    def agent_in(self, agent: Agent) -> None:
        """Enter a READY agent in the index of each queue it serves (``acd.ready``)."""
        if not agent.indexed:
            agent.indexed = True
            entries = agent.entries = []
            for index, entry_of, queue, tier in agent.slots:  # ReadyAgents.slot, inline
                entry = entry_of(agent, queue, tier)
                insort(index, entry)
                entries.append(entry)

    def agent_out(self, agent: Agent) -> None:
        if agent.indexed:
            agent.indexed = False
            for slot, entry in zip(agent.slots, agent.entries, strict=True):
                index = slot[0]
                del index[bisect_left(index, entry)]

    def call_in(self, call: Call) -> None:
        """Enter a WAITING call in its queue's line, or held for its preferred agent (a
        parked call stays out: ``acd.core`` rule 15)."""
        if not call.lined and not call.parked:
            call.lined = True
            if call.preferred is not None:  # rule 5
                self.held.setdefault(call.preferred, []).append(call)
            else:
                call.queued_in.line.add(call)

    def call_out(self, call: Call) -> None:
        if call.lined:
            call.lined = False
            if call.preferred is not None:
                held = self.held[call.preferred]
                held.remove(call)
                if not held:
                    del self.held[call.preferred]
            else:
                call.queued_in.line.remove(call)

    # -- decisions --------------------------------------------------------------

    def agent_for(self, call: Call, exclude: str | None) -> Agent | None:
        """The READY agent the call's queue picks for it, never ``exclude``."""
        return call.queued_in.ready.pick(call.bits, exclude, call.skills)

    def ring_for(self, call: Call, exclude: str | None) -> list[Agent]:
        """Every READY agent a ring-all queue rings at once for ``call`` (lowest penalty)."""
        return call.queued_in.ready.all_fitting(call.bits, exclude)

    def call_for(self, agent: Agent, now: float) -> Call | None:
        """The most due WAITING call ``agent`` fits across its queues, or None."""
        best: Call | None = None
        best_due = 0.0
        have = agent.skill_bits
        busy = self._busy
        for i in agent.lines:
            if not busy[i]:
                continue
            line = self._by_index[i]
            rate = line.aging_per_s
            for need, keys in line.classes.items():
                if need & have != need:
                    continue  # does not fit this class
                call = keys[0][4]
                due = call.rank + (now - call.since) * rate
                if (
                    best is None
                    or due > best_due
                    or (
                        due == best_due
                        and (call.since, call.nudge, call.seq)
                        < (best.since, best.nudge, best.seq)
                    )
                ):
                    best, best_due = call, due
        return best
