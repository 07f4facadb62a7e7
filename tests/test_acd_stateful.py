"""Random sequences of agent, caller and clock inputs against the ACD core's invariants.

q2 has a sticky agent wait (``sticky_wait_s``): some of its callers prefer an agent;
such a call may wait while another agent of q2 is READY, only while it is held for
its preferred agent, who is then not READY (``acd.routing`` rule 5). A parked call
(``CallParked``: its PBX out of reach, ``acd.core`` rule 15) is never offered and may
wait while an agent is READY, until it is unparked."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from acd import (
    AGENT_TRANSITIONS,
    Acd,
    AcdConfig,
    AgentConfig,
    AgentInput,
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
    CallParked,
    CallQueued,
    CallState,
    CancelOffer,
    Command,
    Event,
    HoldCaller,
    HoldSliceDone,
    InvalidTransition,
    LeaveReason,
    OfferAnswered,
    OfferCall,
    OfferFailed,
    OfferFailure,
    Outcome,
    OverflowCall,
    PauseEnded,
    QueueConfig,
)

AGENTS = {"a1": ("q1",), "a2": ("q1", "q2"), "a3": ("q2",), "a4": ("q1", "q2")}
QUEUES = ("q1", "q2")
REQUESTS: dict[AgentInput, type[AgentLogin] | type[AgentLogout] | type[AgentReady]] = {
    AgentInput.LOGIN: AgentLogin,
    AgentInput.LOGOUT: AgentLogout,
    AgentInput.READY: AgentReady,
}

agent_ids = st.sampled_from(sorted(AGENTS))
STICKY_S = 20.0
picks = st.integers(min_value=0, max_value=1_000)


class AcdMachine(RuleBasedStateMachine):
    """Mirrors agent states from the emitted AgentStateChanged stream and checks it."""

    def __init__(self) -> None:
        super().__init__()
        self.acd = Acd(
            AcdConfig(
                queues=(
                    QueueConfig("q1", wrap_up_s=5, offer_timeout_s=10, max_wait_s=60),
                    QueueConfig(
                        "q2", wrap_up_s=0, offer_timeout_s=5, hold_slice_s=7, sticky_wait_s=STICKY_S
                    ),
                ),
                agents=tuple(AgentConfig(a, a, f"PJSIP/{a}", q) for a, q in AGENTS.items()),
                rna_pause_after=2,
                offer_grace_s=2,
            )
        )
        self.now = 0.0
        self.mirror = dict.fromkeys(AGENTS, AgentState.LOGGED_OUT)
        self.offers: dict[str, str] = {}  # agent -> call, from OfferCall until it leaves OFFERED
        self.queued = 0
        self.outcomes: Counter[str] = Counter()
        self.connected: Counter[str] = Counter()
        self.live: set[str] = set()
        self.ever: list[str] = []
        self.entered: dict[str, float] = {}
        self.offered_at: dict[str, float] = {}  # call -> start of its current offer
        self.prefers: dict[str, str | None] = {}  # call -> CallQueued.preferred_agent
        self.parked: set[str] = set()  # calls parked now (CallParked)

    # -- plumbing -----------------------------------------------------------

    def send(self, event: Event) -> None:
        before = self.acd.snapshot(self.now)
        try:
            commands = self.acd.handle(event, self.now)
        except InvalidTransition:
            assert self.acd.snapshot(self.now) == before, "a refused input changed state"
            return
        if isinstance(event, CallQueued):
            self.queued += 1
            self.live.add(event.call_id)
        self.absorb(commands)

    def absorb(self, commands: list[Command]) -> None:
        for command in commands:
            if isinstance(command, AgentStateChanged):
                agent = command.agent_id
                assert self.mirror[agent] is command.old, (agent, self.mirror[agent], command)
                if command.new is AgentState.OFFERED:
                    assert command.old is AgentState.READY, f"offer to a {command.old} agent"
                if command.old is AgentState.OFFERED:
                    self.offers.pop(agent, None)
                self.mirror[agent] = command.new
            elif isinstance(command, OfferCall):
                assert self.mirror[command.agent_id] is AgentState.OFFERED
                assert command.call_id not in self.offers.values(), "call offered twice"
                assert command.call_id not in self.parked, "a parked call offered"
                assert command.agent_id not in self.offers, "agent offered two calls"
                self.offers[command.agent_id] = command.call_id
                self.offered_at[command.call_id] = self.now
            elif isinstance(command, CallOutcome):
                assert command.call_id in self.live
                self.live.discard(command.call_id)
                self.parked.discard(command.call_id)
                self.outcomes[command.call_id] += 1
                assert (command.outcome is Outcome.ANSWERED) == (
                    self.connected[command.call_id] == 1
                )
            elif isinstance(command, CallConnected):
                self.connected[command.call_id] += 1
                assert self.connected[command.call_id] == 1
            elif isinstance(command, CancelOffer):
                assert self.offers.get(command.agent_id) in (command.call_id, None)
            elif isinstance(command, PauseEnded):
                # follows the AgentStateChanged out of PAUSED (or to another reason)
                assert command.ended_at == self.now and command.started_at <= self.now
            else:
                assert isinstance(command, (HoldCaller, OverflowCall))

    def calls_in(self, *states: CallState) -> list[str]:
        return sorted(c.call_id for c in self.acd.snapshot(self.now).calls if c.state in states)

    # -- rules --------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        assert self.acd.next_timer() is None

    @rule(agent=agent_ids, request=st.sampled_from(sorted(REQUESTS, key=str)))
    def agent_request(self, agent: str, request: AgentInput) -> None:
        allowed = (self.mirror[agent], request) in AGENT_TRANSITIONS
        self.send(REQUESTS[request](agent))
        if not allowed:
            assert self.acd.agent(agent, self.now).state is self.mirror[agent]

    @rule(agent=agent_ids, reason=st.sampled_from(["break", "lunch"]))
    def pause(self, agent: str, reason: str) -> None:
        self.send(AgentPause(agent, reason))

    @rule(
        queue=st.sampled_from(QUEUES),
        priority=st.integers(0, 2),
        back=st.sampled_from([0, 0, 30, 90]),
        prefers=st.one_of(st.none(), agent_ids),
    )
    def call_arrives(self, queue: str, priority: int, back: float, prefers: str | None) -> None:
        call_id = f"c{len(self.ever)}"
        self.ever.append(call_id)
        self.entered[call_id] = self.now - back
        self.prefers[call_id] = prefers
        self.send(CallQueued(call_id, queue, "100", priority, entered_at=self.now - back,
                             preferred_agent=prefers))  # fmt: skip

    @rule(pick=picks)
    def answer(self, pick: int) -> None:
        if self.offers:
            agent = sorted(self.offers)[pick % len(self.offers)]
            self.send(OfferAnswered(self.offers[agent], agent))

    @rule(pick=picks, reason=st.sampled_from(OfferFailure))
    def offer_fails(self, pick: int, reason: OfferFailure) -> None:
        if self.offers:
            agent = sorted(self.offers)[pick % len(self.offers)]
            self.send(OfferFailed(self.offers[agent], agent, reason))

    @rule(pick=picks, reason=st.sampled_from(LeaveReason))
    def caller_leaves(self, pick: int, reason: LeaveReason) -> None:
        if self.live:
            self.send(CallLeft(sorted(self.live)[pick % len(self.live)], reason))

    @rule(pick=picks, parked=st.booleans())
    def pbx_out_of_reach_or_back(self, pick: int, parked: bool) -> None:
        if self.live:
            call_id = sorted(self.live)[pick % len(self.live)]
            (self.parked.add if parked else self.parked.discard)(call_id)  # before its offer
            self.send(CallParked(call_id, parked))

    @rule(pick=picks)
    def conversation_ends(self, pick: int) -> None:
        connected = self.calls_in(CallState.CONNECTED)
        if connected:
            self.send(CallEnded(connected[pick % len(connected)]))

    @rule(pick=picks)
    def hold_slice_done(self, pick: int) -> None:
        if self.live:
            self.send(HoldSliceDone(sorted(self.live)[pick % len(self.live)]))

    @rule(pick=picks, agent=agent_ids, kind=st.sampled_from(["answer", "fail", "end", "left"]))
    def stale_or_wrong_report(self, pick: int, agent: str, kind: str) -> None:
        """Late or wrong reports: ignored, refused, or (if they happen to be right) applied."""
        if not self.ever:
            return
        call_id = self.ever[pick % len(self.ever)]
        event: Event
        if kind == "answer":
            event = OfferAnswered(call_id, agent)
        elif kind == "fail":
            event = OfferFailed(call_id, agent)
        elif kind == "end":
            event = CallEnded(call_id)
        else:
            event = CallLeft(call_id)
        self.send(event)

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 3.0, 7.0, 12.0, 30.0, 61.0]))
    def time_passes(self, dt: float) -> None:
        self.now += dt
        self.absorb(self.acd.on_timer(self.now))

    # -- invariants ---------------------------------------------------------

    @invariant()
    def emitted_states_match_the_core(self) -> None:
        snapshot = self.acd.snapshot(self.now)
        assert {a.agent_id: a.state for a in snapshot.agents} == self.mirror

    @invariant()
    def one_call_per_agent_and_one_agent_per_call(self) -> None:
        snapshot = self.acd.snapshot(self.now)
        held = [a.call_id for a in snapshot.agents if a.call_id is not None]
        assert len(held) == len(set(held))
        by_agent = {a.agent_id: a for a in snapshot.agents}
        for agent in snapshot.agents:
            assert (agent.call_id is not None) == (
                agent.state in (AgentState.OFFERED, AgentState.ON_CALL)
            )
        for call in snapshot.calls:
            if call.state in (CallState.OFFERED, CallState.CONNECTED):
                assert call.agent_id is not None
                assert by_agent[call.agent_id].call_id == call.call_id
            else:
                assert call.agent_id is None
                assert call.call_id not in held
        offered = {a.call_id for a in snapshot.agents if a.state is AgentState.OFFERED}
        assert offered == {c.call_id for c in snapshot.calls if c.state is CallState.OFFERED}
        assert offered == set(self.offers.values())

    @invariant()
    def every_call_that_left_has_exactly_one_outcome(self) -> None:
        live = {c.call_id for c in self.acd.snapshot(self.now).calls}
        assert live == self.live
        assert all(count == 1 for count in self.outcomes.values())
        assert not live & set(self.outcomes)

    @invariant()
    def waiting_plus_connected_plus_ended_is_queued(self) -> None:
        snapshot = self.acd.snapshot(self.now)
        waiting = sum(q.waiting for q in snapshot.queues)
        connected = sum(c.state is CallState.CONNECTED for c in snapshot.calls)
        assert waiting + connected + len(self.outcomes) == self.queued
        assert sum(q.offered for q in snapshot.queues) == self.queued

    @invariant()
    def no_call_waits_while_an_agent_of_its_queue_is_ready(self) -> None:
        snapshot = self.acd.snapshot(self.now)
        ready = {q for a in snapshot.agents if a.state is AgentState.READY for q in a.queues}
        for call in snapshot.calls:
            if call.state is not CallState.WAITING or call.call_id in self.parked:
                continue
            held = call.preferred_agent
            if held is None:
                assert call.queue not in ready, call
                continue
            # the sticky exception, only for this call: held for the agent it was queued
            # with, of its queue, within its sticky wait, and that agent is not READY
            assert held == self.prefers[call.call_id] and call.queue == "q2", call
            assert call.queue in AGENTS[held], call
            assert call.wait_s < STICKY_S, call
            assert self.mirror[held] not in (AgentState.READY, AgentState.LOGGED_OUT), call

    @invariant()
    def no_call_waits_past_max_wait(self) -> None:
        """q1 has max_wait_s=60: waiting past it times out; an offer started before may ring on."""
        for call in self.acd.snapshot(self.now).calls:
            if call.queue == "q1" and call.state is CallState.WAITING:
                assert call.wait_s < 60, call
            if call.queue == "q1" and call.state is CallState.OFFERED:
                assert self.offered_at[call.call_id] - self.entered[call.call_id] < 60, call

    @invariant()
    def no_deadline_is_left_behind(self) -> None:
        deadline = self.acd.next_timer()
        assert deadline is None or deadline > self.now


AcdMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAcdMachine = AcdMachine.TestCase
