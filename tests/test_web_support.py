"""Stand-ins for the controller and the store, for the web-edge tests only.

They implement the Protocols of ``callcenter.web.ports`` in a few lines and
record what the web edge asked of them. No tests live here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from callcenter.live import LiveHub
from callcenter.metrics import Metrics
from callcenter.web import create_app

SECRET = b"test-secret-key-of-at-least-32-bytes!!"
PASSWORD = "correct horse"


@dataclass(frozen=True)
class FakeAccount:
    id: int
    username: str
    display_name: str
    role: str


ACCOUNTS = {
    "an": FakeAccount(7, "an", "Nguyễn Văn An", "agent"),
    "binh": FakeAccount(8, "binh", "Trần Thị Bình", "agent"),
    "lan": FakeAccount(2, "lan", "Phạm Ngọc Lan", "supervisor"),
}


class FakeAccounts:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def verify_login(self, username: str, password: str) -> FakeAccount | None:
        self.asked.append(username)
        account = ACCOUNTS.get(username)
        return account if account is not None and password == PASSWORD else None


class DispositionError(Exception):
    """Shaped like storage's ``DispositionRejected``: a ``code`` and a ``detail``."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class TransitionError(Exception):
    """Shaped like acd's ``InvalidTransition``: a hyphenated ``code``, text in ``str()``."""

    code = "invalid_transition"


class FakeDispositions:
    def __init__(self, known_calls: set[str]) -> None:
        self.known_calls = known_calls
        self.saved: list[tuple[str, str, str, str]] = []
        #: the FCR flag of each save, in order
        self.flags: list[bool] = []

    async def save_disposition(
        self, call_id: str, agent_id: str, code: str, notes: str, *, fcr: bool
    ) -> None:
        if call_id not in self.known_calls:
            raise DispositionError(f"no call {call_id!r}", code="unknown_call")
        self.saved.append((call_id, agent_id, code, notes))
        self.flags.append(fcr)


def wallboard_snapshot(**changes: Any) -> dict[str, Any]:
    now = time.time()
    snap: dict[str, Any] = {
        "at": now,
        "waiting": 3,
        "longest_wait_s": 14.0,
        "offered": 128,
        "answered": 117,
        "abandoned": 6,
        "service_level_pct": 84.6,
        "sl_target_pct": 80,
        "sl_threshold_s": 20,
        "asa_s": 11.3,
        "agents": [
            {
                "id": "7",
                "name": "Nguyễn Văn An",
                "state": "talking",
                "since": now - 184,
                "call_id": "pbx1:1700000000.40",
            },
            {"id": "8", "name": "Trần Thị Bình", "state": "ready", "since": now - 35},
            {
                "id": "9",
                "name": "Lê Hoàng Dũng",
                "state": "wrapup",
                "since": now - 12,
                "call_id": "pbx1:1700000000.37",
            },
            {
                "id": "10",
                "name": "Võ Thị Hằng",
                "state": "ringing",
                "since": now - 4,
                "call_id": "pbx2:1700000000.41",
            },
            {
                "id": "11",
                "name": "Đặng Quốc Huy",
                "state": "paused",
                "since": now - 420,
                "pause_reason": "lunch",
            },
            {
                "id": "12",
                "name": "Bùi Minh Khoa",
                "state": "talking",
                "since": now - 65,
                "call_id": "pbx2:1700000000.39",
            },
            {"id": "13", "name": "Hoàng Thu Trang", "state": "ready", "since": now - 8},
            {"id": "14", "name": "Phan Đức Thắng", "state": "offline", "since": now - 3600},
        ],
        "ami": [{"node": "pbx1", "connected": True}, {"node": "pbx2", "connected": True}],
    }
    snap.update(changes)
    return snap


