"""What supervisors and agents see: the wallboard snapshot and each agent's view.

Built from the ACD's pure snapshot plus what only the shell knows (AMI link
state, the caller's card). Published to the browsers through the LiveHub on
every change (coalesced) and once a second, so the wallboard updates by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

import acd
from acd import kpis
from callcenter.board import ChangeRow, DayBoard, OutcomeRow, call_record, queue_figures
from callcenter.config import HotlineConfig, QueueSettings, WallboardSettings
from callcenter.controller import PAGE_STATE, Controller
from callcenter.facts import RecordAgentState, RecordOutcome, WriteRequest
from callcenter.web.ports import (
    AgentPage,
    AgentRow,
    AmiNode,
    EwtInputs,
    QueueTile,
    WaitingCall,
    WallboardSnapshot,
)

#: the wallboard lists this many waiting calls at most (the longest waits)
WAITING_SHOWN = 50


class DayRows(Protocol):
    """Today's rows from SQL (the storage ``Store`` fits)."""

    async def outcomes_since(self, since: dt.datetime) -> list[OutcomeRow]: ...

    async def agent_changes_since(self, since: dt.datetime) -> list[ChangeRow]: ...


class ControllerDesk:
    """The controller as the web edge sees it (``callcenter.web.ports.Desk``)."""

    def __init__(
        self,
        controller: Controller,
        config: Callable[[], HotlineConfig] | None = None,
    ) -> None:
        self.ctl = controller
        #: the running config (a reload replaces it): the queues' targets, the colours
        self._config = config
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        #: agents whose desk a program plays (the demo's): labelled on the wallboard
        self.simulated: frozenset[str] = frozenset()
        #: agents who logged out of the desk while on a call: out of the ACD when it ends
        self._logout_after_call: set[str] = set()
        #: the loop time this desk started: an agent logged out since before it shows no time
        self._born = controller.now()
        #: the day's figures, fed the rows the controller writes; /metrics counts them too
        self.day = DayBoard(self._targets(), self.now(),
                            self._config().zone if self._config is not None else None,
                            counter=controller.metrics)  # fmt: skip
        #: rows written while today's rows are read from SQL (None: read done)
        self._pending: list[WriteRequest] | None = None
        #: stable epochs of loop-clock instants (one conversion each: no jitter in deltas)
        self._agent_since: dict[str, tuple[float, float]] = {}
        self._entered: dict[str, float] = {}
        controller.on_write = self.written

    # -- the figures of the day ---------------------------------------------------
    def now(self) -> float:
        """The controller's wall clock, in epoch seconds (the day's midnight, the last
        30 minutes)."""
        return self.ctl.wall_clock().timestamp()

    def _queues(self) -> list[QueueSettings]:
        return list(self._config().queues) if self._config is not None else []

    def _targets(self) -> dict[str, kpis.QueueTargets]:
        """Each queue's T, S and target (``acd.kpis``), as the reports take them."""
        found = self._config().queue_targets() if self._config is not None else {}
        for queue in self.ctl.core.config.queues:
            found.setdefault(queue.name, kpis.QueueTargets(queue.sl_threshold_s,
                                                           queue.short_abandon_s))  # fmt: skip
        return found

    async def load_today(self, store: DayRows) -> int:
        """Read today's queue outcomes and agent state changes from SQL (a restart changes
        no figure of the day); rows the controller writes meanwhile are counted once.
        Returns the rows read."""
        self._pending = []
        since = dt.datetime.fromtimestamp(self.day.day_start, dt.UTC)
        try:
            outcomes = await store.outcomes_since(since)
            changes = await store.agent_changes_since(since)
        finally:
            pending, self._pending = self._pending, None
        seen_calls = {row[0] for row in outcomes}
        seen_changes = set(changes)
        self.day.load(outcomes, changes)
        for row in pending:
            if isinstance(row, RecordOutcome) and row.call_id not in seen_calls:
                self.written(row)
            elif isinstance(row, RecordAgentState) and (
                row.agent_id, row.at, row.old, row.new) not in seen_changes:  # fmt: skip
                self.written(row)
        self.changed()
        return len(outcomes) + len(changes)

    def written(self, row: WriteRequest) -> None:
        """The controller wrote ``row`` (``Controller.on_write``): today's figures follow."""
        if self._pending is not None:
            self._pending.append(row)
        elif isinstance(row, RecordOutcome):
            # answered: it left at the conversation's end, entered its talk and wait before
            self.day.add(call_record(row.call_id, row.queue, row.outcome, row.wait_s,
                                     row.at.timestamp(),
                                     None if row.agent_id is None else str(row.agent_id),
                                     talk_s=row.talk_s))  # fmt: skip
        elif isinstance(row, RecordAgentState):
            self.day.agent_state(str(row.agent_id), row.at.timestamp(), row.old)

    # -- snapshots ----------------------------------------------------------------
    def wallboard(self) -> WallboardSnapshot:
        at = self.ctl.instant()
        snap = self.ctl.core.snapshot(at.mono)
        now = at.wall.timestamp()
        epoch = now - at.mono  # loop clock to epoch
        self.day.configure(self._targets())
        self.day.roll(now)
        settings = {q.name: q for q in self._queues()}
        # calls waiting: their entry as a stable epoch (first conversion kept)
        entered: dict[str, float] = {}
        waiting_calls: list[WaitingCall] = []
        for c in snap.calls:
            if c.position is None:
                continue
            first = entered[c.call_id] = self._entered.get(c.call_id, round(now - c.wait_s, 1))
            waiting_calls.append({"call_id": c.call_id, "queue": c.queue, "caller": c.caller_number,
                                  "entered_at": first, "priority": c.priority,
                                  "position": c.position, "ahead": c.ahead,
                                  "ewt_s": _seconds(c.ewt_s), "state": _line_state(c)})  # fmt: skip
        self._entered = entered
        waiting_calls.sort(key=lambda w: w["entered_at"])
        oldest: dict[str, float] = {}
        for w in waiting_calls:
            oldest.setdefault(w["queue"], w["entered_at"])

        tiles: list[QueueTile] = []
        total_today, total_recent = kpis.Tally(), kpis.Tally()
        targets: list[tuple[float, int]] = []
        for index, q in enumerate(snap.queues):
            day = self.day.queue(q.queue)
            recent = day.recent_tally(now)
            total_today, total_recent = total_today.plus(day.today), total_recent.plus(recent)
            s = settings.get(q.queue)
            target = s.sl_target_pct if s is not None else 80.0
            tile: QueueTile = {
                "name": q.queue,
                "index": index,
                "waiting": q.waiting,
                "oldest_at": oldest.get(q.queue),
                "longest_wait_s": round(q.longest_wait_s, 1),
                **queue_figures(day.today, recent, q.waiting),  # type: ignore[typeddict-item]
                "sl_threshold_s": day.targets.sl_threshold_s,
                "short_abandon_s": day.targets.short_abandon_s,
                "sl_target_pct": target,
                "longest_wait_limit_s": s.longest_wait_limit_s if s is not None else 60.0,
                "agents": {PAGE_STATE[state]: n for state, n in q.agents_by_state.items()},
            }
            # the estimated wait of a caller joining now, with its inputs (acd.ewt)
            tile["ewt_s"] = _seconds(q.ewt_s)
            tile["ewt_inputs"] = EwtInputs(
                talk_s=_seconds(q.talk_s), talk_samples=q.talk_samples,
                handle_s=_seconds(q.handle_s), serving_agents=q.serving_agents,
            )  # fmt: skip
            tiles.append(tile)
            targets.append((target, tile["offered"]))
        waiting = sum(q.waiting for q in snap.queues)
        thresholds = {t["sl_threshold_s"] for t in tiles}
        weight = sum(n for _t, n in targets)
        centre_target = (sum(t * n for t, n in targets) / weight if weight
                         else sum(t for t, _n in targets) / len(targets) if targets else 80.0)  # fmt: skip
        cfg = (
            self._config().wallboard
            if self._config is not None
            else WallboardSettings.model_validate({})
        )
        ami: list[AmiNode] = [{"node": n.name, "connected": n.client.connected, "error": n.error}
                              for n in self.ctl.nodes.values()]  # fmt: skip
        return {
            "at": round(now, 2),
            # the centre: the queues' tallies summed, then the same formulas
            "waiting": waiting,
            "oldest_at": waiting_calls[0]["entered_at"] if waiting_calls else None,
            "longest_wait_s": round(max((q.longest_wait_s for q in snap.queues), default=0.0), 1),
            **queue_figures(total_today, total_recent, waiting),  # type: ignore[typeddict-item]
            "sl_target_pct": round(centre_target, 1),
            "sl_threshold_s": thresholds.pop() if len(thresholds) == 1 else None,
            "day_start": self.day.day_start,
            "thresholds": cfg.model_dump(),
            "queues": tiles,
            "waiting_calls": waiting_calls[:WAITING_SHOWN],
            "intervals": self.day.interval_rows(),
            "agents": [self._agent_row(a, epoch) for a in snap.agents],
            "ami": ami,
            "pbx_down": [n["node"] for n in ami if not n["connected"]],
        }

    def _agent_row(self, a: acd.AgentView, epoch: float) -> AgentRow:
        seen = self._agent_since.get(a.agent_id)
        if seen is None or seen[0] != a.since:
            seen = self._agent_since[a.agent_id] = (a.since, round(epoch + a.since, 1))
        offline = a.state is acd.AgentState.LOGGED_OUT
        return {
            "id": a.agent_id,
            "name": a.name,
            "state": PAGE_STATE[a.state],
            # logged out since before this controller started: when is unknown
            "since": None if offline and a.since <= self._born else seen[1],
            "call_id": a.call_id,
            "pause_reason": a.reason or None,
            "simulated": a.agent_id in self.simulated,
            "calls": self.day.agent_calls(a.agent_id),
            "aht_s": self.day.agent_aht_s(a.agent_id),
        }

    def agent_view(self, agent_id: str) -> AgentPage | None:
        try:
            view = self.ctl.core.agent(agent_id, self.ctl.now())
        except acd.AcdError:
            return None
        call = self.ctl.calls.get(view.call_id) if view.call_id else None
        page: AgentPage = {
            "agent_id": view.agent_id,
            "name": view.name,
            "state": PAGE_STATE[view.state],
            "since": self.ctl.wall_time(view.since),
            "pause_reason": view.reason or None,
            "call_id": view.call_id,
            "caller_number": call.caller_number if call else None,
            "card": call.card_json() if call else None,
            "ivr": self.ctl.flow.ivr_facts(call) if call else None,
        }
        page.update(self._wrap_up_times(view))
        return page

    # -- wrap-up: the countdown, end early, extend (issue 15) ----------------------
    def _wrap_up_times(self, view: acd.AgentView) -> AgentPage:
        """In wrap-up: when it ends and the latest it may be extended to (epoch)."""
        if view.wrap_up_until is None or view.wrap_up_limit is None:
            return {}
        return {"wrap_up_until": round(self.ctl.wall_time(view.wrap_up_until), 2),
                "wrap_up_limit": round(self.ctl.wall_time(view.wrap_up_limit), 2)}  # fmt: skip

    async def agent_wrap_up(self, agent_id: str, action: str, seconds: float) -> None:
        """End the agent's wrap-up now (``end``: READY) or move its end ``seconds`` later
        (``extend``, up to the queue's ``wrap_up_max_s``). Outside wrap-up the ACD's
        InvalidTransition, at the limit its WrapUpLimit (both 409 at the edge): checked
        here because the controller logs a refused input and carries on."""
        now = self.ctl.now()
        view = self.ctl.core.agent(agent_id, now)
        if view.state is not acd.AgentState.WRAP_UP:
            step = acd.AgentInput.EXTEND_WRAP_UP if action == "extend" else acd.AgentInput.WRAP_UP_ELAPSED
            raise acd.InvalidTransition("agent", agent_id, view.state, step)
        if action == "end":
            await self.ctl.agent_ready(agent_id)
            return
        if view.wrap_up_until is None or view.wrap_up_limit is None \
                or min(view.wrap_up_until + seconds, view.wrap_up_limit) <= max(view.wrap_up_until, now):
            raise acd.WrapUpLimit(agent_id, (view.wrap_up_limit or view.since) - view.since)
        self.ctl.agent_extend_wrap_up(agent_id, seconds)

    def _allowed(self, agent_id: str, step: acd.AgentInput) -> None:
        """Raise the ACD's ``InvalidTransition`` (409 at the edge) when its agent table
        has no ``step`` from the agent's state: the controller logs a refused input and
        carries on, so the desk asks the table first (Ready while talking answered 200
        and changed nothing). A logged-out agent's Ready is a login (the call flow's)."""
        state = self.ctl.core.agent(agent_id, self.ctl.now()).state
        if not (step is acd.AgentInput.READY and state is acd.AgentState.LOGGED_OUT):
            if (state, step) not in acd.AGENT_TRANSITIONS:
                raise acd.InvalidTransition("agent", agent_id, state, step)

    def waiting_calls(self, queue: str | None) -> list[WaitingCall]:
        at = self.ctl.instant()
        now = at.wall.timestamp()
        # an unknown queue: the ACD's UnknownQueue (404 at the edge)
        snap = self.ctl.core.snapshot(at.mono, None if queue is None else [queue])
        unanswered = sorted((c for c in snap.calls if c.position is not None),
                            key=lambda c: (c.queue, c.position or 0))  # fmt: skip
        return [{"call_id": c.call_id, "queue": c.queue, "caller": c.caller_number,
                 "entered_at": self._entered.get(c.call_id, round(now - c.wait_s, 1)),
                 "priority": c.priority, "position": c.position, "ahead": c.ahead,
                 "ewt_s": _seconds(c.ewt_s), "state": _line_state(c)}
                for c in unanswered]  # fmt: skip

    async def agent_ready(self, agent_id: str) -> None:
        self._allowed(agent_id, acd.AgentInput.READY)
        self._logout_after_call.discard(agent_id)  # back at the desk before the call ended
        await self.ctl.agent_ready(agent_id)

    async def agent_logout(self, agent_id: str) -> None:
        """The agent left the desk (logged out of the web page): out of the ACD too, so no
        call rings an empty desk; a ringing offer goes back to the queue (the ACD's
        logout). The ACD cannot log out an agent on a call: that one is logged out when
        the call ends (:meth:`changed`)."""
        try:
            view = self.ctl.core.agent(agent_id, self.ctl.now())
        except acd.AcdError:
            return  # not an agent of the ACD (removed meanwhile)
        if view.state is acd.AgentState.ON_CALL:
            self._logout_after_call.add(agent_id)
        elif view.state is not acd.AgentState.LOGGED_OUT:
            self.ctl.agent_logout(agent_id)

    def _logout_when_free(self) -> None:
        for agent_id in list(self._logout_after_call):
            try:
                state = self.ctl.core.agent(agent_id, self.ctl.now()).state
            except acd.AcdError:
                state = acd.AgentState.LOGGED_OUT
            if state is not acd.AgentState.ON_CALL:
                self._logout_after_call.discard(agent_id)
                if state is not acd.AgentState.LOGGED_OUT:
                    self.ctl.agent_logout(agent_id)

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        self._allowed(agent_id, acd.AgentInput.PAUSE)
        await self.ctl.agent_pause(agent_id, reason)

    def call_agent(self, call_id: str) -> str | None:
        return self.ctl.call_agent(call_id)

    def mute_recording(self, call_id: str, muted: bool, by: str) -> bool:
        return self.ctl.mute_recording(call_id, muted, by)

    def record_on_demand(self, call_id: str, by: str) -> bool:
        return self.ctl.record_on_demand(call_id, by)

    def send_to_ivr(self, call_id: str, node: str, by: str) -> str | None:
        return self.ctl.send_to_ivr(call_id, node, by)

    def queue_names(self) -> list[str]:
        return [q.name for q in self.ctl.core.config.queues]

    def agent_names(self) -> list[tuple[str, str]]:
        return sorted(((a.agent_id, a.name) for a in self.ctl.core.config.agents),
                      key=lambda a: (a[1], a[0]))  # fmt: skip

    def transfer(
        self, call_id: str, queue: str, by_agent: str, agent: str | None = None
    ) -> str | None:
        return self.ctl.transfer(call_id, queue, by_agent, agent)

    def consult(
        self, call_id: str, by_agent: str, agent: str | None, queue: str = ""
    ) -> str | None:
        return self.ctl.consult(call_id, by_agent, agent, queue)

    def end_consult(self, call_id: str, by_agent: str, complete: bool) -> str | None:
        return self.ctl.end_consult(call_id, by_agent, complete)

    async def schedule_callback(
        self, call_id: str, by_agent: str, due: dt.datetime, number: str | None, note: str
    ) -> tuple[str, str] | str:
        return await self.ctl.schedule_callback(call_id, by_agent, due, number, note)

    def spy(self, agent_id: str, phone: str, mode: str, by: str) -> str | None:
        return self.ctl.spy(agent_id, phone, mode, by)

    def move_call(
        self, call_id: str, queue: str | None, priority: int | None, position: int | None,
        by: str,
    ) -> WaitingCall | None:  # fmt: skip
        self.ctl.move_call(call_id, queue, priority, position, by)
        view = self.ctl.core.call(call_id, self.ctl.now())
        if view is None:
            return None
        return next((c for c in self.waiting_calls(view.queue) if c["call_id"] == call_id), None)

    def label_simulated(self, agent_ids: Iterable[str]) -> None:
        """Mark these agents as simulated (a program plays their desk, as in the demo)."""
        self.simulated = frozenset(agent_ids)
        self.changed()

    # -- publishing ---------------------------------------------------------------
    def changed(self) -> None:
        """Something moved: publish soon (bursts of events coalesce into one push); an
        agent who logged out during a call is logged out of the ACD once it ended (run
        after the controller's input, not inside it)."""
        self._dirty = True
        if self._logout_after_call:
            asyncio.get_running_loop().call_soon(self._logout_when_free)

    def publish(self) -> None:
        """Send the wallboards what changed; with none open, nothing is built (a
        snapshot of every agent, five times a second, for no one to read)."""
        hub = self.ctl.hub
        self._dirty = False
        if not hub.wallboards_open:
            hub.forget_wallboard()
            return
        hub.publish_wallboard(self.wallboard())

    def start(self, interval: float = 1.0, burst: float = 0.2) -> None:
        async def run() -> None:
            ticks = 0
            while True:
                await asyncio.sleep(burst)
                ticks += 1
                if self._dirty or ticks * burst >= interval:
                    self.publish()
                    ticks = 0

        self._task = asyncio.get_running_loop().create_task(run(), name="wallboard")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _line_state(c: acd.CallView) -> Literal["waiting", "ringing"]:
    """An unanswered call waits in line or rings an agent (a supervisor moves the first)."""
    return "ringing" if c.state is acd.CallState.OFFERED else "waiting"
