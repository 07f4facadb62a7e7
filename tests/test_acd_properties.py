"""Property tests of ACD routing over random event sequences (hypothesis).

Skills with relax steps, penalties, every strategy and aging priority, driven
by random inputs; the test keeps its own mirror of what the core told the
shell and checks, after every input and at every offer:

- no agent holds two offers or calls, no call is offered to two agents;
- exactly one outcome per call;
- work conservation with skills: no WAITING call while a READY agent of its
  queue fits what the call requires now (the test computes it from the
  configuration and the call's wait);
- every offer goes to the most due WAITING call the agent fits (effective
  priority, then FIFO): so FIFO holds within equal effective priority and
  skills;
- the incrementally kept queue figures equal a recount from the snapshot;
- all of it across live reloads of strategies and queue skills (``reconfigure``),
  and with ``retry_same_agent_s`` (an agent who just failed a call is not offered
  it again within that delay, and only that exempts a call from the rules above);
- sticky agent (``acd.routing`` rule 5), the one other exemption: q1 and q3 hold a
  caller queued with a preferred agent for that agent alone (the test decides by
  hand when: that agent serves the queue, is logged in and fits the call) until
  it is READY, logs out or the queue's ``sticky_wait_s`` passes; such a call is
  exempt from the two rules above while held, its agent is never READY meanwhile,
  and that agent, once READY, is offered its most due held call before any other.

Aging uses 1/64 per second and every time is a multiple of 0.5 s, so effective
priorities are exact binary fractions and ties are true ties.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from acd import (
    Acd,
    AcdConfig,
    AgentConfig,
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    AgentState,
    AgentStateChanged,
    CallConnected,
    CallEnded,
    CallLeft,
    CallOutcome,
    CallQueued,
    CallResumed,
    CallState,
    CancelOffer,
    Command,
    Event,
    HoldCaller,
    InvalidTransition,
    OfferAnswered,
    OfferCall,
    OfferFailed,
    OfferFailure,
    OverflowCall,
    PauseEnded,
    QueueConfig,
    RelaxStep,
    Strategy,
)

QUEUES = ("q1", "q2", "q3")
AGENTS = ("a1", "a2", "a3", "a4", "a5")
SKILLS = ("en", "fr", "de")
AGING = 1 / 64
RELAX = (RelaxStep(10.0, 1), RelaxStep(40.0, 5))
STICKY = {"q1": 20.0, "q2": 0.0, "q3": 45.0}  # QueueConfig.sticky_wait_s (q2: off)
picks = st.integers(min_value=0, max_value=1_000)
levels = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2)
# agents skilled more often than calls demand, so several calls compete for one agent
agent_levels = st.dictionaries(st.sampled_from(SKILLS), st.integers(2, 5), max_size=3)


def needs_at(required: dict[str, int], waited: float) -> tuple[tuple[str, int], ...]:
    """What a call requires after ``waited`` s: the relax step reached, by hand."""
    lower = 0
    for step in RELAX:
        if waited >= step.after_s:
            lower = step.lower_by
    return tuple((s, lv - lower) for s, lv in sorted(required.items()) if lv > lower)


def fits(skills: dict[str, int], needs: tuple[tuple[str, int], ...]) -> bool:
    return all(skills.get(s, 0) >= lv for s, lv in needs)


class RoutingMachine(RuleBasedStateMachine):
    @initialize(
        strategies=st.lists(st.sampled_from(list(Strategy)), min_size=3, max_size=3),
        memberships=st.lists(
            st.lists(st.sampled_from(QUEUES), min_size=1, max_size=3, unique=True),
            min_size=len(AGENTS),
            max_size=len(AGENTS),
        ),
        agent_skills=st.lists(agent_levels, min_size=len(AGENTS), max_size=len(AGENTS)),
        queue_skills=st.lists(levels, min_size=3, max_size=3),
        penalised=st.sets(st.sampled_from(AGENTS)),
        seed=st.integers(0, 2**32),
        retry=st.sampled_from([0.0, 0.0, 5.0]),
    )
    def build(
        self,
        strategies: list[Strategy],
        memberships: list[list[str]],
        agent_skills: list[dict[str, int]],
        queue_skills: list[dict[str, int]],
        penalised: set[str],
        seed: int,
        retry: float,
    ) -> None:
        self.retry = retry  # QueueConfig.retry_same_agent_s of every queue
        self.failed: dict[str, tuple[str, float]] = {}  # call -> agent whose offer failed, when
        self.queue_skills = dict(zip(QUEUES, queue_skills, strict=True))
        self.serves = dict(zip(AGENTS, memberships, strict=True))
        self.skills = dict(zip(AGENTS, agent_skills, strict=True))
        self.agents = tuple(
            AgentConfig(
                a,
                a,
                f"PJSIP/{a}",
                self.serves[a],
                skills=self.skills[a],
                penalties={self.serves[a][0]: 1} if a in penalised else {},
                weights={q: 1 + i for i, q in enumerate(self.serves[a])},
            )
            for a in AGENTS
        )
        self.acd = Acd(self.config(strategies, seed))
        self.seed = seed
        self.now = 0.0
        self.state = dict.fromkeys(AGENTS, AgentState.LOGGED_OUT)
        self.offers: dict[str, str] = {}  # agent -> call offered
        self.talking: dict[str, str] = {}  # call -> agent
        # call -> queue, priority, entered, skills required, brought its own
        self.live: dict[str, tuple[str, int, float, dict[str, int], bool]] = {}
        self.order: dict[str, int] = {}  # call -> arrival index in the core
        self.outcomes: Counter[str] = Counter()
        self.n = 0
        self.held: dict[str, str] = {}  # call -> the agent it is held for (sticky)

    def config(self, strategies: list[Strategy], seed: int) -> AcdConfig:
        self.strategies = dict(zip(QUEUES, strategies, strict=True))
        queues = tuple(
            QueueConfig(
                name,
                wrap_up_s=w,
                offer_timeout_s=10,
                max_wait_s=m,
                strategy=strategy,
                skills=self.queue_skills[name],
                relax=RELAX,
                aging_per_s=AGING,
                retry_same_agent_s=self.retry,
                sticky_wait_s=STICKY[name],
            )
            for name, strategy, w, m in zip(
                QUEUES, strategies, (0.0, 5.0, 3.0), (None, 60.0, None), strict=True
            )
        )
        return AcdConfig(queues, self.agents, offer_grace_s=2, seed=seed)

    # -- plumbing -------------------------------------------------------------

    def waiting(self) -> set[str]:
        return set(self.live) - set(self.offers.values()) - set(self.talking)

    def due(self, call_id: str) -> tuple[float, float, int]:
        queue, priority, entered, _, _ = self.live[call_id]
        return (-(priority + (self.now - entered) * AGING), entered, self.order[call_id])

    def held_back(self, call_id: str, agent: str) -> bool:
        """The agent failed this call less than ``retry`` s ago: not offered it yet."""
        failed = self.failed.get(call_id)
        return failed is not None and failed[0] == agent and self.now < failed[1] + self.retry

    def call_needs(self, call_id: str) -> tuple[tuple[str, int], ...]:
        _, _, entered, required, _ = self.live[call_id]
        return needs_at(required, self.now - entered)

    def send(self, event: Event) -> None:
        try:
            commands = self.acd.handle(event, self.now)
        except InvalidTransition:
            return
        self.absorb(commands)

    def absorb(self, commands: list[Command]) -> None:
        rung: set[str] = set()  # calls offered by these commands (ring-all: several legs)
        for command in commands:
            replace(command)  # built again, checked: the core's own (unchecked) ones are valid
            if isinstance(command, AgentStateChanged):
                assert self.state[command.agent_id] is command.old
                if command.new is AgentState.ON_CALL and command.old is not AgentState.OFFERED:
                    assert command.call_id is not None  # found talking (CallResumed)
                    self.talking[command.call_id] = command.agent_id
                if command.old is AgentState.OFFERED:
                    call = self.offers.pop(command.agent_id)
                    if command.new is AgentState.ON_CALL:
                        self.talking[call] = command.agent_id
                    else:  # failed or withdrawn: back in line unless the caller left
                        self.failed[call] = (command.agent_id, self.now)
                if command.new is AgentState.LOGGED_OUT:  # its held calls are let go
                    self.held = {c: a for c, a in self.held.items() if a != command.agent_id}
                self.state[command.agent_id] = command.new
            elif isinstance(command, OfferCall):
                self.check_offer(command)
                assert command.agent_id not in self.offers, "agent offered two calls"
                if command.call_id in self.offers.values():  # only ring-all, all legs at once
                    ring_all = self.strategies[self.live[command.call_id][0]] is Strategy.RING_ALL
                    assert ring_all and command.call_id in rung, "call offered twice"
                rung.add(command.call_id)
                assert command.call_id not in self.talking
                self.offers[command.agent_id] = command.call_id
            elif isinstance(command, CallOutcome):
                self.outcomes[command.call_id] += 1
                assert self.outcomes[command.call_id] == 1, "second outcome"
                del self.live[command.call_id]
                self.talking.pop(command.call_id, None)
                self.held.pop(command.call_id, None)
            elif isinstance(command, CallConnected):
                assert self.talking.get(command.call_id) == command.agent_id
            else:
                assert isinstance(command, (HoldCaller, CancelOffer, OverflowCall, PauseEnded))

    def check_offer(self, offer: OfferCall) -> None:
        """The call offered is the most due WAITING call the agent fits (then FIFO)."""
        agent = offer.agent_id
        assert self.state[agent] is AgentState.OFFERED
        queue = self.live[offer.call_id][0]
        assert queue in self.serves[agent]
        assert fits(self.skills[agent], self.call_needs(offer.call_id))
        assert not self.held_back(offer.call_id, agent), "offered again too soon"
        mine = self.due(offer.call_id)
        if offer.call_id in self.held:  # sticky: its agent, its most due held call first
            assert self.held.pop(offer.call_id) == agent
            for other, held_for in self.held.items():
                if held_for == agent:
                    assert self.due(other) > mine, (agent, offer.call_id, other)
            return
        assert agent not in self.held.values(), f"{agent} passed over a call held for it"
        for other in self.waiting() - {offer.call_id}:
            if other in self.held:  # held for its own agent alone
                continue
            if self.live[other][0] not in self.serves[agent] or self.held_back(other, agent):
                continue
            if not fits(self.skills[agent], self.call_needs(other)):
                continue
            assert self.due(other) > mine, (
                f"{agent} got {offer.call_id} {mine} while {other} {self.due(other)} waits"
            )

    # -- rules ------------------------------------------------------------------

    @rule(agent=st.sampled_from(AGENTS), kind=st.sampled_from(["login", "logout", "ready"]))
    def agent_request(self, agent: str, kind: str) -> None:
        event = {"login": AgentLogin, "logout": AgentLogout, "ready": AgentReady}[kind](agent)
        self.send(event)

    @rule(agent=st.sampled_from(AGENTS), reason=st.sampled_from(["break", "lunch"]))
    def pause(self, agent: str, reason: str) -> None:
        self.send(AgentPause(agent, reason))

    @rule(
        queue=st.sampled_from(QUEUES),
        priority=st.integers(0, 2),
        back=st.sampled_from([0.0, 0.0, 12.0, 45.0, 100.0]),
        own=st.one_of(st.none(), st.none(), levels),
        prefers=st.one_of(st.none(), st.sampled_from(AGENTS)),
    )
    def call_arrives(
        self,
        queue: str,
        priority: int,
        back: float,
        own: dict[str, int] | None,
        prefers: str | None,
    ) -> None:
        call_id = f"c{self.n}"
        self.order[call_id] = self.n
        self.n += 1
        required = self.queue_skills[queue] if own is None else own
        self.live[call_id] = (queue, priority, self.now - back, required, own is not None)
        if (
            prefers is not None
            and back < STICKY[queue]
            and queue in self.serves[prefers]
            and self.state[prefers] is not AgentState.LOGGED_OUT
            and fits(self.skills[prefers], needs_at(required, back))
        ):
            self.held[call_id] = prefers  # offered to it at once if READY (check_offer)
        self.send(
            CallQueued(call_id, queue, "1", priority, entered_at=self.now - back, skills=own,
                       preferred_agent=prefers)
        )  # fmt: skip

    @rule(agent=st.sampled_from(AGENTS), back=st.sampled_from([4.0, 30.0]))
    def call_found_talking(self, agent: str, back: float) -> None:
        """A restart found ``agent`` talking (CallResumed): refused if it rings or talks."""
        call_id = f"c{self.n}"
        queue = self.serves[agent][0]
        self.order[call_id] = self.n
        self.live[call_id] = (queue, 0, self.now - back, {}, True)
        event = CallResumed(call_id, queue, agent, "1", self.now - back, self.now - back / 2)
        try:
            commands = self.acd.handle(event, self.now)
        except InvalidTransition:
            del self.live[call_id]
            assert self.state[agent] in (AgentState.OFFERED, AgentState.ON_CALL)
            return
        self.n += 1
        self.absorb(commands)
        assert self.talking.get(call_id) == agent

    @precondition(lambda self: bool(self.offers))
    @rule(pick=picks, answer=st.booleans(), reason=st.sampled_from(OfferFailure))
    def offer_ends(self, pick: int, answer: bool, reason: OfferFailure) -> None:
        agent = sorted(self.offers)[pick % len(self.offers)]
        call = self.offers[agent]
        self.send(OfferAnswered(call, agent) if answer else OfferFailed(call, agent, reason))
        if answer:  # the first answer wins: no other leg of the call rings (ring-all)
            assert self.talking[call] == agent and call not in self.offers.values()

    @precondition(lambda self: bool(self.live))
    @rule(pick=picks)
    def caller_leaves(self, pick: int) -> None:
        self.send(CallLeft(sorted(self.live)[pick % len(self.live)]))

    @precondition(lambda self: bool(self.talking))
    @rule(pick=picks, counted=st.booleans())
    def conversation_ends(self, pick: int, counted: bool) -> None:
        # counted=False: a callback attempt that reached nobody (core rule 13): given
        # back by its queue, so the count below still holds
        self.send(CallEnded(sorted(self.talking)[pick % len(self.talking)], counted=counted))

    @rule(
        strategies=st.lists(st.sampled_from(list(Strategy)), min_size=3, max_size=3),
        queue_skills=st.lists(levels, min_size=3, max_size=3),
    )
    def reload(self, strategies: list[Strategy], queue_skills: list[dict[str, int]]) -> None:
        """New strategies and queue skills, live: calls without their own take the new ones."""
        self.queue_skills = dict(zip(QUEUES, queue_skills, strict=True))
        for call, (queue, priority, entered, _, own) in list(self.live.items()):
            if not own:
                self.live[call] = (queue, priority, entered, self.queue_skills[queue], own)
        for call, agent in list(self.held.items()):  # let go if it no longer fits
            if not fits(self.skills[agent], self.call_needs(call)):
                del self.held[call]
        self.absorb(self.acd.reconfigure(self.config(strategies, self.seed), self.now))

    @rule(dt=st.sampled_from([0.5, 1.0, 3.0, 7.0, 12.0, 30.0, 61.0]))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        for call, _ in list(self.held.items()):  # its sticky wait is over
            queue, _, entered, _, _ = self.live[call]
            if entered + STICKY[queue] <= self.now:
                del self.held[call]
        self.absorb(self.acd.on_timer(self.now))

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def mirror_matches_the_core(self) -> None:
        snap = self.acd.snapshot(self.now)
        assert {a.agent_id: a.state for a in snap.agents} == self.state
        assert {c.call_id for c in snap.calls} == set(self.live)
        waiting = {c.call_id for c in snap.calls if c.state is CallState.WAITING}
        assert waiting == self.waiting()
        assert {c.call_id: c.preferred_agent for c in snap.calls if c.preferred_agent} == self.held

    @invariant()
    def no_waiting_call_has_a_ready_agent_who_fits_it(self) -> None:
        for call in self.waiting():
            queue = self.live[call][0]
            if call in self.held:  # sticky: only its own agent, never READY meanwhile
                assert self.state[self.held[call]] not in (
                    AgentState.READY, AgentState.LOGGED_OUT,
                ), call  # fmt: skip
                continue
            for agent in AGENTS:
                if (
                    self.state[agent] is AgentState.READY
                    and queue in self.serves[agent]
                    and not self.held_back(call, agent)
                ):
                    assert not fits(self.skills[agent], self.call_needs(call)), (call, agent)

    @invariant()
    def queue_figures_equal_a_recount(self) -> None:
        snap = self.acd.snapshot(self.now)
        for stats in snap.queues:
            mine = [
                c
                for c in snap.calls
                if c.queue == stats.queue and c.state is not CallState.CONNECTED
            ]
            assert stats.waiting == len(mine)
            assert stats.longest_wait_s == max((c.wait_s for c in mine), default=0.0)
            assert sorted(c.position for c in mine) == list(range(1, len(mine) + 1))  # type: ignore[type-var]
            recount = Counter(a.state for a in snap.agents if stats.queue in a.queues)
            assert stats.agents_by_state == {s: recount[s] for s in AgentState}
            # (no caller is lost here: CallLeft is always a hang-up)
            assert stats.offered == stats.answered + stats.abandoned + stats.timed_out + len(mine)

    @invariant()
    def positions_follow_effective_priority(self) -> None:
        snap = self.acd.snapshot(self.now)
        for queue in QUEUES:
            line = sorted(
                (c for c in snap.calls if c.queue == queue and c.position is not None),
                key=lambda c: c.position or 0,
            )
            assert [self.due(c.call_id) for c in line] == sorted(self.due(c.call_id) for c in line)


RoutingMachine.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRoutingMachine = RoutingMachine.TestCase


class RingAllMachine(RoutingMachine):
    """The same rules and invariants with every queue ring-all at the start and agents
    who fit most calls, so one call rings several agents: legs offered all at once, no
    agent with two offers, the first answer cancels the other legs, one outcome."""

    @initialize(
        memberships=st.lists(
            st.lists(st.sampled_from(QUEUES), min_size=1, max_size=3, unique=True),
            min_size=len(AGENTS),
            max_size=len(AGENTS),
        ),
        penalised=st.sets(st.sampled_from(AGENTS), max_size=2),
        seed=st.integers(0, 2**32),
        retry=st.sampled_from([0.0, 5.0]),
    )
    def build(  # type: ignore[override]
        self, memberships: list[list[str]], penalised: set[str], seed: int, retry: float
    ) -> None:
        RoutingMachine.build(
            self,
            strategies=[Strategy.RING_ALL] * 3,
            memberships=memberships,
            agent_skills=[{"en": 3}] * len(AGENTS),
            queue_skills=[{}, {"en": 2}, {}],
            penalised=penalised,
            seed=seed,
            retry=retry,
        )

    @rule()
    def everyone_ready(self) -> None:
        """Every agent logged in and READY if it can be: the next call rings them all."""
        for agent in AGENTS:
            out = self.state[agent] is AgentState.LOGGED_OUT
            self.send(AgentLogin(agent) if out else AgentReady(agent))


RingAllMachine.TestCase.settings = RoutingMachine.TestCase.settings
TestRingAllMachine = RingAllMachine.TestCase
