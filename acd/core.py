"""The ACD core: routes queued calls to agents; events and ``now`` in, commands out.

Rules:
1. Everything that changes an agent or a call goes through ``handle(event,
   now)`` or ``on_timer(now)``; both return the shell's commands, in order.
   ``now`` is the shell's monotonic clock and never goes backwards.
2. State changes follow ``AGENT_TRANSITIONS`` and ``CALL_TRANSITIONS``; an
   input with no entry raises InvalidTransition before anything changes.
3. The core is work-conserving: after every input no call is WAITING while
   an agent of its queue who fits it is READY (``_dispatch`` runs last, and
   routes only the calls and agents that input changed: ``acd.routing``).
4. Each queue routes by its strategy (``acd.ready``), skills and aging
   priority (``acd.line``); one offer per agent and per call (ring-all: one
   call rings every READY agent of the lowest penalty who fits, the first
   answer wins and the other legs are cancelled); a call whose
   offer failed goes to another READY agent if any, else back to the same
   one (after ``retry_same_agent_s``). A call past its ``max_wait_s`` is
   never offered. Reads of the live state never change it.
5. Each queue visit ends with exactly one CallOutcome. Reports about an offer
   that no longer exists (an OfferFailed or OfferAnswered after CancelOffer,
   a CallLeft for an ended call) are stale: ignored, no error.
6. Music on hold is a chain: HoldCaller(call, s) -> the shell plays ``s``
   seconds and reports HoldSliceDone -> the next HoldCaller, while the call
   is unanswered. Slices stop at ``max_wait_s``, so a timeout lands between
   two slices.
7. A skill relax step, or the end of a retry delay, takes effect when
   ``on_timer`` fires it; all those due are applied before any other deadline
   due in the same call (they only change what a call may be offered to).
8. Every figure the wallboard reads is kept up to date at each change or
   read from the queue's own calls (``acd.board``), so ``snapshot`` costs
   what it shows.
9. ``reconfigure`` swaps the configuration live; waiting callers keep their
   entry, priority and arrival order under the new rules.
10. A queue's other overflow conditions end a call with TIMEOUT and an
   ``OverflowCall`` naming its reason: ``max_length`` (that many calls already
   unanswered when it arrives) and ``join_empty`` (no agent of the queue able to
   take calls: each logged out or paused) at arrival, ``leave_empty`` for every
   WAITING call when the last such agent logs out or pauses.
11. A supervisor moves only a WAITING call (``MoveCall``; else CallNotWaiting,
   nothing changed): to another queue with its entry time kept (its wait, its
   max-wait deadline from that entry under the new queue's ``max_wait_s``,
   refused with PastMaxWait when already past it; the new queue's skills unless
   it brought its own; the new queue's arrival conditions of rule 10 are not
   asked: the supervisor chose), to a new base priority (its own place in line
   again), and/or to a position of its queue's line (``acd.line.place``). A
   moved call counts once as offered, in the queue it is in: the queue it left
   gives the count back. ``CallMoved`` tells the shell, then it is routed.
12. Sticky agent (``acd.routing`` rule 5, the one exception to rule 3): a call
   queued with a preferred agent who serves its queue and fits it, in a queue
   with ``sticky_wait_s`` > 0, is offered to that agent at once if READY, else
   waits for that agent alone until it is READY (it takes its held calls
   first), logs out, or ``entered_at + sticky_wait_s`` (a STICKY deadline,
   fired with the relax steps: it only changes whom the call may be offered
   to); then it is routed as any other. Once offered, or moved (rule 11), the
   preference is spent. ``CallQueued.preferred_wait_s`` (a transfer to a named
   agent) holds the call that long instead of the queue's ``sticky_wait_s``, in
   any queue, kept across a reload, and for an agent logged out when the call is
   queued too (a restarted controller queues its callers before it logs its agents
   back in): it waits for that agent's login until the deadline.
13. Each call counts once in the queues' tallies (``acd.stats``), as
   ``docs/kpis.md`` counts it: ``offered`` at ``CallQueued``, then its one outcome.
   A ``TimeoutDropped`` (the shell sent the call on to another queue after its
   ``TIMEOUT``, or a callback ends failed) is given back by that queue (offered
   and timed out); a
   ``CallEnded(counted=False)`` (a callback attempt that reached nobody) gives back
   the queue's offered and answered counts (wait, within-SL) and adds no talk
   sample (``acd.ewt``): the call is counted when it is queued again. The agent's
   own figures (calls, talk time: the routing strategies') count it as worked.
14. A consultation before an attended transfer (``ConsultStarted``) rings a READY
   agent for a CONNECTED call it is not connected to: that agent is OFFERED (reason
   ``consult``) without any offer of the call (no ``OfferCall``, no offer timeout: the
   shell hears how the ringing ends) and so is never offered another call meanwhile.
   ``ConsultEnded`` frees it (cancelled: READY, its idle place kept), fails it (as a
   failed offer: agent rule 4, the call stays with its agent), or hands it the call
   (``transferred``): the first agent's visit ends as any conversation (wrap-up, the
   call's one outcome), and the consulted agent is ON_CALL with the same call id,
   CONNECTED from then on as a ``CallResumed`` call is (not counted again).
15. A parked call (``CallParked``: the shell lost the link to the call's PBX) is
   offered to no one and is out of its line (``Router.call_in`` skips it); it stays
   WAITING with its entry, priority and max-wait deadline and counts in the figures
   (a caller the PBX still holds is waiting). An offer already out ends as any other
   (a failure puts it back WAITING, parked). Unparked, it is routed as a call that
   just became WAITING, in its old place. The exception to rule 3: an agent stays
   READY while only parked calls wait.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._check import check_time
from .agent import AGENT_TRANSITIONS, Agent, AgentInput, AgentState
from .board import Board
from .call import CALL_TRANSITIONS, UNANSWERED, Call, CallInput, CallState
from .commands import (
    CallMoved,
    CancelOffer,
    Command,
    HoldCaller,
    Outcome,
    OverflowCall,
    PauseEnded,
    WrapUpExtended,
    build_call_connected,
    build_call_outcome,
    build_hold_caller,
    build_offer_call,
    build_state_changed,
)
from .config import AcdConfig, QueueConfig, Strategy
from .errors import (
    CallNotWaiting,
    DuplicateCall,
    InvalidValue,
    PastMaxWait,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
    WrapUpLimit,
)
from .events import (
    AgentLogin,
    AgentLogout,
    AgentPause,
    AgentReady,
    CallEnded,
    CallLeft,
    CallParked,
    CallQueued,
    CallResumed,
    ConsultEnded,
    ConsultStarted,
    Event,
    HoldSliceDone,
    LeaveReason,
    MoveCall,
    OfferAnswered,
    OfferFailed,
    OfferFailure,
    TimeoutDropped,
    WrapUpExtend,
)
from .line import due_key, line_key, place
from .queue import Queue
from .rng import SplitMix64
from .routing import Router
from .skills import SkillBits, fits, relax_level, requirement
from .snapshot import AcdSnapshot, AgentView, CallView, in_line
from .stats import QueueStats
from .table import next_state
from .timers import Deadlines, TimerKind

# Enum members the hot paths compare with, as module globals: ``AgentState.READY``
# goes through the enum class's attribute look-up (about 60 ns on CPython 3.11, a
# global about 10), and a routing decision reads some forty of them.
_READY = AgentState.READY
_OFFERED = AgentState.OFFERED
_ON_CALL = AgentState.ON_CALL
_PAUSED = AgentState.PAUSED
_WRAP_UP_STATE = AgentState.WRAP_UP
_WAITING = CallState.WAITING
_OFFERED_CALL = CallState.OFFERED
_ENDED = CallState.ENDED
_ANSWERED = Outcome.ANSWERED
_ABANDONED = Outcome.ABANDONED
_TIMEOUT = Outcome.TIMEOUT
_RING_ALL = Strategy.RING_ALL
_OFFER_TIMEOUT = TimerKind.OFFER_TIMEOUT
_WRAP_UP = TimerKind.WRAP_UP
_MAX_WAIT = TimerKind.MAX_WAIT
_RELAX = TimerKind.RELAX
_RETRY = TimerKind.RETRY
_STICKY = TimerKind.STICKY
_AGENT_OFFER = AgentInput.OFFER
_AGENT_CALL_ENDED = AgentInput.CALL_ENDED
_CALL_OFFER = CallInput.OFFER
_CALL_END = CallInput.END
_INF = float("inf")


class Acd:
    """Queues, agents and routing (strategies, skills, aging priority) for one controller."""

    def __init__(self, config: AcdConfig) -> None:
        if not isinstance(config, AcdConfig):
            raise InvalidValue(f"Acd needs an AcdConfig, got {config!r}")
        self._rng = SplitMix64(config.seed)
        self._skill_bits = SkillBits()  # kept across reloads: a skill's bit never changes
        agents = {a.agent_id: Agent(a, i) for i, a in enumerate(config.agents)}
        self._build(config, agents, None, None)
        self._calls: dict[str, Call] = {}
        # what the current input made WAITING or READY: routed by _dispatch
        self._new_calls: list[Call] = []
        self._new_agents: list[Agent] = []
        self._timers = Deadlines()
        # relax steps and retries apart: all those due are applied before any
        # other deadline (they only change what a call may be offered to)
        self._relax_at = Deadlines()
        self._seq = itertools.count()
        self._logins = itertools.count(1)
        self._now = -_INF  # the last ``now``
        #: the reason of the next OverflowCall (``_refused``, ``_withdraw``; else max_wait)
        self._overflow_reason = "max_wait"

    def _build(
        self,
        config: AcdConfig,
        agents: dict[str, Agent],
        old_board: Board | None,
        old_router: Router | None,
    ) -> None:
        """Everything derived from the configuration: queues, indexes, figures."""
        self._config = config
        self._queues = {q.name: q for q in config.queues}
        self._agents = agents
        self._board = Board(self._queues, agents.values(), old_board)
        self._changed = self._board.changed
        self._router = Router(self._queues, agents.values(), self._rng, self._skill_bits)
        if old_router is not None:
            self._router.remember(old_router)
        # each queue's parts, as its calls reach them (``acd.queue``), with its own
        # requirement at each relax level (most calls bring none)
        self._parts = {
            name: Queue(
                q,
                self._board.queues[name],
                self._board.calls_in[name],
                self._router.lines[name],
                self._router.ready[name],
                needs := [
                    requirement(q.skills, 0),
                    *(requirement(q.skills, r.lower_by) for r in q.relax),
                ],
                [self._skill_bits.need(n) for n in needs],
            )
            for name, q in self._queues.items()
        }

    @property
    def config(self) -> AcdConfig:
        return self._config

    def reconfigure(self, config: AcdConfig, now: float) -> list[Command]:
        """Take a new configuration live: queues, strategies, skills, rules, agents.

        Callers already waiting keep their place under the new rules: their
        entry time, priority and arrival order are kept, the line is sorted by
        the new aging, their relax step and max-wait deadline are recomputed
        from their wait, and they take the queue's new skills unless they
        brought their own. Agents keep their state, idle time, counts and
        pause; a round-robin queue whose strategy is unchanged keeps its place.
        Returns what the new rules allow at once (offers, timeouts).

        Raises InvalidValue, with nothing changed, if it would drop a queue that
        still holds a call or an agent that is not LOGGED_OUT.
        """
        if not isinstance(config, AcdConfig):
            raise InvalidValue(f"reconfigure needs an AcdConfig, got {config!r}")
        self._advance(now)
        self._settle()
        names = {q.name for q in config.queues}
        for call in self._calls.values():
            if call.queue not in names:
                raise InvalidValue(
                    f"AcdConfig.queues drops {call.queue!r}, which still holds call {call.call_id!r}"
                )
        kept = {a.agent_id for a in config.agents}
        for agent in self._agents.values():
            if agent.agent_id not in kept and agent.state is not AgentState.LOGGED_OUT:
                raise InvalidValue(
                    f"AcdConfig.agents drops {agent.agent_id!r}, which is {agent.state.name}: "
                    "log it out first"
                )
        agents: dict[str, Agent] = {}
        for order, agent_config in enumerate(config.agents):
            known = self._agents.get(agent_config.agent_id)
            if known is None:
                known = Agent(agent_config, order)
            else:
                self._router.agent_out(known)
                known.config, known.order, known.view = agent_config, order, None
                known.device = agent_config.device
            agents[agent_config.agent_id] = known
        for call in self._calls.values():
            self._router.call_out(call)
        self._build(config, agents, self._board, self._router)
        for call in sorted(self._calls.values(), key=lambda c: c.seq):
            call.queued_in = self._parts[call.queue]
            self._board.call_added(call)
            if call.last_agent is not None and call.last_agent not in agents:
                call.last_agent = None
            if call.state is CallState.CONNECTED:
                continue
            queue = self._queues[call.queue]
            if not call.own_skills:
                call.skills = queue.skills
            self._relax_at.cancel((TimerKind.RELAX, call.call_id))
            self._relax(call, now)
            if call.preferred is not None:  # rule 12 under the new rules, or spent
                preferred = agents.get(call.preferred)
                wait = queue.sticky_wait_s if call.prefer_wait is None else call.prefer_wait
                until = call.entered_at + wait
                if (
                    wait <= 0
                    or preferred is None
                    or call.queue not in preferred.config.queues
                    or not fits(preferred.skills, call.needs)
                    or until <= now
                ):
                    self._unstick(call)
                else:
                    self._relax_at.set((_STICKY, call.call_id), until)
            if queue.max_wait_s is None:
                call.max_wait_at = None
                self._timers.cancel((TimerKind.MAX_WAIT, call.call_id))
            else:
                call.max_wait_at = call.entered_at + queue.max_wait_s
                self._timers.set((TimerKind.MAX_WAIT, call.call_id), call.max_wait_at)
            if call.state is CallState.WAITING:
                self._new_calls.append(call)
        for agent in agents.values():
            if agent.state is AgentState.READY:
                self._router.agent_in(agent)
        out: list[Command] = []
        for call in [c for c in self._calls.values() if c.state is CallState.WAITING]:
            if _overdue(call, now):  # a shorter max_wait_s: due already
                self._finish(call, CallInput.MAX_WAIT, Outcome.TIMEOUT, now, out)
        self._dispatch(now, out)
        return out

    # -- inputs ---------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Command]:
        """Apply one event at ``now``; return the commands for the shell, in order.

        Raises InvalidTransition (nothing changed) when the event is not allowed
        in the current state, UnknownAgent/UnknownQueue for ids not configured,
        DuplicateCall when a call id is queued twice.
        """
        if type(now) is not float or not -_INF < now < _INF:  # a finite float needs no check
            check_time("now", now)
        if now < self._now:
            raise InvalidValue(f"now went backwards: {now} < {self._now}")
        self._now = now
        if self._new_agents or self._new_calls:
            self._settle()
        step = _STEPS.get(type(event))
        if step is None:  # a subclass of an event, or not an event
            step = next((f for cls, f in _STEPS.items() if isinstance(event, cls)), None)
            if step is None:
                raise InvalidValue(f"not an ACD event: {event!r}")
        return step(self, event, now)

    def _agent_login(self, event: AgentLogin, now: float) -> list[Command]:
        return self._login(self._agent(event.agent_id), now, event.paused)

    def _agent_logout(self, event: AgentLogout, now: float) -> list[Command]:
        return self._withdraw(self._agent(event.agent_id), AgentInput.LOGOUT, "logout", now)

    def _agent_ready(self, event: AgentReady, now: float) -> list[Command]:
        return self._ready_up(self._agent(event.agent_id), now)

    def _agent_pause(self, event: AgentPause, now: float) -> list[Command]:
        agent = self._agent(event.agent_id)
        codes = self._config.pause_codes
        if codes and event.reason not in codes:
            raise InvalidValue(
                f"pause reason {event.reason!r} is not in AcdConfig.pause_codes {codes!r}"
            )
        return self._withdraw(agent, AgentInput.PAUSE, event.reason, now)

    def _wrap_up_extend(self, event: WrapUpExtend, now: float) -> list[Command]:
        """Move the wrap-up's end ``event.seconds`` later, capped at its limit (agent
        rule 6): the WRAP_UP timer is re-set, so the agent is READY only then."""
        agent = self._agent(event.agent_id)
        next_state(AGENT_TRANSITIONS, agent.state, AgentInput.EXTEND_WRAP_UP, machine="agent",
                   subject=agent.agent_id)  # fmt: skip
        until = min(agent.wrap_up_until + event.seconds, agent.wrap_up_limit)
        if until <= agent.wrap_up_until or until <= now:
            raise WrapUpLimit(agent.agent_id, agent.wrap_up_limit - agent.since)
        agent.wrap_up_until = until
        agent.view = None
        self._timers.set((_WRAP_UP, agent.agent_id), until)
        return [WrapUpExtended(agent.agent_id, now, until, agent.wrap_up_limit)]

    def next_timer(self) -> float | None:
        """The earliest deadline (shell's clock) at which ``on_timer`` must run, or None."""
        deadlines = [d for d in (self._timers.next(), self._relax_at.next()) if d is not None]
        return min(deadlines) if deadlines else None

    def on_timer(self, now: float) -> list[Command]:
        """Fire every deadline due at ``now`` (deadline <= now), in deadline order.

        Skill relax steps due are applied first, whatever their deadline: every
        decision this call makes is made at ``now``, with what callers require
        at ``now``.
        """
        self._advance(now)
        self._settle()
        out: list[Command] = []
        while (key := self._relax_at.pop_due(now)) is not None:
            call = self._calls[key[1]]
            if key[0] is TimerKind.RELAX:
                self._relax(call, now)
            elif key[0] is _STICKY:  # rule 12: no longer held for its preferred agent
                if call.preferred is not None:
                    self._unstick(call)
                    if call.state is CallState.WAITING:
                        self._new_calls.append(call)
            elif call.state is CallState.WAITING:  # RETRY: its last agent may have it now
                self._new_calls.append(call)
        self._dispatch(now, out)
        while (key := self._timers.pop_due(now)) is not None:
            kind, ident = key
            if kind is TimerKind.OFFER_TIMEOUT:
                call = self._calls[ident]
                legs = list(call.ringing) if call.ringing else [call.agent_id]
                for agent_id in legs:
                    assert agent_id is not None
                    out.append(CancelOffer(call.call_id, agent_id))
                    out += self._fail_offer(
                        call, self._agents[agent_id], OfferFailure.NO_REPORT, now
                    )
            elif kind is TimerKind.WRAP_UP:
                agent = self._agents[ident]
                self._step_agent(agent, AgentInput.WRAP_UP_ELAPSED, now, "wrap-up-elapsed", out)
                self._dispatch(now, out)
            else:
                call = self._calls[ident]
                if call.state is CallState.WAITING:
                    self._finish(call, CallInput.MAX_WAIT, Outcome.TIMEOUT, now, out)
                else:  # OFFERED: deferred until that offer fails (call.py rule 5)
                    self._step_call(call, CallInput.MAX_WAIT)
        return out

    # -- reads ----------------------------------------------------------------

    def queue_config(self, name: str) -> QueueConfig | None:
        """The configuration of queue ``name`` now (None: no such queue); O(1)."""
        return self._queues.get(name)

    def queue_stats(self, queue: str, now: float) -> QueueStats:
        """Figures of ``queue`` at ``now``; see QueueStats for the formulas. O(its calls)."""
        check_time("now", now)
        return self._board.queue_stats(self._queue(queue).name, now)

    def snapshot(self, now: float, queues: Iterable[str] | None = None) -> AcdSnapshot:
        """Agents, calls and queue figures at ``now`` (for wallboards and resync).

        Every queue by default; with ``queues``, only those queues, their calls
        and the agents serving them. Costs O(what it shows) (``acd.board``).
        """
        check_time("now", now)
        if queues is None:
            return self._board.snapshot(
                now, list(self._queues), self._agents.values(), self._calls.values()
            )
        names = list(dict.fromkeys(self._queue(name).name for name in queues))
        return self._board.snapshot(now, names, None, None)

    def agent(self, agent_id: str, now: float) -> AgentView:
        """One agent at ``now``."""
        check_time("now", now)
        return self._board.agent_view(self._agent(agent_id), now)

    def next_ready(self, queue: str, exclude: str | None) -> str | None:
        """The READY agent of ``queue`` its strategy picks next (never ``exclude``), as
        routing a call of that queue with no skill requirement would (``acd.ready``:
        a random strategy draws, as routing does), or None: none READY."""
        ready = self._router.ready.get(queue)
        agent = None if ready is None else ready.pick(0, exclude, {})
        return None if agent is None else agent.agent_id

    def call(self, call_id: str, now: float) -> CallView | None:
        """One call at ``now``, or None if it is not (or no longer) in a queue."""
        check_time("now", now)
        call = self._calls.get(call_id)
        return None if call is None else self._board.call_view(call, now)

    def pause_totals(self, agent_id: str, now: float) -> dict[str, float]:
        """Seconds ``agent_id`` spent paused per reason, the running pause up to ``now``."""
        check_time("now", now)
        agent = self._agent(agent_id)
        totals = dict(agent.paused_s)
        if agent.state is AgentState.PAUSED:
            totals[agent.reason] = totals.get(agent.reason, 0.0) + max(0.0, now - agent.since)
        return totals

    # -- calls ----------------------------------------------------------------
    # The steps below append the commands they make to ``out``, in order.

    def _call_queued(self, event: CallQueued, now: float) -> list[Command]:
        parts = self._parts.get(event.queue)
        if parts is None:
            raise UnknownQueue(event.queue)
        queue = parts.config
        call_id = event.call_id
        if call_id in self._calls:
            raise DuplicateCall(call_id)
        entered = now if event.entered_at is None else event.entered_at
        if entered > now:
            raise InvalidValue(f"CallQueued.entered_at {entered} is after now {now}")
        skills = event.skills
        call = Call(
            call_id,
            queue.name,
            event.caller_number,
            event.priority,
            event.customer_id,
            entered,
            next(self._seq),
            skills=queue.skills if skills is None else skills,
            own_skills=skills is not None,
        )
        call.queued_in = parts
        if skills is None and entered == now:  # a new caller, the queue's skills: _relax inline
            level = parts.entry_level
            call.needs, call.bits = parts.needs[level], parts.bits[level]
            after = parts.relax_next[level]
            if after is not None:
                self._relax_at.set((_RELAX, call_id), entered + after)
        else:
            self._relax(call, now)
        if event.preferred_agent is not None:
            call.prefer_wait = event.preferred_wait_s
            self._stick(call, event.preferred_agent, now)
        self._calls[call_id] = call
        parts.calls[call_id] = call
        parts.board.tally.offered += 1
        out: list[Command] = []
        if queue.max_length is not None or not queue.join_empty:
            reason = self._refused(parts, call)
            if reason is not None:  # rule 10: it overflows at once
                self._overflow_reason = reason
                self._finish(call, CallInput.MAX_WAIT, _TIMEOUT, now, out)
                return out
        if queue.max_wait_s is not None:
            call.max_wait_at = entered + queue.max_wait_s
            if call.max_wait_at <= now:  # restored after its deadline
                self._finish(call, CallInput.MAX_WAIT, _TIMEOUT, now, out)
                return out
            self._timers.set((_MAX_WAIT, call_id), call.max_wait_at)
        out.append(build_hold_caller(call_id, self._slice(call, queue, now)))
        if not self._new_calls and not self._new_agents:  # it alone is new: route it
            self._route_call(call, now, out, [])
            return out
        self._new_calls.append(call)
        self._dispatch(now, out)
        return out

    def _call_resumed(self, event: CallResumed, now: float) -> list[Command]:
        queue = self._queue(event.queue)
        agent = self._agent(event.agent_id)
        if event.call_id in self._calls:
            raise DuplicateCall(event.call_id)
        # an agent ringing or talking already has no RESUME_CALL: refused before any change
        next_state(AGENT_TRANSITIONS, agent.state, AgentInput.RESUME_CALL, machine="agent",
                   subject=agent.agent_id)  # fmt: skip
        call = Call(
            call_id=event.call_id,
            queue=queue.name,
            caller_number=event.caller_number,
            priority=0,
            customer_id=None,
            entered_at=min(event.entered_at, now),
            seq=next(self._seq),
            state=CallState.CONNECTED,
            agent_id=agent.agent_id,
            agent=agent,
            connected_at=min(event.connected_at, now),
        )
        call.queued_in = self._parts[queue.name]
        self._add_call(call)
        out: list[Command] = []
        self._step_agent(agent, AgentInput.RESUME_CALL, now, "resumed", out, event.call_id)
        agent.call_id = event.call_id
        self._timers.cancel((_WRAP_UP, agent.agent_id))  # it was in wrap-up, maybe
        self._dispatch(now, out)
        return out

    def _consult_started(self, event: ConsultStarted, now: float) -> list[Command]:
        """Rule 14: ``event.agent_id`` is rung to consult about a CONNECTED call."""
        agent = self._agent(event.agent_id)
        call = self._calls.get(event.call_id)
        if call is None or call.state is not CallState.CONNECTED:
            raise UnknownCall(event.call_id)
        if call.agent is agent:
            raise InvalidValue(f"ConsultStarted: agent {agent.agent_id} already talks to "
                               f"call {event.call_id}")  # fmt: skip
        out: list[Command] = []
        self._step_agent(agent, AgentInput.OFFER, now, "consult", out, event.call_id)
        return out

    def _consult_ended(self, event: ConsultEnded, now: float) -> list[Command]:
        """Rule 14: the consulted agent is freed, failed, or takes the call over."""
        agent = self._agent(event.agent_id)
        if agent.state is not AgentState.OFFERED or agent.call_id != event.call_id:
            return []  # stale: not (or no longer) consulted about that call
        call = self._calls.get(event.call_id)
        if call is not None and call.state is CallState.OFFERED and call.agent is agent:
            return []  # a real offer of the call (rule 4), not a consultation
        out: list[Command] = []
        if not event.transferred or call is None or call.state is not CallState.CONNECTED:
            if event.failure is None:
                self._step_agent(agent, AgentInput.OFFER_CANCELLED, now, "consult-ended", out)
            else:
                agent.rna_count += 1
                kind = (OfferFailure.NO_ANSWER if event.failure is OfferFailure.NO_REPORT
                        else event.failure)  # fmt: skip
                agent.fails[kind] = count = agent.fails.get(kind, 0) + 1
                limit = self._config.pause_limit(kind)
                if limit and count >= limit:
                    self._step_agent(agent, AgentInput.RNA_LIMIT, now,
                                     self._config.pause_reason(event.failure), out)  # fmt: skip
                else:
                    self._step_agent(agent, AgentInput.OFFER_FAILED, now,
                                     event.failure.value, out)  # fmt: skip
            self._dispatch(now, out)
            return out
        queue, number = call.queued_in.config, call.caller_number
        out = self._conversation_over(call, _CALL_END, now)
        self._step_agent(agent, AgentInput.ANSWER, now, "consult-answered", out)
        _reset_failures(agent)
        agent.call_id = event.call_id
        taken = Call(
            call_id=event.call_id,
            queue=queue.name,
            caller_number=number,
            priority=0,
            customer_id=None,
            entered_at=now,  # its visit with the consulted agent: no wait
            seq=next(self._seq),
            state=CallState.CONNECTED,
            agent_id=agent.agent_id,
            agent=agent,
            connected_at=now,
        )
        taken.queued_in = self._parts[queue.name]
        self._add_call(taken)
        return out

    def _hold_slice_done(self, event: HoldSliceDone, now: float) -> list[Command]:
        call = self._calls.get(event.call_id)
        if call is None or self._step_call(call, CallInput.HOLD_DONE) is CallState.CONNECTED:
            return []
        return [HoldCaller(call.call_id, self._slice(call, self._queues[call.queue], now))]

    def _call_left(self, event: CallLeft, now: float) -> list[Command]:
        call = self._calls.get(event.call_id)
        if call is None:
            return []
        if call.state is CallState.CONNECTED:
            return self._conversation_over(call, CallInput.LEAVE, now)
        gone = Outcome.LOST if event.reason is LeaveReason.LOST else Outcome.ABANDONED
        out: list[Command] = []
        if call.state is CallState.WAITING:
            self._finish(call, CallInput.LEAVE, gone, now, out)
            return out
        for agent_id in list(call.ringing) if call.ringing else [call.agent_id]:
            assert agent_id is not None
            out.append(CancelOffer(call.call_id, agent_id))
            self._step_agent(self._agents[agent_id], AgentInput.OFFER_CANCELLED, now,
                             "offer-cancelled", out)  # fmt: skip
        call.ringing = []
        self._finish(call, CallInput.LEAVE, gone, now, out)
        self._dispatch(now, out)
        return out

    def _timeout_dropped(self, event: TimeoutDropped, now: float) -> list[Command]:
        """Rule 13: the shell keeps no timeout for that visit; its queue gives it back."""
        parts = self._parts.get(event.queue)
        if parts is None:
            raise UnknownQueue(event.queue)
        call = self._calls.get(event.call_id)
        if call is not None and call.queued_in is parts:
            raise InvalidValue(f"TimeoutDropped: call {event.call_id} is still in {event.queue}")
        tally = parts.board.tally
        if tally.timed_out > 0 and tally.offered > 0:  # none to give back: counted before a restart
            tally.timed_out -= 1
            tally.offered -= 1
        return []

    def _call_parked(self, event: CallParked, now: float) -> list[Command]:
        """Rule 15: out of reach, a call is offered to no one; back, it is routed."""
        call = self._calls.get(event.call_id)
        if call is None or call.parked is event.parked:
            return []
        call.parked = event.parked
        out: list[Command] = []
        if event.parked:
            self._router.call_out(call)  # out of its line, or of its preferred agent's hold
        elif call.state is CallState.WAITING:
            self._new_calls.append(call)
            self._dispatch(now, out)
        return out

    def _call_ended(self, event: CallEnded, now: float) -> list[Command]:
        call = self._calls.get(event.call_id)
        if call is None:
            return []
        return self._conversation_over(call, _CALL_END, now, event.counted)

    def _move_call(self, event: MoveCall, now: float) -> list[Command]:
        """Rule 11: a supervisor moves a WAITING call (queue, priority, place in line)."""
        call = self._calls.get(event.call_id)
        if call is None:
            raise UnknownCall(event.call_id)
        parts = call.queued_in if event.queue is None else self._parts.get(event.queue)
        if parts is None:
            raise UnknownQueue(str(event.queue))
        if (call.state, CallInput.MOVE) not in CALL_TRANSITIONS:
            agents = tuple(call.ringing) or ((call.agent_id,) if call.agent_id else ())
            raise CallNotWaiting(call.call_id, call.state, agents)
        old, call_id = call.queued_in, call.call_id
        limit = parts.config.max_wait_s
        if parts is not old and limit is not None and call.entered_at + limit <= now:
            raise PastMaxWait(call_id, parts.config.name, now - call.entered_at, limit)
        self._router.call_out(call)  # out of its line under its old key and skill class
        if call.preferred is not None:  # rule 12: the supervisor's choice spends it
            self._unstick(call)
        if parts is not old:
            del old.calls[call_id]  # the board's calls_in of that queue
            old.board.tally.offered -= 1  # counted once, in the queue it is in
            call.queue, call.queued_in = parts.config.name, parts
            parts.calls[call_id] = call
            parts.board.tally.offered += 1
            if not call.own_skills:
                call.skills = parts.config.skills
            call.last_agent = call.failed_at = None  # no retry of another queue's agent
            self._relax_at.cancel((_RETRY, call_id))
            self._relax_at.cancel((_RELAX, call_id))
            self._relax(call, now)
            call.max_wait_at = None if limit is None else call.entered_at + limit
            if call.max_wait_at is None:
                self._timers.cancel((_MAX_WAIT, call_id))
            else:
                self._timers.set((_MAX_WAIT, call_id), call.max_wait_at)
        if event.priority is not None:
            call.priority = event.priority
        if parts is not old or event.priority is not None:  # its own place again
            call.rank, call.since, call.nudge = call.priority, call.entered_at, 0.0
        aging = parts.config.aging_per_s
        if event.position is not None:
            others = [c for c in in_line(parts.calls.values(), aging) if c is not call]
            if not place(call, others, event.position, aging):
                self._renumber(others, others[event.position - 1], aging)
                place(call, others, event.position, aging)
        position = in_line(parts.calls.values(), aging).index(call) + 1
        out: list[Command] = [
            CallMoved(call_id, old.config.name, call.queue, call.priority, position,
                      max(0.0, now - call.entered_at))
        ]  # fmt: skip
        if all(c is not call for c in self._new_calls):
            self._new_calls.append(call)
        self._dispatch(now, out)
        return out

    def _renumber(self, calls: list[Call], like: Call, aging: float) -> None:
        """Give the calls of ``calls`` (in line order) that rank alike with ``like``
        nudges 0, 2, 4... in their order: room for a call between any two of them."""
        key = line_key(like, aging)[:2]
        for n, call in enumerate(c for c in calls if line_key(c, aging)[:2] == key):
            lined = call.lined
            self._router.call_out(call)
            call.nudge = 2.0 * n
            if lined:
                self._router.call_in(call)

    def _conversation_over(
        self, call: Call, input: CallInput, now: float, counted: bool = True
    ) -> list[Command]:
        if (call.state, input) not in CALL_TRANSITIONS:
            next_state(CALL_TRANSITIONS, call.state, input, machine="call", subject=call.call_id)
        agent = call.agent
        assert agent is not None
        out: list[Command] = []
        if agent.state is not _ON_CALL:  # raises InvalidTransition
            self._step_agent(agent, _AGENT_CALL_ENDED, now, "call-ended", out)
        # _step_agent's ON_CALL -> WRAP_UP, inline
        agent_id = agent.agent_id
        about, agent.call_id = agent.call_id, None
        agent.view = agent.idle_since = None
        if not agent.recount_due:  # Board.changed: each agent once
            agent.recount_due = True
            self._changed.append(agent)
        agent.state = _WRAP_UP_STATE
        out.append(build_state_changed(agent_id, _ON_CALL, _WRAP_UP_STATE, now, "call-ended",
                                       about))  # fmt: skip
        agent.since = now
        agent.reason = "call-ended"
        call.state = _ENDED  # _finish's step, inline: CONNECTED -> ENDED (checked above)
        self._forget(call, _ANSWERED, now, out, counted)
        wrap_up_s = call.queued_in.config.wrap_up_s
        if wrap_up_s > 0:
            agent.wrap_up_until = now + wrap_up_s
            longest = call.queued_in.config.wrap_up_max_s
            agent.wrap_up_limit = now + (wrap_up_s if longest is None else longest)
            self._timers.set((_WRAP_UP, agent_id), agent.wrap_up_until)
        else:  # _step_agent's WRAP_UP -> READY, inline (a change already counted, above)
            agent.state = _READY
            agent.idle_since = now
            out.append(build_state_changed(agent_id, _WRAP_UP_STATE, _READY, now,
                                           "wrap-up-elapsed", None))  # fmt: skip
            agent.reason = "wrap-up-elapsed"
            if not self._new_calls and not self._new_agents:  # it alone is new: route it
                self._route_agent(agent, now, out)
                return out
            self._new_agents.append(agent)  # indexed by _dispatch unless offered at once
        self._dispatch(now, out)
        return out

    def _finish(
        self, call: Call, input: CallInput, outcome: Outcome, now: float, out: list[Command]
    ) -> None:
        """End the call's visit with its one outcome and forget it."""
        self._step_call(call, input)
        self._forget(call, outcome, now, out)

    def _forget(
        self, call: Call, outcome: Outcome, now: float, out: list[Command], counted: bool = True
    ) -> None:
        """The rest of ``_finish``, once the call is ENDED; ``counted=False``: an answered
        visit that reached nobody, given back by its queue's tally (rule 13)."""
        call_id, name, parts = call.call_id, call.queue, call.queued_in
        del self._calls[call_id]
        del parts.calls[call_id]  # the board's calls_in of the queue
        connected_at = call.connected_at
        if connected_at is None:  # a connected call's deadlines went at its answer
            call.timer = 0  # its offer's timeout
            self._timers.cancel((_MAX_WAIT, call_id))
            self._relax_at.cancel((_RELAX, call_id))
            self._relax_at.cancel((_RETRY, call_id))
            if call.preferred is not None:
                self._relax_at.cancel((_STICKY, call_id))
        if outcome is _ANSWERED:
            assert connected_at is not None and call.agent is not None
            talked = call.agent.talk_s
            talk_s = now - connected_at
            talked[name] = talked.get(name, 0.0) + (talk_s if talk_s > 0.0 else 0.0)
            if counted:
                parts.board.handle.add(talk_s if talk_s > 0.0 else 0.0)  # acd.ewt rule 1
            else:  # rule 13: not an answered call of the queue; queued again, it counts
                wait_s = connected_at - call.entered_at
                tally = parts.board.tally
                tally.offered -= 1
                tally.answered -= 1
                tally.answer_wait_total -= wait_s
                tally.answered_in_sl -= wait_s <= parts.config.sl_threshold_s
            out.append(
                build_call_outcome(call_id, name, outcome, connected_at - call.entered_at,
                                   call.agent_id, now, talk_s)
            )  # fmt: skip
            return
        wait_s = now - call.entered_at
        tally = parts.board.tally
        if outcome is _ABANDONED:
            tally.abandoned += 1
            tally.short_abandoned += wait_s < parts.config.short_abandon_s
        elif outcome is _TIMEOUT:
            tally.timed_out += 1
        else:
            tally.lost += 1
        out.append(build_call_outcome(call_id, name, outcome, wait_s, None, now, None))
        if outcome is _TIMEOUT:
            out.append(OverflowCall(call_id, name, wait_s, self._overflow_reason))
            self._overflow_reason = "max_wait"

    # -- offers ---------------------------------------------------------------

    def _settle(self) -> None:
        """Index what an input made WAITING or READY and did not route (none, normally)."""
        for agent in self._new_agents:
            if agent.state is AgentState.READY:
                self._router.agent_in(agent)
        for call in self._new_calls:
            if call.state is CallState.WAITING:
                self._router.call_in(call)
        self._new_agents.clear()
        self._new_calls.clear()

    def _dispatch(self, now: float, out: list[Command]) -> None:
        """Route what this input made WAITING or READY (``acd.routing`` rule 1).

        A call or agent routed at once never enters the indexes (the usual
        case, and half the cost); what is left waiting or READY does.
        """
        calls, agents = self._new_calls, self._new_agents
        if not calls and not agents:
            return
        self._new_calls, self._new_agents = [], []
        router = self._router
        if calls and agents:  # each side must see the other
            for agent in agents:
                if agent.state is _READY:
                    router.agent_in(agent)
            for call in calls:
                if call.state is _WAITING:
                    router.call_in(call)
        if len(calls) > 1:
            calls.sort(key=lambda c: due_key(c, self._queues[c.queue].aging_per_s, now))
        for call in calls:
            if call.state is _WAITING:
                self._route_call(call, now, out, agents)
        for agent in agents:
            self._route_agent(agent, now, out)

    def _route_call(self, call: Call, now: float, out: list[Command], agents: list[Agent]) -> None:
        """A call that just became WAITING goes to the agent its queue picks, or in line
        (``_dispatch``, with the agents that input made READY; called alone when the
        call is all an input changed)."""
        # A deadline due at ``now`` may not have fired yet (several timers
        # due in one on_timer call, or an event stamped after it): never
        # offer a call that is already overdue.
        if call.max_wait_at is not None and call.max_wait_at <= now:
            self._finish(call, CallInput.MAX_WAIT, _TIMEOUT, now, out)
            return
        if call.parked:  # rule 15: out of line until unparked
            return
        router = self._router
        if call.preferred is not None:  # rule 12: its preferred agent, or held for it
            preferred = self._agents[call.preferred]
            if preferred.state is _READY:
                self._unstick(call)
                self._offer(call, (preferred,), call.queued_in.config, now, out)
            else:
                router.call_in(call)
            return
        chosen = router.agent_for(call, call.last_agent)
        if chosen is None and call.last_agent is not None:
            # only its last agent fits: again, unless that agent just became
            # READY (it then takes the most due call it fits, _route_agent)
            last = self._agents[call.last_agent]
            if (
                last.state is _READY
                and all(a is not last for a in agents)
                and call.queue in last.config.queues
                and fits(last.skills, call.needs)
                and self._may_retry(call, now)
            ):
                chosen = last
        if chosen is not None:
            self._offer_to(call, chosen, now, out)
        else:
            router.call_in(call)

    def _route_agent(self, agent: Agent, now: float, out: list[Command]) -> None:
        """An agent that just became READY takes the most due call it fits, or is
        indexed READY (``_dispatch``; called alone when it is all an input changed)."""
        router = self._router
        if router.held:  # rule 12: the calls held for it come first, most due first
            held = router.held.get(agent.agent_id)
            while held and agent.state is _READY:
                call = min(held, key=lambda c: due_key(c, c.queued_in.config.aging_per_s, now))
                self._unstick(call)
                if _overdue(call, now):
                    self._finish(call, CallInput.MAX_WAIT, _TIMEOUT, now, out)
                else:
                    self._offer(call, (agent,), call.queued_in.config, now, out)
        held_back: list[Call] | None = None  # calls it just failed, too soon to retry
        while agent.state is _READY:
            found = router.call_for(agent, now)
            if found is None:
                router.agent_in(agent)
                break
            if found.max_wait_at is not None and found.max_wait_at <= now:
                self._finish(found, CallInput.MAX_WAIT, _TIMEOUT, now, out)
                continue
            if found.last_agent == agent.agent_id and not self._may_retry(found, now):
                router.call_out(found)
                if held_back is None:
                    held_back = []
                held_back.append(found)
                continue
            self._offer_to(found, agent, now, out)
        if held_back is not None:
            for call in held_back:
                router.call_in(call)

    def _may_retry(self, call: Call, now: float) -> bool:
        """Whether the agent who failed ``call`` may be offered it again now; if not,
        a RETRY deadline routes the call again when it may."""
        delay = self._queues[call.queue].retry_same_agent_s
        if not delay or call.failed_at is None or now >= call.failed_at + delay:
            return True
        self._relax_at.set((_RETRY, call.call_id), call.failed_at + delay)
        return False

    def _offer_to(self, call: Call, chosen: Agent, now: float, out: list[Command]) -> None:
        """Offer ``call`` to ``chosen``; in a ring-all queue, to every READY agent of
        ``chosen``'s penalty who fits it as well (``chosen`` alone when it is the only
        one: an agent just READY, or the retry of the agent who failed the call)."""
        parts = call.queued_in
        queue = parts.config
        if queue.strategy is not _RING_ALL:  # one agent (the usual case, inline)
            if call.state is not _WAITING:  # raises InvalidTransition
                self._step_call(call, _CALL_OFFER)
            call.state = _OFFERED_CALL  # _step_call's WAITING -> OFFERED, inline
            if call.lined:
                if call.preferred is not None:  # held (rule 12)
                    self._router.call_out(call)
                else:
                    call.lined = False
                    parts.line.remove(call)
            call_id = call.call_id
            if parts.rotating:  # round-robin goes on after it (before it leaves READY)
                parts.ready.offered(chosen)
            if chosen.state is not _READY:  # raises InvalidTransition
                self._step_agent(chosen, _AGENT_OFFER, now, "offer", out, call_id)
            # _step_agent's READY -> OFFERED, inline
            chosen.view = None
            chosen.call_id = call_id
            if chosen.indexed:
                self._router.agent_out(chosen)
            if not chosen.recount_due:  # Board.changed: each agent once
                chosen.recount_due = True
                self._changed.append(chosen)
            chosen.state = _OFFERED
            agent_id = chosen.agent_id
            out.append(build_state_changed(agent_id, _READY, _OFFERED, now, "offer", call_id))
            chosen.since = now
            chosen.reason = "offer"
            out.append(
                build_offer_call(call_id, agent_id, chosen.device, queue.offer_timeout_s,
                                 queue.name)
            )  # fmt: skip
            call.agent = chosen
            call.agent_id = agent_id
            deadline = now + queue.offer_timeout_s + self._config.offer_grace_s
            self._timers.hold((_OFFER_TIMEOUT, call_id), deadline, call)
            return
        ring = self._router.ring_for(call, exclude=call.last_agent)
        self._offer(call, ring if any(a is chosen for a in ring) else (chosen,), queue, now, out)

    def _offer(
        self,
        call: Call,
        agents: Sequence[Agent],
        queue: QueueConfig,
        now: float,
        out: list[Command],
    ) -> None:
        self._step_call(call, _CALL_OFFER)
        call_id = call.call_id
        parts = call.queued_in
        for agent in agents:
            if parts.rotating:  # round-robin goes on after it (before it leaves READY)
                parts.ready.offered(agent)
            self._step_agent(agent, _AGENT_OFFER, now, "offer", out, call_id)
            out.append(
                build_offer_call(call_id, agent.agent_id, agent.device,
                                 queue.offer_timeout_s, queue.name)
            )  # fmt: skip
        if queue.strategy is _RING_ALL:
            call.agent_id, call.agent, call.ringing = None, None, [a.agent_id for a in agents]
        else:
            call.agent = agent = agents[0]
            call.agent_id = agent.agent_id
        deadline = now + queue.offer_timeout_s + self._config.offer_grace_s
        self._timers.hold((_OFFER_TIMEOUT, call_id), deadline, call)

    def _current_offer(self, call_id: str, agent_id: str) -> tuple[Call, Agent] | None:
        """The live offer of ``call_id`` to ``agent_id``, or None if the report is stale."""
        agent = self._agent(agent_id)
        call = self._calls.get(call_id)
        if call is None or call.state is not CallState.OFFERED:
            return None
        if call.agent_id != agent_id and agent_id not in call.ringing:
            return None
        return call, agent

    def _offer_answered(self, event: OfferAnswered, now: float) -> list[Command]:
        offer = self._current_offer(event.call_id, event.agent_id)
        if offer is None:
            return []
        call, agent = offer
        out: list[Command] = []
        self._step_agent(agent, AgentInput.ANSWER, now, "answered", out)
        self._step_call(call, CallInput.ANSWER)
        call.agent_id, call.agent, others, call.ringing = agent.agent_id, agent, call.ringing, []
        for other_id in others:  # ring-all: first answer wins, the other legs are cancelled
            if other_id != agent.agent_id:
                other = self._agents[other_id]
                out.append(CancelOffer(call.call_id, other_id))
                self._step_agent(other, AgentInput.OFFER_CANCELLED, now, "answered-elsewhere", out)
        _reset_failures(agent)
        agent.answered[call.queue] = agent.answered.get(call.queue, 0) + 1
        call.connected_at = now
        call_id = call.call_id
        call.timer = 0  # its offer's timeout
        self._timers.cancel((_MAX_WAIT, call_id))
        self._relax_at.cancel((_RELAX, call_id))
        self._relax_at.cancel((_RETRY, call_id))
        wait_s = now - call.entered_at
        parts = call.queued_in
        tally = parts.board.tally
        tally.answered += 1
        tally.answer_wait_total += wait_s
        tally.answered_in_sl += wait_s <= parts.config.sl_threshold_s
        out.append(build_call_connected(call_id, agent.agent_id, wait_s))
        if len(others) > 1:
            self._dispatch(now, out)
        return out

    def _offer_failed(self, event: OfferFailed, now: float) -> list[Command]:
        offer = self._current_offer(event.call_id, event.agent_id)
        if offer is None:
            return []
        return self._fail_offer(*offer, event.reason, now)

    def _fail_offer(
        self, call: Call, agent: Agent, failure: OfferFailure, now: float
    ) -> list[Command]:
        agent.rna_count += 1
        agent.view = None
        kind = OfferFailure.NO_ANSWER if failure is OfferFailure.NO_REPORT else failure
        agent.fails[kind] = count = agent.fails.get(kind, 0) + 1
        limit = self._config.pause_limit(kind)
        out: list[Command] = []
        if limit and count >= limit:
            reason = self._config.pause_reason(failure)
            self._step_agent(agent, AgentInput.RNA_LIMIT, now, reason, out)
        else:
            self._step_agent(agent, AgentInput.OFFER_FAILED, now, failure.value, out)
        self._requeue(call, agent, now, out)
        self._dispatch(now, out)
        return out

    def _requeue(self, call: Call, agent: Agent, now: float, out: list[Command]) -> None:
        """Put an offered call back in line, in its old place; time it out if overdue.

        Ring-all: while other legs still ring, the call only loses this one."""
        if agent.agent_id in call.ringing:
            call.ringing.remove(agent.agent_id)
            if call.ringing:
                return
        call.timer = 0  # its offer's timeout
        self._step_call(call, CallInput.OFFER_FAILED)
        call.agent_id = call.agent = None
        call.last_agent, call.failed_at = agent.agent_id, now
        if _overdue(call, now):
            self._finish(call, CallInput.MAX_WAIT, _TIMEOUT, now, out)

    # -- agents ---------------------------------------------------------------

    def _login(self, agent: Agent, now: float, paused: str | None = None) -> list[Command]:
        next_state(AGENT_TRANSITIONS, agent.state, AgentInput.LOGIN, machine="agent",
                   subject=agent.agent_id)  # fmt: skip
        codes = self._config.pause_codes
        if paused is not None and codes and paused not in codes:
            raise InvalidValue(f"pause reason {paused!r} is not in AcdConfig.pause_codes {codes!r}")
        agent.login_seq = next(self._logins)  # round-robin: the end of the rotation
        _reset_failures(agent)
        out: list[Command] = []
        self._step_agent(agent, AgentInput.LOGIN, now, "login", out)
        if paused is not None:  # paused before any dispatch: never offered a call
            self._step_agent(agent, AgentInput.PAUSE, now, paused, out)
        self._dispatch(now, out)
        return out

    def _ready_up(self, agent: Agent, now: float) -> list[Command]:
        next_state(AGENT_TRANSITIONS, agent.state, AgentInput.READY, machine="agent",
                   subject=agent.agent_id)  # fmt: skip
        if agent.state is AgentState.PAUSED:
            _reset_failures(agent)
        out: list[Command] = []
        self._step_agent(agent, AgentInput.READY, now, "ready", out)
        self._timers.cancel((_WRAP_UP, agent.agent_id))
        self._dispatch(now, out)
        return out

    def _withdraw(self, agent: Agent, input: AgentInput, reason: str, now: float) -> list[Command]:
        """Pause or log out; a ringing offer is cancelled and its call requeued."""
        old, call_id = agent.state, agent.call_id
        out: list[Command] = []
        self._step_agent(agent, input, now, reason, out)
        self._timers.cancel((_WRAP_UP, agent.agent_id))
        # the call it was offered is back in line before the calls held for it are
        # released, and both are routed in one pass: a call held for this agent, later
        # in line, was routed first and passed over the requeued one
        dispatch = False
        if old is AgentState.OFFERED:
            assert call_id is not None
            out.append(CancelOffer(call_id, agent.agent_id))
            call = self._calls[call_id]
            if call.state is not CallState.CONNECTED:  # a consultation's call stays (rule 14)
                self._requeue(call, agent, now, out)
            dispatch = True
        if input is AgentInput.LOGOUT and agent.agent_id in self._router.held:
            for held in list(self._router.held[agent.agent_id]):  # rule 12: routed at once
                self._unstick(held)
                self._new_calls.append(held)
            dispatch = True
        if dispatch:
            self._dispatch(now, out)
        for name in agent.config.queues:  # rule 10: the last agent able to take calls left
            parts = self._parts[name]
            if parts.config.leave_when_empty and self._empty(name):
                for call in [c for c in parts.calls.values() if c.state is _WAITING]:
                    self._overflow_reason = "leave_empty"
                    self._finish(call, CallInput.MAX_WAIT, _TIMEOUT, now, out)
        return out

    def _empty(self, name: str) -> bool:
        """No agent of queue ``name`` can take calls: each is logged out or paused."""
        return all(a.state is AgentState.LOGGED_OUT or a.state is _PAUSED
                   for a in self._board.members[name])  # fmt: skip

    def _refused(self, parts: Queue, call: Call) -> str | None:
        """Why a new caller may not join its queue (rule 10), or None."""
        config = parts.config
        if config.max_length is not None:
            waiting = sum(1 for c in parts.calls.values() if c.state in UNANSWERED) - 1
            if waiting >= config.max_length:
                return "max_length"
        if not config.join_empty and self._empty(config.name):
            return "join_empty"
        return None

    # -- state steps ----------------------------------------------------------

    def _step_agent(
        self,
        agent: Agent,
        input: AgentInput,
        now: float,
        reason: str,
        out: list[Command],
        call_id: str | None = None,
    ) -> None:
        """Move ``agent`` by its table; append its AgentStateChanged (and PauseEnded), if any."""
        old = agent.state
        new = AGENT_TRANSITIONS.get((old, input))
        if new is None:  # raises InvalidTransition
            new = next_state(AGENT_TRANSITIONS, old, input, machine="agent", subject=agent.agent_id)
        about = call_id if call_id is not None else agent.call_id
        agent.view = None
        if new is _OFFERED:
            agent.call_id = call_id
        elif new is not _ON_CALL:
            agent.call_id = None
        if new is not old:
            if old is _READY and agent.indexed:
                self._router.agent_out(agent)
            if not agent.recount_due:  # Board.changed: each agent once
                agent.recount_due = True
                self._changed.append(agent)
            agent.state = new
            if new is _READY:
                if old is not _OFFERED:
                    agent.idle_since = now
                self._new_agents.append(agent)  # indexed by _dispatch unless offered at once
            elif new is not _OFFERED:
                agent.idle_since = None
        elif not (new is _PAUSED and reason != agent.reason):
            return
        out.append(build_state_changed(agent.agent_id, old, new, now, reason, about))
        if old is _PAUSED:
            paused = agent.paused_s
            paused[agent.reason] = paused.get(agent.reason, 0.0) + max(0.0, now - agent.since)
            out.append(PauseEnded(agent.agent_id, agent.reason, agent.since, max(now, agent.since)))
        agent.since = now
        agent.reason = reason

    def _step_call(self, call: Call, input: CallInput) -> CallState:
        old = call.state
        new = CALL_TRANSITIONS.get((old, input))
        if new is None:  # raises InvalidTransition
            new = next_state(CALL_TRANSITIONS, old, input, machine="call", subject=call.call_id)
        if new is old:
            return new
        call.state = new
        if old is _WAITING:
            if call.lined:  # Router.call_out
                if call.preferred is not None:  # held (rule 12)
                    self._router.call_out(call)
                else:
                    call.lined = False
                    call.queued_in.line.remove(call)
        elif new is _WAITING:
            self._new_calls.append(call)  # lined by _dispatch unless offered at once
        return new

    def _relax(self, call: Call, now: float) -> None:
        """Bring the call's skill requirement to the relax step its wait reached; keep a
        deadline for the next step that lowers it (none for a step that changes nothing)."""
        parts = call.queued_in
        steps = parts.config.relax
        level = relax_level(steps, now - call.entered_at) if steps else 0
        if call.skills is parts.config.skills:
            needs, bits = parts.needs[level], parts.bits[level]
            after = parts.relax_next[level]
        else:
            needs = requirement(call.skills, steps[level - 1].lower_by if level else 0)
            bits = self._skill_bits.need(needs)
            after = next(
                (
                    step.after_s
                    for step in steps[level:]
                    if requirement(call.skills, step.lower_by) != needs
                ),
                None,
            )
        if after is not None:
            self._relax_at.set((_RELAX, call.call_id), max(call.entered_at + after, now))
        if bits != call.bits:  # the same as needs != call.needs (SkillBits)
            if call.lined:
                self._router.call_out(call)
                call.needs, call.bits = needs, bits
                self._router.call_in(call)
            else:
                call.needs, call.bits = needs, bits
            if call.state is _WAITING and call.call_id in self._calls:
                self._new_calls.append(call)

    def _stick(self, call: Call, agent_id: str, now: float) -> None:
        """Hold ``call`` for ``agent_id`` (rule 12) if that agent serves its queue and
        fits it, until ``entered_at + sticky_wait_s`` (or the call's own
        ``preferred_wait_s``, even while that agent is logged out: a restart restores
        the hold before the agents); else the preference is ignored."""
        agent = self._agents.get(agent_id)
        wait = call.queued_in.config.sticky_wait_s if call.prefer_wait is None else call.prefer_wait
        until = call.entered_at + wait
        if (
            wait <= 0
            or agent is None
            or agent.state is AgentState.LOGGED_OUT and call.prefer_wait is None
            or call.queue not in agent.config.queues
            or not fits(agent.skills, call.needs)
            or until <= now
        ):
            call.prefer_wait = None
            return
        call.preferred = agent_id
        self._relax_at.set((_STICKY, call.call_id), until)

    def _unstick(self, call: Call) -> None:
        """The call is no longer held for its preferred agent (rule 12)."""
        if call.lined:
            self._router.call_out(call)
        call.preferred = None
        call.prefer_wait = None
        self._relax_at.cancel((_STICKY, call.call_id))

    def _add_call(self, call: Call) -> None:
        self._calls[call.call_id] = call
        self._board.call_added(call)

    # -- helpers --------------------------------------------------------------

    def _advance(self, now: float) -> None:
        if type(now) is not float or not -_INF < now < _INF:  # a finite float needs no check
            check_time("now", now)
        if now < self._now:
            raise InvalidValue(f"now went backwards: {now} < {self._now}")
        self._now = now

    def _agent(self, agent_id: str) -> Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise UnknownAgent(agent_id) from None

    def _queue(self, name: str) -> QueueConfig:
        try:
            return self._queues[name]
        except KeyError:
            raise UnknownQueue(name) from None

    @staticmethod
    def _slice(call: Call, queue: QueueConfig, now: float) -> float:
        seconds = queue.hold_slice_s
        if call.max_wait_at is not None and call.max_wait_at > now:
            seconds = min(seconds, call.max_wait_at - now)
        return seconds


#: the step each event takes (``handle``), by the event's class
_STEPS: dict[type, Callable[[Acd, Any, float], list[Command]]] = {
    CallQueued: Acd._call_queued,
    CallResumed: Acd._call_resumed,
    ConsultStarted: Acd._consult_started,
    ConsultEnded: Acd._consult_ended,
    CallLeft: Acd._call_left,
    CallEnded: Acd._call_ended,
    HoldSliceDone: Acd._hold_slice_done,
    OfferAnswered: Acd._offer_answered,
    OfferFailed: Acd._offer_failed,
    AgentLogin: Acd._agent_login,
    AgentLogout: Acd._agent_logout,
    AgentReady: Acd._agent_ready,
    AgentPause: Acd._agent_pause,
    WrapUpExtend: Acd._wrap_up_extend,
    MoveCall: Acd._move_call,
    TimeoutDropped: Acd._timeout_dropped,
    CallParked: Acd._call_parked,
}


def _reset_failures(agent: Agent) -> None:
    agent.rna_count = 0
    agent.fails.clear()
    agent.view = None


def _overdue(call: Call, now: float) -> bool:
    return call.max_wait_at is not None and call.max_wait_at <= now
