"""Drive the pure call-flow core by hand or from transcript bytes: no socket, no sleep.

``Flow`` holds a :class:`CallFlow` over a real ACD and the sample IVR, a
hand-moved clock, and a :class:`CallTracker`. ``replay()`` pushes a real
Asterisk transcript through the codec and the tracker into the core, the way
the shell does: a ``CoreShowChannels`` listing becomes one ``LinkResynced``,
and an ``AsyncAGIExec`` answers the command the core sent to that channel
(the client matches it by CommandID; a transcript's ids are not ours).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import acd
from callcenter.ami import CLOSED, AMICodec
from callcenter.flow import CallFlow
from callcenter.flow import effects as fx
from callcenter.flow.inputs import (
    AgiReplied,
    CallRowLoaded,
    Input,
    Instant,
    LinkResynced,
    PbxEvent,
    Timer,
)
from callcenter.tracker import CallTracker, corrected, needs_status
from ivr import load_ivr

from .transcripts import TRANSCRIPTS

ROOT = Path(__file__).resolve().parent.parent
IVR = load_ivr(ROOT / "config" / "ivr.yaml", queues={"support"})
NODE = "pbx1"
#: the caller of the flow tests: its channel, Uniqueid and call id
CH = "PJSIP/trunk-00000001"
UID = "1796.1"
CALL = f"{NODE}:{UID}"
E = TypeVar("E")


def make_acd(agents: tuple[str, ...] = ("7", "8"), **queue: Any) -> acd.Acd:
    settings: dict[str, Any] = {"wrap_up_s": 0.0, "offer_timeout_s": 15.0, "hold_slice_s": 20.0}
    settings.update(queue)
    return acd.Acd(
        acd.AcdConfig(
            queues=(acd.QueueConfig("support", **settings),),
            agents=tuple(
                acd.AgentConfig(a, f"Agent {a}", f"PJSIP/20{a.zfill(2)}", ("support",))
                for a in agents
            ),
            rna_pause_after=2,
            offer_grace_s=5.0,
        )
    )


class Flow:
    def __init__(self, agents: tuple[str, ...] = ("7", "8"), **queue: Any) -> None:
        self.acd = make_acd(agents, **queue)
        self.core = CallFlow(
            ivr=IVR,
            acd_core=self.acd,
            entry_contexts={"hotline", "hotline-safe"},
            after_call_context="after-call",
            run_id="r1",
        )
        self.tracker = CallTracker()
        self.mono = 1000.0
        self.wall = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
        self.effects: list[Any] = []
        #: answers LoadCall effects (by call id) as the shell's SQL read would
        self.rows: dict[str, CallRowLoaded] = {}
        #: what replay() answers a LoadCall with when ``rows`` has no entry
        self.load_missing = True

    # -- time and inputs ----------------------------------------------------------
    def at(self) -> Instant:
        return Instant(self.mono, self.wall)

    def tick(self, seconds: float) -> list[Any]:
        """Move the clock; fire the core's timer when due."""
        self.mono += seconds
        self.wall += dt.timedelta(seconds=seconds)
        deadline = self.core.next_timer()
        if deadline is not None and deadline <= self.mono:
            return self.feed(Timer())
        return []

    def feed(self, event: Input) -> list[Any]:
        out = self.core.handle(event, self.at())
        self.effects += out
        for e in list(out):
            if isinstance(e, fx.LoadCall):
                row = self.rows.get(e.call_id)
                if row is not None or self.load_missing:
                    out += self.feed(row or CallRowLoaded(e.call_id, found=False))
        return out

    def login(self, *agents: str) -> None:
        for a in agents:
            self.feed(_agent(acd.AgentLogin(a)))

    # -- transcripts ------------------------------------------------------------------
    def replay(
        self,
        name: str,
        *,
        rename: dict[str, str] | None = None,
        restarted: bool = False,
        first: bool = True,
        until: Callable[[Any], bool] | None = None,
        since: Callable[[Any], bool] | None = None,
        answer_agi: bool = True,
    ) -> list[Any]:
        """Feed a transcript's events to the core as the shell would; return the effects."""
        data = (TRANSCRIPTS / name).read_bytes()
        for old, new in (rename or {}).items():
            data = data.replace(old.encode(), new.encode())
        codec = AMICodec()
        codec.receive_data(data)
        codec.receive_data(None)
        msgs = []
        while (m := codec.next_message()) is not CLOSED:
            if m.kind == "event":
                msgs.append(m)
        if since is not None:
            msgs = msgs[next(i for i, m in enumerate(msgs) if since(m)) :]
        ours = self.core.entry_contexts | {self.core.after_call_context}
        out: list[Any] = []
        listed: list[Any] = []
        for i, m in enumerate(msgs):
            if until is not None and until(m):
                break
            if m.name == "CoreShowChannel":
                if needs_status(m, ours):
                    # the shell asks Status: the transcript's next Status of that channel
                    status = next((s for s in msgs[i:] if s.name == "Status"
                                   and s.get("Channel") == m.get("Channel")), None)  # fmt: skip
                    m = corrected(m, status) if status is not None else m
                listed.append(m)
            elif m.name == "CoreShowChannelsComplete":
                # as the shell does: SQL's rows of the listed calls the core does not hold
                ids = {f"{NODE}:{ev.get('Linkedid')}" for ev in listed} - set(self.core.calls)
                rows = tuple(self.rows.get(i) or CallRowLoaded(i, found=False) for i in sorted(ids)
                             if i in self.rows or self.load_missing)  # fmt: skip
                events = tuple(self.tracker.resync(listed))
                out += self.feed(LinkResynced(NODE, events, first=first, restarted=restarted,
                                              rows=rows))  # fmt: skip
                listed, first = [], False
            elif m.name == "AsyncAGIExec":
                if answer_agi:
                    out += self._agi_exec(m)
            else:
                for de in self.tracker.on_event(m):
                    out += self.feed(PbxEvent(NODE, de))
        return out

    def _agi_exec(self, m: Any) -> list[Any]:
        from urllib.parse import unquote

        channel = m.get("Channel")
        for call in self.core.calls.values():
            if call.channel == channel and call.pending is not None:
                text = unquote(m.get("Result") or "").strip()
                return self.feed(AgiReplied(call.call_id, call.pending.command_id, text))
        return []

    # -- reading effects -----------------------------------------------------------
    def sent(self, kind: type[E], effects: list[Any] | None = None) -> list[E]:
        return [e for e in (self.effects if effects is None else effects) if isinstance(e, kind)]

    def writes(self, kind: type[E]) -> list[E]:
        return [e.row for e in self.sent(fx.Write) if isinstance(e.row, kind)]

    def outcomes(self) -> dict[str, str]:
        from callcenter.storage.writes import RecordOutcome

        out: dict[str, str] = {}
        for row in self.writes(RecordOutcome):
            assert row.call_id not in out, f"{row.call_id}: second outcome {row.outcome}"
            out[row.call_id] = row.outcome
        return out

    def agent_state(self, agent_id: str) -> acd.AgentState:
        return self.acd.agent(agent_id, self.mono).state


def _agent(event: Any) -> Input:
    from callcenter.flow.inputs import AgentCommand

    return AgentCommand(event)
