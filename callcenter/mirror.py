"""The desk of a web-only node: what the node that drives the PBXs last told the others.

A web-only node (``callcenter run --web-only``, issue 18) serves the pages, the API's
reads and the WebSockets but drives no PBX. Its wallboard is the latest snapshot the
fan-out brought (``callcenter.fanout``), an agent's state is that snapshot's row with
the screen-pop of a ringing or talking call; what would change a call or an agent is
refused with ``not_driving`` (503): it has to reach the node that drives the PBXs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from callcenter.desk import ControllerDesk
from callcenter.fanout import Following
from callcenter.live import LiveHub
from callcenter.scraped import FloorNow, QueueNow
from callcenter.web.ports import AgentPage, WaitingCall, WallboardSnapshot


class NotDriving(Exception):
    """A web-only node was asked to act on a call or an agent (503 at the edge)."""

    code = "not_driving"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: this web node drives no PBX; use the leader's pages")


class MirrorDesk(ControllerDesk):
    """``ControllerDesk`` over the feed: its controller is built but never started."""

    def __init__(self, *args: Any, hub: LiveHub, following: Following, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hub, self.following = hub, following

    def _latest(self) -> WallboardSnapshot | None:
        latest = self.hub.latest_wallboard
        return latest if latest is not None else None  # type: ignore[return-value]

    def wallboard(self) -> WallboardSnapshot:
        """The latest snapshot of the feed (this node's idle one before the first)."""
        latest = self._latest()
        return latest if latest is not None else super().wallboard()

    def agent_view(self, agent_id: str) -> AgentPage | None:
        latest = self._latest()
        row = next((a for a in latest["agents"] if a["id"] == agent_id), None) if latest else None
        if row is None:
            return super().agent_view(agent_id)
        pop = self.following.pops.get(agent_id)
        if pop is None or pop.get("call_id") != row["call_id"] or row["call_id"] is None:
            pop = {}
        page: AgentPage = {"agent_id": agent_id, "name": row["name"], "state": row["state"],
                "since": row["since"] or 0.0, "pause_reason": row["pause_reason"],
                "call_id": row["call_id"], "caller_number": pop.get("caller_number"),
                "card": pop.get("card"), "ivr": pop.get("ivr")}  # fmt: skip
        return page

    def floor(self) -> FloorNow:
        """``/metrics``' floor (agents by state, each queue's waiting callers, longest
        wait and agents) as the latest snapshot has it, not this node's idle ACD."""
        latest = self._latest()
        if latest is None:
            return FloorNow()
        agents: dict[str, int] = {}
        for row in latest["agents"]:
            agents[row["state"]] = agents.get(row["state"], 0) + 1
        queues = {t["name"]: QueueNow(t["waiting"], t["longest_wait_s"], dict(t["agents"]))
                  for t in latest["queues"]}  # fmt: skip
        return FloorNow(agents, queues)

    def waiting_calls(self, queue: str | None) -> list[WaitingCall]:
        latest = self._latest()
        if latest is None:
            return super().waiting_calls(queue)
        super().waiting_calls(queue)  # an unknown queue: the ACD's UnknownQueue (404)
        return [w for w in latest["waiting_calls"] if queue is None or w["queue"] == queue]

    def call_agent(self, call_id: str) -> str | None:
        latest = self._latest()
        rows = latest["agents"] if latest is not None else []
        return next((a["id"] for a in rows if a["call_id"] == call_id), None)

    # -- what only the driving node may do --------------------------------------
    async def agent_ready(self, agent_id: str) -> None:
        raise NotDriving("ready")

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        raise NotDriving("pause")

    async def agent_wrap_up(self, agent_id: str, action: str, seconds: float) -> None:
        raise NotDriving("wrap-up")

    async def agent_logout(self, agent_id: str) -> None:
        """The page's logout goes on (the session ends here); the ACD keeps the agent
        until the driving node is told."""

    def mute_recording(self, call_id: str, muted: bool, by: str) -> bool:
        raise NotDriving("mute")

    def record_on_demand(self, call_id: str, by: str) -> bool:
        raise NotDriving("record")

    def send_to_ivr(self, call_id: str, node: str, by: str) -> str | None:
        raise NotDriving("send to IVR")

    def transfer(
        self, call_id: str, queue: str, by_agent: str, agent: str | None = None
    ) -> str | None:
        raise NotDriving("transfer")

    def consult(
        self, call_id: str, by_agent: str, agent: str | None, queue: str = ""
    ) -> str | None:
        raise NotDriving("consult")

    def end_consult(self, call_id: str, by_agent: str, complete: bool) -> str | None:
        raise NotDriving("end consult")

    async def schedule_callback(
        self, call_id: str, by_agent: str, due: dt.datetime, number: str | None, note: str
    ) -> tuple[str, str] | str:
        raise NotDriving("schedule callback")

    def spy(self, agent_id: str, phone: str, mode: str, by: str) -> str | None:
        raise NotDriving("spy")

    def move_call(
        self, call_id: str, queue: str | None, priority: int | None, position: int | None,
        by: str,
    ) -> WaitingCall | None:  # fmt: skip
        raise NotDriving("move")
