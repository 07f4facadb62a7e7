"""READY agents of one queue, indexed for its strategy.

Rules:
1. An agent is in the index of every queue it serves exactly while READY,
   under a key fixed for that stay (what the key is made of cannot change
   while the agent is READY: idle_since, calls answered, talk time, rank).
2. Agents of a lower penalty are tried first; within a penalty, the strategy
   decides (``pick``): ordered strategies take the first agent in key order
   who fits the call, round-robin the first after the last one offered a call
   of this queue (wrapping), random ones draw among those who fit; ring-all
   takes every one who fits (``all_fitting``).
3. Cost of ``pick``: ordered strategies walk the keys until one fits (one step
   when skills do not filter); random and best-skill-match look at every READY
   agent of the lowest penalty that has one who fits. ``add``/``remove``:
   O(log n) search plus a list insert.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Mapping

from .agent import Agent
from .config import Strategy
from .rng import SplitMix64
from .skills import skill_score

Key = tuple[float, ...]

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


#: each strategy's key of an agent in a queue: its place among the queue's READY agents,
#: the last item unique (order); one function each, so an add does not branch
_KEYS: dict[Strategy, Callable[[Agent, str], Key]] = {
    Strategy.LONGEST_IDLE: lambda agent, queue: (_idle(agent), agent.order),
    Strategy.BEST_SKILL_MATCH: lambda agent, queue: (_idle(agent), agent.order),
    Strategy.FEWEST_CALLS: lambda agent, queue: (
        agent.answered.get(queue, 0),
        _idle(agent),
        agent.order,
    ),
    Strategy.LEAST_TALK_TIME: lambda agent, queue: (
        agent.talk_s.get(queue, 0.0),
        _idle(agent),
        agent.order,
    ),
    Strategy.ROUND_ROBIN: lambda agent, queue: (agent.login_seq, agent.order),
    # linear, round-robin-ordered, random, weighted-random, ring-all
    **dict.fromkeys(
        (
            Strategy.LINEAR,
            Strategy.ROUND_ROBIN_ORDERED,
            Strategy.RANDOM,
            Strategy.WEIGHTED_RANDOM,
            Strategy.RING_ALL,
        ),
        lambda agent, queue: (agent.order,),
    ),
}


def _fits(agent: Agent, need: int, exclude: str | None) -> bool:
    """Whether ``agent`` has the skill bits ``need`` (``acd.skills.SkillBits``), not
    being ``exclude``."""
    if exclude is not None and agent.agent_id == exclude:
        return False
    return need & agent.skill_bits == need


class ReadyAgents:
    """The READY agents of one queue, by penalty tier, in the strategy's key order."""

    __slots__ = (
        "queue",
        "strategy",
        "rotating",
        "_tiers",
        "_keys",
        "_agents",
        "_last",
        "_rng",
        "_ordered",
        "_key",
    )

    def __init__(self, queue: str, strategy: Strategy, rng: SplitMix64) -> None:
        self.queue = queue
        self.strategy = strategy
        #: round-robin: an offer moves the rotation (``offered``)
        self.rotating = strategy in _ROTATING
        self._tiers: dict[int, list[Key]] = {}
        self._keys: dict[int, tuple[int, Key]] = {}  # by agent order
        self._agents: dict[float, Agent] = {}  # by order (the key's last item)
        self._last: Key | None = None  # round-robin memory
        self._rng = rng
        self._ordered = strategy in _ORDERED
        self._key = _KEYS[strategy]

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, agent: Agent) -> bool:
        return agent.order in self._keys

    def add(self, agent: Agent, tier: int) -> None:
        order = agent.order
        if order in self._keys:
            return
        key = self._key(agent, self.queue)
        self._keys[order] = (tier, key)
        self._agents[order] = agent
        keys = self._tiers.get(tier)
        if keys is None:
            self._tiers[tier] = keys = []
            self._tiers = dict(sorted(self._tiers.items()))
        insort(keys, key)

    def remove(self, agent: Agent) -> None:
        found = self._keys.pop(agent.order, None)
        if found is None:
            return
        tier, key = found
        keys = self._tiers[tier]
        del keys[bisect_left(keys, key)]
        del self._agents[agent.order]

    def remember(self, old: ReadyAgents) -> None:
        """Go on where ``old`` (this queue before a reload) was, if the strategy is the same."""
        if old.strategy is self.strategy:
            self._last = old._last

    def offered(self, agent: Agent) -> None:
        """``agent`` is offered a call of this queue: round-robin goes on after it."""
        if self.rotating:
            found = self._keys.get(agent.order)
            self._last = found[1] if found is not None else self._key(agent, self.queue)

    def pick(self, needs: int, exclude: str | None, required: Mapping[str, int]) -> Agent | None:
        """The agent the strategy picks among those who fit ``needs`` (a requirement's
        bits, ``acd.skills.SkillBits``; never ``exclude``)."""
        for keys in self._tiers.values():
            if not keys:
                continue
            if self._ordered and not needs and exclude is None:
                return self._agents[keys[0][-1]]  # the usual case, inline
            agent = self._pick_in(keys, needs, exclude, required)
            if agent is not None:
                return agent
        return None

    def all_fitting(self, needs: int, exclude: str | None) -> list[Agent]:
        """Every agent of the lowest penalty with one who fits ``needs`` (ring-all), in order."""
        agents = self._agents
        for keys in self._tiers.values():
            fitting = [a for a in (agents[k[-1]] for k in keys) if _fits(a, needs, exclude)]
            if fitting:
                return fitting
        return []

    def _pick_in(
        self, keys: list[Key], needs: int, exclude: str | None, required: Mapping[str, int]
    ) -> Agent | None:
        agents = self._agents
        if self._ordered:
            if not needs and exclude is None:
                return agents[keys[0][-1]]
            for key in keys:
                agent = agents[key[-1]]
                if _fits(agent, needs, exclude):
                    return agent
            return None
        strategy = self.strategy
        if strategy in _ROTATING:
            n = len(keys)
            start = 0 if self._last is None else bisect_right(keys, self._last)
            for i in range(start, start + n):
                agent = agents[keys[i % n][-1]]
                if _fits(agent, needs, exclude):
                    return agent
            return None
        fitting = [a for a in (agents[k[-1]] for k in keys) if _fits(a, needs, exclude)]
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
