"""What supervisors and agents see: the wallboard snapshot and each agent's view.

Built from the ACD's pure snapshot plus what only the shell knows (AMI link
state, the caller's card). Published to the browsers through the LiveHub on
every change (coalesced) and once a second, so the wallboard updates by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable

import acd
from callcenter.controller import PAGE_STATE, Controller
from callcenter.web.ports import AgentPage, WallboardSnapshot


class ControllerDesk:
    """The controller as the web edge sees it (``callcenter.web.ports.Desk``)."""

    def __init__(self, controller: Controller, *, sl_target_pct: float = 80.0) -> None:
        self.ctl = controller
        self.sl_target_pct = sl_target_pct
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        #: agents whose desk a program plays (the demo's): labelled on the wallboard
        self.simulated: frozenset[str] = frozenset()

    # -- snapshots ----------------------------------------------------------------
    def wallboard(self) -> WallboardSnapshot:
        at = self.ctl.instant()
        snap = self.ctl.core.snapshot(at.mono)
        epoch = at.wall.timestamp() - at.mono  # loop clock to epoch: one clock read per board
        queues = snap.queues
        answered = sum(q.answered for q in queues)
        sl = None
        asa = None
        if queues:
            main = max(queues, key=lambda q: q.offered)
            sl = None if main.service_level is None else round(100 * main.service_level, 1)
            asa = None if main.asa_s is None else round(main.asa_s, 1)
        return {
            "at": time.time(),
            "waiting": sum(q.waiting for q in queues),
            "longest_wait_s": round(max((q.longest_wait_s for q in queues), default=0.0), 1),
            "offered": sum(q.offered for q in queues),
            "answered": answered,
            "abandoned": sum(q.abandoned for q in queues),
            "service_level_pct": sl,
            "sl_target_pct": self.sl_target_pct,
            "sl_threshold_s": self.ctl.sl_threshold_s,
            "asa_s": asa,
            "agents": [
                {
                    "id": a.agent_id,
                    "name": a.name,
                    "state": PAGE_STATE[a.state],
                    "since": epoch + a.since,
                    "call_id": a.call_id,
                    "pause_reason": a.reason or None,
                    "simulated": a.agent_id in self.simulated,
                }
                for a in snap.agents
            ],
            "ami": [
                {"node": n.name, "connected": n.client.connected, "error": n.error}
                for n in self.ctl.nodes.values()
            ],
        }

    def agent_view(self, agent_id: str) -> AgentPage | None:
        try:
            view = self.ctl.core.agent(agent_id, self.ctl.now())
        except acd.AcdError:
            return None
        call = self.ctl.calls.get(view.call_id) if view.call_id else None
        return {
            "agent_id": view.agent_id,
            "name": view.name,
            "state": PAGE_STATE[view.state],
            "since": self.ctl.wall_time(view.since),
            "pause_reason": view.reason or None,
            "call_id": view.call_id,
            "caller_number": call.caller_number if call else None,
            "card": call.card_json() if call else None,
            "ivr": {"language": call.language, "selections": call.selections} if call else None,
        }

    async def agent_ready(self, agent_id: str) -> None:
        await self.ctl.agent_ready(agent_id)

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        await self.ctl.agent_pause(agent_id, reason)

    def call_agent(self, call_id: str) -> str | None:
        return self.ctl.call_agent(call_id)

    def mute_recording(self, call_id: str, muted: bool, by: str) -> bool:
        return self.ctl.mute_recording(call_id, muted, by)

    def record_on_demand(self, call_id: str, by: str) -> bool:
        return self.ctl.record_on_demand(call_id, by)

    def send_to_ivr(self, call_id: str, node: str, by: str) -> str | None:
        return self.ctl.send_to_ivr(call_id, node, by)

    def label_simulated(self, agent_ids: Iterable[str]) -> None:
        """Mark these agents as simulated (a program plays their desk, as in the demo)."""
        self.simulated = frozenset(agent_ids)
        self.changed()

    # -- publishing ---------------------------------------------------------------
    def changed(self) -> None:
        """Something moved: publish soon (bursts of events coalesce into one push)."""
        self._dirty = True

    def publish(self) -> None:
        board = self.wallboard()
        self.ctl.hub.publish_wallboard(board)
        counts: dict[str, int] = {}
        for a in board["agents"]:
            counts[a["state"]] = counts.get(a["state"], 0) + 1
        self.ctl.metrics.set_agents(counts)
        self.ctl.metrics.set_waiting(board["waiting"])
        self._dirty = False

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