class FakeDesk:
    def __init__(self) -> None:
        self.snapshot = wallboard_snapshot()
        self.views: dict[str, dict[str, Any]] = {
            "7": {
                "agent_id": "7",
                "name": "Nguyễn Văn An",
                "state": "paused",
                "since": time.time() - 30,
                "pause_reason": "break",
                "call_id": None,
                "card": None,
            },
            "8": {
                "agent_id": "8",
                "name": "Trần Thị Bình",
                "state": "ready",
                "since": time.time() - 5,
                "call_id": None,
                "card": None,
            },
        }
        self.actions: list[tuple[str, ...]] = []

    def wallboard(self) -> dict[str, Any]:
        return self.snapshot

    def agent_view(self, agent_id: str) -> dict[str, Any] | None:
        return self.views.get(agent_id)

    async def agent_ready(self, agent_id: str) -> None:
        if self.views[agent_id]["state"] == "talking":
            raise TransitionError(f"agent {agent_id!r}: no transition from TALKING on READY")
        self.actions.append(("ready", agent_id))
        self.views[agent_id].update(state="ready", since=time.time(), pause_reason=None)

    async def agent_pause(self, agent_id: str, reason: str) -> None:
        self.actions.append(("pause", agent_id, reason))
        self.views[agent_id].update(state="paused", since=time.time(), pause_reason=reason)

    def waiting_calls(self, queue: str | None) -> list[dict[str, Any]]:
        return []

    def move_call(self, call_id: str, queue: str | None, priority: int | None,
                  position: int | None, by: str) -> dict[str, Any] | None:  # fmt: skip
        self.actions.append(("move", call_id, queue, priority, position, by))
        return None

    async def agent_logout(self, agent_id: str) -> None:
        self.actions.append(("logout", agent_id))
        self.views[agent_id].update(state="offline", since=time.time(), pause_reason=None)

    #: live call id -> (its agent, a recording runs)
    live_calls: dict[str, tuple[str, bool]] = {}

    def call_agent(self, call_id: str) -> str | None:
        live = self.live_calls.get(call_id)
        return None if live is None else live[0]

    def record_on_demand(self, call_id: str, by: str) -> bool:
        live = self.live_calls.get(call_id)
        if live is None or live[1]:
            return False
        self.actions.append(("record", call_id, by))
        return True

    def mute_recording(self, call_id: str, muted: bool, by: str) -> bool:
        live = self.live_calls.get(call_id)
        if live is None or not live[1]:
            return False
        self.actions.append(("mute" if muted else "unmute", call_id, by))
        return True

    #: live calls not talking to their agent (ringing, in the after-call)
    not_talking: set[str] = set()
    #: the IVR's visits (nodes an agent may send its caller to)
    visits: tuple[str, ...] = ("card",)

    def send_to_ivr(self, call_id: str, node: str, by: str) -> str | None:
        if node not in self.visits:
            return "no such node"
        if call_id not in self.live_calls or call_id in self.not_talking:
            return "not talking"
        self.actions.append(("visit", call_id, node, by))
        return None

    def queue_names(self) -> list[str]:
        return ["support", "sales"]

    def agent_names(self) -> list[tuple[str, str]]:
        return [("7", "An"), ("8", "Binh"), ("9", "Chi")]

    #: agents a call may be transferred to by name: id -> logged in and of "support"
    transfer_agents: dict[str, bool] = {"8": True, "9": False}

    def transfer(
        self, call_id: str, queue: str, by_agent: str, agent: str | None = None
    ) -> str | None:
        if queue not in ("support", "sales") and (agent is None or queue):
            return "unknown_queue"
        if agent is not None and agent not in self.transfer_agents:
            return "unknown_agent"
        if call_id not in self.live_calls or call_id in self.not_talking:
            return "not_talking"
        if agent is not None and not self.transfer_agents[agent]:
            return "agent_unavailable"
        if agent is None:
            self.actions.append(("transfer", call_id, queue, by_agent))
        else:
            self.actions.append(("transfer", call_id, queue, by_agent, agent))
        return None

    #: calls with a consultation under way: call id -> the consulted agent answered
    consulting: dict[str, bool] = {}
    #: agents who are not Ready (a consultation is refused: agent_busy)
    busy_agents: set[str] = set()

    def consult(
        self, call_id: str, by_agent: str, agent: str | None, queue: str = ""
    ) -> str | None:
        if agent is None:  # the queue's next Ready agent (the ACD's pick: test_flow_consult)
            if queue not in ("support", "sales"):
                return "unknown_queue"
            if call_id not in self.live_calls or call_id in self.not_talking:
                return "not_talking"
            if call_id in self.consulting:
                return "consulting"
            if queue == "sales":  # nobody Ready there in this world
                return "no_agent_ready"
            self.actions.append(("consult", call_id, by_agent, None, queue))
            return None
        if agent not in self.transfer_agents:
            return "unknown_agent"
        if call_id not in self.live_calls or call_id in self.not_talking:
            return "not_talking"
        if not self.transfer_agents[agent]:
            return "agent_unavailable"
        if call_id in self.consulting:
            return "consulting"
        if agent in self.busy_agents:
            return "agent_busy"
        self.actions.append(("consult", call_id, by_agent, agent))
        return None

    def end_consult(self, call_id: str, by_agent: str, complete: bool) -> str | None:
        if call_id not in self.live_calls or call_id in self.not_talking:
            return "not_talking"
        if call_id not in self.consulting:
            return "not_consulting"
        if complete and not self.consulting[call_id]:
            return "not_answered"
        self.actions.append(("complete" if complete else "cancel", call_id, by_agent))
        return None


CALL_ID = "pbx1:1700000000.42"


def screen_pop(call_id: str = CALL_ID) -> dict[str, Any]:
    return {
        "type": "screen_pop",
        "call_id": call_id,
        "caller_number": "+84 903 123 456",
        "card": {
            "name": "Nguyễn Thị Minh Khai",
            "vip": True,
            "tier": "Gold",
            "account": "VN-204-1187",
            "language": "vi",
            "open_tickets": 1,
            "last_contacts": [
                {"at": "2024-11-02", "disposition": "resolved", "notes": "Hỏi về hoá đơn"}
            ],
        },
        # the call-flow core's shape (callcenter/flow/core.py _offer): the trail in one line
        "ivr": {
            "language": "vi",
            "selections": {"language": "1", "main": "1", "account": "2041187"},
            "queue": "support",
            "path": "language(1) > hours[1] > main(1) > account(2041187) > find(found)",
            "entries": {"account": "2041187"},
        },
    }


@dataclass
class World:
    """The real app with stand-ins behind it."""

    desk: FakeDesk = field(default_factory=FakeDesk)
    accounts: FakeAccounts = field(default_factory=FakeAccounts)
    dispositions: FakeDispositions = field(default_factory=lambda: FakeDispositions({CALL_ID}))
    hub: LiveHub = field(default_factory=LiveHub)
    metrics: Metrics = field(default_factory=Metrics)
    now: float = field(default_factory=time.time)

    def app(self, **kwargs: Any) -> web.Application:
        return create_app(
            desk=self.desk,
            accounts=self.accounts,
            dispositions=self.dispositions,
            hub=self.hub,
            metrics=self.metrics,
            secret_key=SECRET,
            clock=lambda: self.now,
            **kwargs,
        )
