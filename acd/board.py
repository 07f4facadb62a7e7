"""What the wallboard reads: queue figures, agents by state, views; kept up to date.

Rules:
1. The core tells the board of each change as it happens: a call entering a
   queue (``call_added``) or leaving it (the core deletes it from the queue's
   ``calls_in``, which is also its ``Queue.calls``), a call counted in the
   tallies (``QueueTally``), an agent changing state (``changed``).
2. Agents-by-state counts are brought up to date when read: O(agents changed
   since the last read), however many times each changed. How many calls wait
   in a queue, the longest wait and the line positions are read from the
   queue's calls: a call answered or gone costs the board nothing.
3. A read costs what it shows: a queue's figures are O(calls in the queue +
   its agents: the estimated waits, ``acd.ewt``); an
   agent's view is rebuilt only if it changed or shows an idle time (which
   grows with ``now``); a connected call's view is built once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .agent import Agent, AgentState
from .call import Call, CallState
from .config import QueueConfig
from .ewt import QueueWaits, queue_waits
from .snapshot import AcdSnapshot, AgentView, CallView, agent_view, call_view, in_line
from .stats import QueueBoard, QueueStats

#: per call: (calls WAITING ahead of it, its estimated wait)
Estimates = dict[str, tuple[int, float]]


class Board:
    """The figures and views of every queue, for one configuration."""

    __slots__ = ("queues", "members", "calls_in", "changed")

    def __init__(
        self, queues: Mapping[str, QueueConfig], agents: Iterable[Agent], old: Board | None
    ) -> None:
        agents = list(agents)
        #: agents serving each queue, in configuration order
        self.members: dict[str, list[Agent]] = {name: [] for name in queues}
        for agent in agents:
            for queue in agent.config.queues:
                self.members[queue].append(agent)
        #: the calls of each queue, any state
        self.calls_in: dict[str, dict[str, Call]] = {name: {} for name in queues}
        self.queues: dict[str, QueueBoard] = {}
        for name, config in queues.items():
            board = QueueBoard(config, len(self.members[name]), self.calls_in[name])
            self.queues[name] = board
            if old is not None and name in old.queues:  # a reload keeps the tallies
                board.tally = old.queues[name].tally
                board.handle = old.queues[name].handle
        #: agents whose state changed since the counts were last brought up to date,
        #: each once (``Agent.recount_due``; the core adds each one it moves)
        self.changed: list[Agent] = []
        for agent in agents:
            agent.counts = [self.queues[q].agents_by_state for q in agent.config.queues]
            agent.counted = AgentState.LOGGED_OUT
            agent.recount_due = agent.state is not AgentState.LOGGED_OUT
            if agent.recount_due:
                self.changed.append(agent)

    # -- changes ------------------------------------------------------------------

    def call_added(self, call: Call) -> None:
        self.calls_in[call.queue][call.call_id] = call

    # -- reads --------------------------------------------------------------------

    def queue_stats(self, name: str, now: float) -> QueueStats:
        self._recount()
        board = self.queues[name]
        unanswered = board.unanswered()
        return board.stats(now, unanswered, self._estimate(name, unanswered, now, {}, {}))

    def snapshot(
        self,
        now: float,
        names: list[str],
        agents: Iterable[Agent] | None,
        calls: Iterable[Call] | None,
    ) -> AcdSnapshot:
        """``names``' figures, with ``agents`` and ``calls`` (default: those of ``names``)."""
        if agents is None:
            serving = {a.order: a for name in names for a in self.members[name]}
            agents = [serving[order] for order in sorted(serving)]
        if calls is None:
            calls = [c for name in names for c in self.calls_in[name].values()]
        self._recount()
        positions: dict[str, int] = {}
        estimates: Estimates = {}
        stats = []
        for name in names:
            board = self.queues[name]
            unanswered = board.unanswered()
            waits = self._estimate(name, unanswered, now, positions, estimates)
            stats.append(board.stats(now, unanswered, waits))
        return AcdSnapshot(
            at=now,
            agents=tuple(self.agent_view(a, now) for a in agents),
            calls=tuple(self._call_view(c, now, positions, estimates) for c in calls),
            queues=tuple(stats),
        )

    def agent_view(self, agent: Agent, now: float) -> AgentView:
        view = agent.view
        if isinstance(view, AgentView) and agent.idle_since is None:
            return view
        view = agent_view(agent, now)
        agent.view = view
        return view

    def call_view(self, call: Call, now: float) -> CallView:
        positions: dict[str, int] = {}
        estimates: Estimates = {}
        if call.state is not CallState.CONNECTED:
            unanswered = self.queues[call.queue].unanswered()
            self._estimate(call.queue, unanswered, now, positions, estimates)
        return call_view(call, now, positions.get(call.call_id), estimates.get(call.call_id))

    def _estimate(
        self,
        name: str,
        unanswered: list[Call],
        now: float,
        positions: dict[str, int],
        estimates: Estimates,
    ) -> QueueWaits | None:
        """The queue's estimated waits (``acd.ewt``); each unanswered call's place into
        ``positions``, each WAITING call's estimate into ``estimates``."""
        board = self.queues[name]
        waiting = []
        for index, call in enumerate(in_line(unanswered, board.config.aging_per_s), start=1):
            positions[call.call_id] = index
            if call.state is CallState.WAITING:
                waiting.append(call.call_id)
        waits = queue_waits(
            len(waiting), self.members[name], board.handle, board.config.wrap_up_s, now
        )
        if waits is not None:
            for ahead, call_id in enumerate(waiting):
                estimates[call_id] = (ahead, waits.waits[ahead])
        return waits

    def _recount(self) -> None:
        for agent in self.changed:
            agent.recount_due = False
            if agent.counted is not agent.state:
                old, new = agent.counted, agent.state
                for counts in agent.counts:
                    counts[old] -= 1
                    counts[new] += 1
                agent.counted = new
        self.changed.clear()

    @staticmethod
    def _call_view(
        call: Call, now: float, positions: dict[str, int], estimates: Estimates
    ) -> CallView:
        if call.state is not CallState.CONNECTED:
            call_id = call.call_id
            return call_view(call, now, positions.get(call_id), estimates.get(call_id))
        view = call.view
        if not isinstance(view, CallView):
            call.view = view = call_view(call, now, None)
        return view
