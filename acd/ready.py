"""READY agents of one queue, indexed for its strategy.

Rules:
1. An agent is in the index of every queue it serves exactly while READY,
   under a key fixed for that stay (what the key is made of cannot change
   while the agent is READY: idle_since, calls answered, talk time, rank).
   An index is one sorted list of entries, no table by agent: the router
   inserts an agent's entries when it is READY and keeps them
   (``Agent.entries``) to delete them when it leaves (``ReadyAgents.slot``).
2. Agents of a lower penalty are tried first; within a penalty, the strategy
   decides (``pick``): ordered strategies take the first agent in key order
   who fits the call, round-robin the first after the last one offered a call
   of this queue (wrapping), random ones draw among those who fit; ring-all
   takes every one who fits (``all_fitting``).
3. Cost of ``pick``: ordered strategies walk the entries until one fits (one
   step when skills do not filter); random and best-skill-match look at every
   READY agent of the lowest penalty that has one who fits. Entering and leaving:
   O(log n) search plus a list insert or delete.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Any

from .agent import Agent
from .config import Strategy
from .rng import SplitMix64
from .skills import skill_score

#: an agent's entry in one queue's index: ``(tier, *key, agent)``; the key's last
#: item is the agent's unique ``order``, so comparisons never reach the agent
Entry = tuple[Any, ...]
#: a member's way into one index (``ReadyAgents.slot``)
Slot = tuple[list[Entry], Callable[[Agent, str, int], Entry], str, int]

_ORDERED = frozenset(
    {
        Strategy.LONGEST_IDLE,
        Strategy.FEWEST_CALLS,
        Strategy.LEAST_TALK_TIME,
        Strategy.LINEAR,
        Strategy.RING_ALL,
    }
)
_ROTATING = frozenset({Strategy.ROUND_ROBIN, Strategy.ROUND_ROBIN_ORDERED})
_INF = float("inf")


def _idle(agent: Agent) -> float:
    return agent.idle_since if agent.idle_since is not None else _INF


#: each strategy's entry of an agent in a queue, at a tier: its place among the
#: queue's READY agents (one function each, so an add does not branch)
_ENTRIES: dict[Strategy, Callable[[Agent, str, int], Entry]] = {
    Strategy.LONGEST_IDLE: lambda agent, queue, tier: (tier, _idle(agent), agent.order, agent),
    Strategy.BEST_SKILL_MATCH: lambda agent, queue, tier: (
        tier, _idle(agent), agent.order, agent
    ),
    Strategy.FEWEST_CALLS: lambda agent, queue, tier: (
        tier, agent.answered.get(queue, 0), _idle(agent), agent.order, agent
    ),
    Strategy.LEAST_TALK_TIME: lambda agent, queue, tier: (
        tier, agent.talk_s.get(queue, 0.0), _idle(agent), agent.order, agent
    ),
    Strategy.ROUND_ROBIN: lambda agent, queue, tier: (tier, agent.login_seq, agent.order, agent),
    # linear, round-robin-ordered, random, weighted-random, ring-all
    **dict.fromkeys(
        (
            Strategy.LINEAR,
            Strategy.ROUND_ROBIN_ORDERED,
            Strategy.RANDOM,
            Strategy.WEIGHTED_RANDOM,
            Strategy.RING_ALL,
        ),
        lambda agent, queue, tier: (tier, agent.order, agent),
    ),
}  # fmt: skip


def _fits(agent: Agent, need: int, exclude: str | None) -> bool:
    """Whether ``agent`` has the skill bits ``need`` (``acd.skills.SkillBits``), not
    being ``exclude``."""
    if exclude is not None and agent.agent_id == exclude:
        return False
    return need & agent.skill_bits == need


class ReadyAgents:
    """The READY agents of one queue, by penalty tier, in the strategy's key order."""

    __slots__ = ("queue", "strategy", "rotating", "entries", "_last", "_rng", "_ordered", "_entry")

    def __init__(self, queue: str, strategy: Strategy, rng: SplitMix64) -> None:
        self.queue = queue
        self.strategy = strategy
        #: round-robin: an offer moves the rotation (``offered``)
        self.rotating = strategy in _ROTATING
        #: every READY agent's entry, in order (tier first); read-only outside this class
        self.entries: list[Entry] = []
        self._last: Entry | None = None  # round-robin memory: the key of the last offered
        self._rng = rng
        self._ordered = strategy in _ORDERED
        self._entry = _ENTRIES[strategy]

    def __len__(self) -> int:
        return len(self.entries)

    def slot(self, tier: int) -> Slot:
        """What a member at ``tier`` keeps (``Agent.slots``) to enter and leave this
        index without touching it otherwise: the entries, the function that makes its
        entry, the queue, the tier. ``entry_of(agent, queue, tier)`` is inserted in
        order (``insort``) when the agent is READY and deleted when it leaves."""
        return (self.entries, self._entry, self.queue, tier)

    def remember(self, old: ReadyAgents) -> None:
        """Go on where ``old`` (this queue before a reload) was, if the strategy is the same."""
        if old.strategy is self.strategy:
            self._last = old._last

    def offered(self, agent: Agent) -> None:
        """``agent`` is offered a call of this queue: round-robin goes on after it."""
        if self.rotating:
            self._last = self._entry(agent, self.queue, 0)[1:-1]  # fixed while READY

    def pick(self, needs: int, exclude: str | None, required: Mapping[str, int]) -> Agent | None:
        """The agent the strategy picks among those who fit ``needs`` (a requirement's
        bits, ``acd.skills.SkillBits``; never ``exclude``)."""
        entries = self.entries
        if not entries:
            return None
        if self._ordered:  # the first who fits, in order (lower tiers first)
            if not needs and exclude is None:
                return entries[0][-1]  # type: ignore[no-any-return]  # the usual case
            for entry in entries:
                agent = entry[-1]
                if needs & agent.skill_bits == needs and (
                    exclude is None or agent.agent_id != exclude
                ):
                    return agent  # type: ignore[no-any-return]
            return None
        lo, n = 0, len(entries)
        while lo < n:
            hi = bisect_left(entries, (entries[lo][0] + 1,), lo)  # the end of lo's tier
            agent = self._pick_in(lo, hi, needs, exclude, required)
            if agent is not None:
                return agent
            lo = hi
        return None

    def all_fitting(self, needs: int, exclude: str | None) -> list[Agent]:
        """Every agent of the lowest penalty with one who fits ``needs`` (ring-all), in order."""
        entries = self.entries
        lo, n = 0, len(entries)
        while lo < n:
            hi = bisect_left(entries, (entries[lo][0] + 1,), lo)
            fitting = [e[-1] for e in entries[lo:hi] if _fits(e[-1], needs, exclude)]
            if fitting:
                return fitting
            lo = hi
        return []

    def _pick_in(
        self, lo: int, hi: int, needs: int, exclude: str | None, required: Mapping[str, int]
    ) -> Agent | None:
        """The pick among the entries ``lo:hi`` (one tier), or None if none fits."""
        entries = self.entries
        strategy = self.strategy
        if strategy in _ROTATING:
            n = hi - lo
            last = self._last
            start = 0
            if last is not None:  # after ``last``: its key ends with an int (order)
                after = (entries[lo][0], *last[:-1], last[-1] + 1)
                start = bisect_left(entries, after, lo, hi) - lo
            for i in range(start, start + n):
                agent = entries[lo + i % n][-1]
                if _fits(agent, needs, exclude):
                    return agent  # type: ignore[no-any-return]
            return None
        fitting: list[Agent] = [e[-1] for e in entries[lo:hi] if _fits(e[-1], needs, exclude)]
        if not fitting:
            return None
        if strategy is Strategy.RANDOM:
            return fitting[self._rng.below(len(fitting))]
        if strategy is Strategy.WEIGHTED_RANDOM:
            weights = [a.config.weights.get(self.queue, 1) for a in fitting]
            draw = self._rng.below(sum(weights))
            for agent, weight in zip(fitting, weights, strict=True):
                if draw < weight:
                    return agent
                draw -= weight
            raise AssertionError("weighted draw past the total")  # pragma: no cover
        # best-skill-match: the highest score, then the first in longest-idle order
        best, best_score = fitting[0], skill_score(fitting[0].skills, required)
        for agent in fitting[1:]:
            score = skill_score(agent.skills, required)
            if score > best_score:
                best, best_score = agent, score
        return best
