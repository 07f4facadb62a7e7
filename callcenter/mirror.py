"""The desk of a node that does not drive the PBXs: what the node that does last told the
others.

A web-only node (``callcenter run --web-only``, issue 18) serves the pages, the API's
reads and the WebSockets but drives no PBX; so does a standby controller
(``callcenter.leader``) until it leads. Its wallboard is the latest snapshot the
fan-out brought (``callcenter.fanout``), an agent's state is that snapshot's row with
the screen-pop of a ringing or talking call; what would change a call or an agent is
refused with ``not_driving`` (503): it has to reach the node that drives the PBXs.

One switch, ``mirroring``: a standby that takes the lead calls :meth:`MirrorDesk.drive`;
the feed stops feeding its hub and the desk is its own controller's again (reads and
actions), its open pages kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from callcenter.desk import ControllerDesk
from callcenter.fanout import Following
from callcenter.live import LiveHub
from callcenter.scraped import FloorNow, QueueNow, read_floor
from callcenter.web.ports import AgentPage, WaitingCall, WallboardSnapshot

P = ParamSpec("P")
R = TypeVar("R")


class NotDriving(Exception):
    """A node that does not drive the PBXs (web-only, or a standby) was asked to act on
    a call or an agent (503 at the edge)."""

    code = "not_driving"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}: this web node drives no PBX; use the leader's pages")


def _driving(
    what: str, action: Callable[Concatenate[ControllerDesk, P], R]
) -> Callable[Concatenate[MirrorDesk, P], R]:
    """``action`` of ``ControllerDesk``, refused with ``NotDriving`` while mirroring (the
    refusal comes before the controller is touched: a coroutine is never made)."""

    def gated(desk: MirrorDesk, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if desk.mirroring:
            raise NotDriving(what)
        return action(desk, *args, **kwargs)

    return gated


class MirrorDesk(ControllerDesk):
    """``ControllerDesk`` over the feed while ``mirroring``: its controller is built but
    not started (a web-only node's never is)."""

    #: the feed is the desk (True until :meth:`drive`)
    mirroring: bool = True

    def __init__(self, *args: Any, hub: LiveHub, following: Following, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hub, self.following = hub, following

    def drive(self) -> None:
        """This node leads now: stop following the feed (it would bring this node's own
        messages back) and answer from its own controller. The browsers' sockets stay
        open on the same hub: the controller's messages reach them from now on."""
        self.mirroring = False
        self.following.stop()

    def _latest(self) -> WallboardSnapshot | None:
        return self.hub.latest_wallboard if self.mirroring else None

    def wallboard(self) -> WallboardSnapshot:
        """The latest snapshot of the feed (this node's own before the first, and once it
        drives)."""
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
        wait and agents) as the latest snapshot has it, not this node's idle ACD; its
        own ACD's once it drives."""
        if not self.mirroring:
            return read_floor(self.ctl.core, self.ctl.now())
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
        if not self.mirroring:
            return super().call_agent(call_id)
        latest = self._latest()
        rows = latest["agents"] if latest is not None else []
        return next((a["id"] for a in rows if a["call_id"] == call_id), None)

    async def agent_logout(self, agent_id: str) -> None:
        """The page's logout goes on (the session ends here); while mirroring, the ACD
        keeps the agent until the driving node is told."""
        if not self.mirroring:
            await super().agent_logout(agent_id)

    # -- what only the driving node may do: refused while mirroring -----------------
    agent_ready = _driving("ready", ControllerDesk.agent_ready)
    agent_pause = _driving("pause", ControllerDesk.agent_pause)
    agent_wrap_up = _driving("wrap-up", ControllerDesk.agent_wrap_up)
    mute_recording = _driving("mute", ControllerDesk.mute_recording)
    record_on_demand = _driving("record", ControllerDesk.record_on_demand)
    send_to_ivr = _driving("send to IVR", ControllerDesk.send_to_ivr)
    transfer = _driving("transfer", ControllerDesk.transfer)
    consult = _driving("consult", ControllerDesk.consult)
    end_consult = _driving("end consult", ControllerDesk.end_consult)
    schedule_callback = _driving("schedule callback", ControllerDesk.schedule_callback)
    spy = _driving("spy", ControllerDesk.spy)
    move_call = _driving("move", ControllerDesk.move_call)
