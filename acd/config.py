"""Configuration of the ACD core: queues, agents, and the global rules."""

from __future__ import annotations

from dataclasses import dataclass

from ._check import as_tuple, check_id, check_int, check_seconds, check_str
from .errors import InvalidValue


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """One queue: how long wrap-up lasts, how long an agent rings, and its targets."""

    name: str
    #: after-call work before the agent is READY again (0: straight to READY)
    wrap_up_s: float = 10.0
    #: how long the agent's phone rings (the shell's Originate timeout)
    offer_timeout_s: float = 15.0
    #: a call answered within this wait counts toward the service level
    sl_threshold_s: float = 20.0
    #: length of one music-on-hold slice (the shell regains control between slices)
    hold_slice_s: float = 20.0
    #: a waiting call leaves with outcome TIMEOUT (overflow) after this; None: never
    max_wait_s: float | None = None

    def __post_init__(self) -> None:
        check_id("QueueConfig.name", self.name)
        check_seconds("QueueConfig.wrap_up_s", self.wrap_up_s)
        check_seconds("QueueConfig.offer_timeout_s", self.offer_timeout_s, positive=True)
        check_seconds("QueueConfig.sl_threshold_s", self.sl_threshold_s, positive=True)
        check_seconds("QueueConfig.hold_slice_s", self.hold_slice_s, positive=True)
        if self.max_wait_s is not None:
            check_seconds("QueueConfig.max_wait_s", self.max_wait_s, positive=True)


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """One agent: the device the shell rings and the queues the agent serves."""

    agent_id: str
    name: str
    #: dial string of the agent's phone, e.g. ``PJSIP/1001``
    device: str
    #: names of the queues this agent takes calls from (any iterable; stored as a tuple)
    queues: tuple[str, ...]

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


@dataclass(frozen=True, slots=True)
class AcdConfig:
    """The whole ACD: its queues, its agents and the rules shared by all queues."""

    queues: tuple[QueueConfig, ...]
    agents: tuple[AgentConfig, ...] = ()
    #: consecutive failed offers (no answer, busy, failed, no report) after which
    #: the agent is paused with reason "ring-no-answer"; 0 disables the rule
    rna_pause_after: int = 2
    #: added to ``offer_timeout_s`` before the core gives up waiting for the
    #: shell's OfferAnswered/OfferFailed and cancels the offer itself
    offer_grace_s: float = 5.0

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
        for agent in agents:
            unknown = set(agent.queues) - set(names)
            if unknown:
                raise InvalidValue(
                    f"agent {agent.agent_id!r} serves unknown queues {sorted(unknown)}"
                )
        check_int("AcdConfig.rna_pause_after", self.rna_pause_after, minimum=0)
        check_seconds("AcdConfig.offer_grace_s", self.offer_grace_s)
        object.__setattr__(self, "queues", queues)
        object.__setattr__(self, "agents", agents)
