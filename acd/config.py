"""Configuration of the ACD core: queues, agents, and the global rules.

Every option has a default, and a bad value raises InvalidValue naming the
option (``QueueConfig.strategy must be one of ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from ._check import FrozenMap, as_tuple, check_id, check_int, check_seconds, check_str
from .errors import InvalidValue
from .events import OfferFailure
from .skills import Levels, RelaxStep, check_relax


class Strategy(Enum):
    """How a queue picks among its READY agents who fit a call (``QueueConfig.strategy``).

    Whatever the strategy, agents of a lower penalty are tried first.
    """

    #: the agent READY the longest (since login, end of pause or of wrap-up)
    LONGEST_IDLE = "longest-idle"
    #: rotate in login order, starting after the agent last offered a call of the queue
    ROUND_ROBIN = "round-robin"
    #: rotate in configuration order, starting after the agent last offered a call
    ROUND_ROBIN_ORDERED = "round-robin-ordered"
    #: the agent who answered the fewest calls of this queue (then longest idle)
    FEWEST_CALLS = "fewest-calls"
    #: the agent with the least talk time on this queue's calls (then longest idle)
    LEAST_TALK_TIME = "least-talk-time"
    #: always the first READY agent in configuration order
    LINEAR = "linear"
    #: uniformly at random (seeded by ``AcdConfig.seed``)
    RANDOM = "random"
    #: at random, in proportion to the agent's ``weights`` for the queue
    WEIGHTED_RANDOM = "weighted-random"
    #: the highest sum of levels in the call's required skills (then longest idle)
    BEST_SKILL_MATCH = "best-skill-match"
    #: every READY agent of the lowest penalty who fits, at once: the first to
    #: answer takes the call, the other legs are cancelled (the only strategy
    #: that offers one call to several agents)
    RING_ALL = "ring-all"


STRATEGY_NAMES = tuple(s.value for s in Strategy)


def _strategy(field_name: str, value: object) -> Strategy:
    if isinstance(value, Strategy):
        return value
    if isinstance(value, str):
        try:
            return Strategy(value)
        except ValueError:
            pass
    raise InvalidValue(f"{field_name} must be one of {', '.join(STRATEGY_NAMES)}; got {value!r}")


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue: its timings, targets, routing strategy, skills and aging."""

    name: str
    #: after-call work before the agent is READY again (0: straight to READY)
    wrap_up_s: float = 10.0
    #: the longest a wrap-up may run, from the call's end, once the agent extends it
    #: (``WrapUpExtend``); None: ``wrap_up_s`` (no extension)
    wrap_up_max_s: float | None = None
    #: how long the agent's phone rings (the shell's Originate timeout)
    offer_timeout_s: float = 15.0
    #: a call answered within this wait counts toward the service level
    sl_threshold_s: float = 20.0
    #: length of one music-on-hold slice (the shell regains control between slices)
    hold_slice_s: float = 20.0
    #: a waiting call leaves with outcome TIMEOUT (overflow) after this; None: never
    max_wait_s: float | None = None
    #: how the queue picks among READY agents who fit a call (a Strategy or its name)
    strategy: Strategy = Strategy.LONGEST_IDLE
    #: skills every call of the queue requires, with minimum levels 1..5 (a call
    #: may bring its own: ``CallQueued.skills``)
    skills: Mapping[str, int] = field(default_factory=Levels)
    #: how the required levels are lowered as a caller waits (see ``acd.skills``)
    relax: tuple[RelaxStep, ...] = ()
    #: priority points a caller gains per second waited: effective priority =
    #: priority + wait x aging_per_s, so nobody starves (0: static priority)
    aging_per_s: float = 1 / 60
    #: after an offer failed, the agent who failed it is offered that call again
    #: only this many seconds later (0: at once, if no other agent fits it)
    retry_same_agent_s: float = 0.0
    #: a caller who hangs up before this wait is a short abandon: left out of the
    #: service level and the abandon rate (``acd.kpis``)
    short_abandon_s: float = 5.0
    #: a caller arriving when this many calls are unanswered in the queue overflows at
    #: once (outcome TIMEOUT, ``OverflowCall`` reason ``max_length``); None: no limit
    max_length: int | None = None
    #: a caller may join while no agent of the queue can take calls (every one logged
    #: out or paused); False: it overflows at once (reason ``join_empty``)
    join_empty: bool = True
    #: the queue's waiting callers overflow (reason ``leave_empty``) as soon as no
    #: agent of it can take calls (the last one logs out or pauses)
    leave_when_empty: bool = False
    #: sticky agent: a caller whose ``CallQueued.preferred_agent`` (who last served its
    #: number, looked up by the shell within ``sticky_days``) serves this queue and fits
    #: the call waits up to this long for that agent alone, then is routed as any other
    #: (routing rule 5); 0: off
    sticky_wait_s: float = 0.0
    #: how far back the shell looks for the agent who last served a number (days > 0)
    sticky_days: float = 30.0

    def __post_init__(self) -> None:
        check_id("QueueConfig.name", self.name)
        check_seconds("QueueConfig.wrap_up_s", self.wrap_up_s)
        if self.wrap_up_max_s is not None:
            check_seconds("QueueConfig.wrap_up_max_s", self.wrap_up_max_s)
            if self.wrap_up_max_s < self.wrap_up_s:
                raise InvalidValue(f"QueueConfig.wrap_up_max_s must be >= wrap_up_s "
                                   f"({self.wrap_up_s}); got {self.wrap_up_max_s!r}")  # fmt: skip
        check_seconds("QueueConfig.offer_timeout_s", self.offer_timeout_s, positive=True)
        check_seconds("QueueConfig.sl_threshold_s", self.sl_threshold_s, positive=True)
        check_seconds("QueueConfig.hold_slice_s", self.hold_slice_s, positive=True)
        if self.max_wait_s is not None:
            check_seconds("QueueConfig.max_wait_s", self.max_wait_s, positive=True)
        object.__setattr__(self, "strategy", _strategy("QueueConfig.strategy", self.strategy))
        object.__setattr__(self, "skills", Levels(self.skills, field="QueueConfig.skills"))
        relax = as_tuple("QueueConfig.relax", self.relax)
        check_relax("QueueConfig.relax", relax)
        object.__setattr__(self, "relax", relax)
        check_seconds("QueueConfig.aging_per_s", self.aging_per_s)
        check_seconds("QueueConfig.retry_same_agent_s", self.retry_same_agent_s)
        check_seconds("QueueConfig.short_abandon_s", self.short_abandon_s)
        if self.max_length is not None:
            check_int("QueueConfig.max_length", self.max_length, minimum=1)
        check_seconds("QueueConfig.sticky_wait_s", self.sticky_wait_s)
        check_seconds("QueueConfig.sticky_days", self.sticky_days, positive=True)
        for flag in ("join_empty", "leave_when_empty"):
            if not isinstance(getattr(self, flag), bool):
                raise InvalidValue(
                    f"QueueConfig.{flag} must be a bool; got {getattr(self, flag)!r}"
                )


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """One agent: the device the shell rings, the queues served, skills and tiers."""

    agent_id: str
    name: str
    #: dial string of the agent's phone, e.g. ``PJSIP/1001``
    device: str
    #: names of the queues this agent takes calls from (any iterable; stored as a tuple)
    queues: tuple[str, ...]
    #: proficiency per skill, 1..5
    skills: Mapping[str, int] = field(default_factory=Levels)
    #: penalty (tier) per queue, >= 0; lower is tried first; unlisted queues: 0
    penalties: Mapping[str, int] = field(default_factory=Levels)
    #: weight per queue for ``weighted-random``, >= 1; unlisted queues: 1
    weights: Mapping[str, int] = field(default_factory=Levels)

    def __post_init__(self) -> None:
        check_id("AgentConfig.agent_id", self.agent_id)
        check_str("AgentConfig.name", self.name)
        check_id("AgentConfig.device", self.device)
        queues = as_tuple("AgentConfig.queues", self.queues)
        if not queues:
            raise InvalidValue(f"agent {self.agent_id!r} serves no queue")
        for queue in queues:
            check_id("AgentConfig.queues[]", queue)
        if len(set(queues)) != len(queues):
            raise InvalidValue(f"agent {self.agent_id!r} lists a queue twice: {queues!r}")
        object.__setattr__(self, "queues", queues)
        object.__setattr__(self, "skills", Levels(self.skills, field="AgentConfig.skills"))
        penalties = Levels(self.penalties, field="AgentConfig.penalties", minimum=0, maximum=None)
        weights = Levels(self.weights, field="AgentConfig.weights", minimum=1, maximum=None)
        for name, mapping in (("penalties", penalties), ("weights", weights)):
            stray = set(mapping) - set(queues)
            if stray:
                raise InvalidValue(
                    f"AgentConfig.{name} of {self.agent_id!r} names queues it does not serve: "
                    f"{sorted(stray)}"
                )
        object.__setattr__(self, "penalties", penalties)
        object.__setattr__(self, "weights", weights)


#: the pause reason an agent gets when offers to its device keep failing
DEFAULT_PAUSE_REASONS: Mapping[OfferFailure, str] = {
    OfferFailure.NO_ANSWER: "ring-no-answer",
    OfferFailure.NO_REPORT: "ring-no-answer",
    OfferFailure.BUSY: "device-busy",
    OfferFailure.UNREACHABLE: "device-unreachable",
    OfferFailure.FAILED: "offer-failed",
}


def _by_failure(field_name: str, value: object) -> dict[OfferFailure, object]:
    if not isinstance(value, Mapping):
        raise InvalidValue(f"{field_name} must be a mapping, got {value!r}")
    out: dict[OfferFailure, object] = {}
    for key, item in value.items():
        try:
            kind = key if isinstance(key, OfferFailure) else OfferFailure(key)
        except ValueError:
            names = ", ".join(f.value for f in OfferFailure)
            raise InvalidValue(f"{field_name}: {key!r} is not a failure kind ({names})") from None
        out[kind] = item
    return out


@dataclass(frozen=True, slots=True)
class AcdConfig:
    """The whole ACD: its queues, its agents and the rules shared by all queues."""

    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...] = ()
    #: consecutive failed offers of one kind after which the agent is paused
    #: (the limit of every kind not in ``pause_after``); 0 disables the rule
    rna_pause_after: int = 2
    #: added to ``offer_timeout_s`` before the core gives up waiting for the
    #: shell's OfferAnswered/OfferFailed and cancels the offer itself
    offer_grace_s: float = 5.0
    #: per failure kind (OfferFailure or its value), consecutive failures of that
    #: kind before the agent is paused; 0 never pauses. Unreachable defaults to 1
    #: (its phone would fail every offer at once), the others to rna_pause_after.
    #: no-answer and no-report are one count.
    pause_after: Mapping[OfferFailure, int] = field(default_factory=dict)
    #: per failure kind, the pause reason (default: DEFAULT_PAUSE_REASONS)
    pause_reasons: Mapping[OfferFailure, str] = field(default_factory=dict)
    #: seed of the random and weighted-random strategies
    seed: int = 0
    #: the pause reasons an agent may give (``AgentPause.reason``); empty: any
    pause_codes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        queues = as_tuple("AcdConfig.queues", self.queues)
        agents = as_tuple("AcdConfig.agents", self.agents)
        if not queues:
            raise InvalidValue("AcdConfig needs at least one queue")
        for queue in queues:
            if not isinstance(queue, QueueConfig):
                raise InvalidValue(f"AcdConfig.queues holds a non-QueueConfig: {queue!r}")
        for agent in agents:
            if not isinstance(agent, AgentConfig):
                raise InvalidValue(f"AcdConfig.agents holds a non-AgentConfig: {agent!r}")
        names = [q.name for q in queues]
        if len(set(names)) != len(names):
            raise InvalidValue(f"queue names are not unique: {names!r}")
        ids = [a.agent_id for a in agents]
        if len(set(ids)) != len(ids):
            raise InvalidValue(f"agent ids are not unique: {ids!r}")
        known = set(names)
        for agent in agents:
            unknown = set(agent.queues) - known
            if unknown:
                raise InvalidValue(
                    f"agent {agent.agent_id!r} serves unknown queues {sorted(unknown)}"
                )
        check_int("AcdConfig.rna_pause_after", self.rna_pause_after, minimum=0)
        check_seconds("AcdConfig.offer_grace_s", self.offer_grace_s)
        check_int("AcdConfig.seed", self.seed)
        codes = as_tuple("AcdConfig.pause_codes", self.pause_codes)
        for code in codes:
            check_id("AcdConfig.pause_codes[]", code)
        if len(set(codes)) != len(codes):
            raise InvalidValue(f"AcdConfig.pause_codes lists a code twice: {codes!r}")
        object.__setattr__(self, "pause_codes", codes)
        pause_after = _by_failure("AcdConfig.pause_after", self.pause_after)
        for kind, limit in pause_after.items():
            check_int(f"AcdConfig.pause_after[{kind.value!r}]", limit, minimum=0)
        if OfferFailure.NO_REPORT in pause_after and OfferFailure.NO_ANSWER in pause_after:
            if pause_after[OfferFailure.NO_REPORT] != pause_after[OfferFailure.NO_ANSWER]:
                raise InvalidValue(
                    "AcdConfig.pause_after: no-answer and no-report are one count; "
                    "give them one limit"
                )
        if OfferFailure.NO_REPORT in pause_after:  # one count with no-answer
            pause_after.setdefault(OfferFailure.NO_ANSWER, pause_after[OfferFailure.NO_REPORT])
        reasons = _by_failure("AcdConfig.pause_reasons", self.pause_reasons)
        for kind, reason in reasons.items():
            check_id(f"AcdConfig.pause_reasons[{kind.value!r}]", reason)
        object.__setattr__(self, "queues", queues)
        object.__setattr__(self, "agents", agents)
        object.__setattr__(self, "pause_after", FrozenMap(pause_after))
        object.__setattr__(self, "pause_reasons", FrozenMap(reasons))

    def pause_limit(self, kind: OfferFailure) -> int:
        """Consecutive failures of ``kind`` that pause an agent (0: never)."""
        if kind is OfferFailure.NO_REPORT:
            kind = OfferFailure.NO_ANSWER
        default = 1 if kind is OfferFailure.UNREACHABLE else self.rna_pause_after
        return self.pause_after.get(kind, default)

    def pause_reason(self, kind: OfferFailure) -> str:
        """The pause reason of an agent paused for failures of ``kind``."""
        return self.pause_reasons.get(kind, DEFAULT_PAUSE_REASONS[kind])
