"""Every (re-)queue writes one ``queued`` call event with the call's place (flow core
rule 20), and a restart reads the last one back: the pure core by hand, over a real ACD.
Each kind of (re-)queue: the IVR's route, an overflow to a queue, a supervisor's move,
a transfer to a queue and to a named agent, an IVR callback node's request entering."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

import acd
from callcenter.controller import _last_place
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.core import AGENT_TRANSFER_WAIT_S
from callcenter.flow.inputs import AgentCommand, CallRowLoaded, MoveWaiting, TransferCall
from callcenter.flow.overflow import OverflowTarget
from callcenter.flow.place import BadPlace, Place
from callcenter.storage.writes import RecordCallEvent

from .flow_support import CALL, NODE, Flow
from .test_flow_move import holding
from .test_flow_overflow import overflowing
from .test_flow_transfer import one_queue_three_agents, talking_to_7, two_queues


def places(f: Flow) -> list[Place]:
    """The places the call's ``queued`` events say, in order."""
    return [Place.from_data(w.data or {}) for w in f.writes(RecordCallEvent) if w.kind == "queued"]


def test_the_ivrs_route_writes_the_first_place() -> None:
    f = holding()  # arrived, routed to support
    [place] = places(f)
    assert place == Place("support", 0, place.entered_at, "ivr")
    view = f.acd.call(CALL, f.mono)
    assert view is not None and (f.wall - place.entered_at).total_seconds() == view.wait_s


def test_an_overflow_to_a_queue_writes_its_place_with_the_first_entry(tmp_path: Path) -> None:
    f = overflowing(tmp_path, OverflowTarget("queue", "billing"))
    first, then = places(f)
    assert then == Place("billing", 0, first.entered_at, "overflow")  # its 30 s wait kept


def test_a_supervisors_move_writes_its_place_with_its_entry_kept() -> None:
    f = holding()
    f.tick(12)
    f.feed(MoveWaiting(acd.MoveCall(CALL, queue="billing", priority=4), "supervisor:3"))
    first, then = places(f)
    assert then == Place("billing", 4, first.entered_at, "move")


def test_a_transfer_to_a_queue_writes_its_place_from_the_transfer_on() -> None:
    f = two_queues()
    talking_to_7(f)
    f.tick(40)
    f.feed(TransferCall(CALL, "sales", "agent:7"))
    first, then = places(f)
    assert then == Place("sales", 0, f.wall, "transfer")
    assert then.entered_at > first.entered_at


def test_a_transfer_to_a_named_agent_writes_whom_it_is_held_for_and_until_when() -> None:
    f = one_queue_three_agents()
    talking_to_7(f, "7", "8", "9")
    f.feed(AgentCommand(acd.AgentPause("9", "break")))
    f.feed(TransferCall(CALL, "", "agent:7", "9"))
    then = places(f)[-1]
    until = f.wall + dt.timedelta(seconds=AGENT_TRANSFER_WAIT_S)
    assert then == Place("support", 0, f.wall, "transfer", "9", until)
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.preferred_agent == "9"


def test_an_ivr_callback_nodes_request_entering_writes_its_place() -> None:
    from .test_flow_callback import node_request_left

    f = node_request_left()
    [then] = [p for p in places(f) if p.why == "callback"]
    assert then == Place("support", 0, f.wall, "callback")


def restarted_held_for_9(ago: float, **facts: object) -> tuple[Flow, str]:
    """A restarted core adopting a caller that entered its queue ``ago`` s before, held
    for agent 9 (paused) 60 s from then, as its last queued event says; 8 is Ready."""
    f = one_queue_three_agents()
    f.login("8", "9")
    f.feed(AgentCommand(acd.AgentPause("9", "break")))
    a = f"{NODE}:1796314834.0"
    entered = f.wall - dt.timedelta(seconds=ago)
    held = Place("support", 0, entered, "transfer", "9", entered + dt.timedelta(seconds=60))
    f.rows[a] = CallRowLoaded(a, queue="support", place=held, **facts)  # type: ignore[arg-type]
    f.replay("15-restart-during-hold.ami", until=lambda m: m.name == "MusicOnHoldStop")
    return f, a


def test_a_restart_keeps_a_caller_held_for_its_named_agent_until_the_same_deadline() -> None:
    # Broke: a restart put a caller transferred to agent 9 back in the queue for anyone
    # (agent 8 rang at once): the hold for 9 was in no SQL the restart read.
    then = dt.datetime(2026, 12, 3, 11, 58, 30, tzinfo=dt.UTC)  # SQL: answered by 7 before
    f, a = restarted_held_for_9(20, queued_at=then, answered_at=then, agent_id="7",
                                outcome="answered", wait_s=10.0,
                                transfers=(("7", "support"),), transferred_to="support")  # fmt: skip
    assert f.core.calls[a].stage is Stage.HOLDING
    view = f.acd.call(a, f.mono)
    assert view is not None and view.preferred_agent == "9" and abs(view.wait_s - 20) < 1e-6
    assert f.sent(fx.Originate) == [], "8 is Ready, yet the caller waits for 9"
    assert [w for w in f.writes(RecordCallEvent) if w.kind == "queued"] == [], "none again"
    assert f.sent(fx.Originate, f.tick(39)) == []
    out = f.tick(2)  # past the deadline written before the restart: the queue's agents
    assert [o.agent_id for o in f.sent(fx.Originate, out)] == ["8"]


def test_a_restart_after_the_hold_ran_out_puts_the_caller_in_line_for_anyone() -> None:
    f, _ = restarted_held_for_9(90)
    assert [o.agent_id for o in f.sent(fx.Originate)] == ["8"]


def test_a_caller_routed_through_a_consent_prompt_has_its_place_before_it() -> None:
    from callcenter.flow.inputs import AgiReplied
    from recordings import RecordingPolicy

    from .test_recordings_flow import CONSENT, consent_call

    f = consent_call(RecordingPolicy(consent_prompt=CONSENT))
    f.feed(AgentCommand(acd.AgentPause("7", "break")))
    [place] = places(f)  # written as the prompt begins: a restart meanwhile finds it
    call = f.core.calls[CALL]
    assert call.pending is not None and CONSENT in call.pending.command
    assert f.acd.call(CALL, f.mono) is None, "in line once the prompt played"
    f.tick(4)
    f.feed(AgiReplied(CALL, call.pending.command_id, "200 result=0 endpos=16000"))
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.wait_s == 0.0 and places(f) == [place]


# -- the event's data, both ways --------------------------------------------------------
T0 = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


def test_a_place_reads_back_what_it_wrote() -> None:
    for place in (Place("support", 2, T0, "move"),
                  Place("sales", 0, T0, "transfer", "9", T0 + dt.timedelta(seconds=60))):  # fmt: skip
        assert Place.from_data(place.data()) == place
    assert Place("sales", 0, T0, "transfer", "9", T0 + dt.timedelta(seconds=60)).hold_s == 60.0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"priority": 0, "entered_at": T0.isoformat()}, "queue"),
        ({"queue": "support", "priority": "1", "entered_at": T0.isoformat()}, "priority"),
        ({"queue": "support", "priority": 0, "entered_at": "noon"}, "entered_at"),
        ({"queue": "support", "priority": 0, "entered_at": "2026-12-03T12:00:00"}, "entered_at"),
        ({"queue": "support", "priority": 0, "entered_at": T0.isoformat(), "held_for": 9},
         "held_for"),
        ({"queue": "support", "priority": 0, "entered_at": T0.isoformat(), "held_for": "9"},
         "hold_until"),
        ({"queue": "support", "priority": 0, "entered_at": T0.isoformat(), "why": "magic"},
         "why"),
    ],
)  # fmt: skip
def test_bad_place_data_is_refused_naming_the_field(data: dict, field: str) -> None:
    with pytest.raises(BadPlace, match=f"^{field}"):
        Place.from_data(data)


def test_a_place_written_before_entries_were_kept_takes_the_rows_entry() -> None:
    assert Place.from_data({"queue": "support", "priority": 1}, T0) == Place("support", 1, T0)
    with pytest.raises(BadPlace, match="^entered_at"):
        Place.from_data({"queue": "support", "priority": 1})


def test_the_restart_reads_the_last_readable_queued_event(caplog: pytest.LogCaptureFixture) -> None:
    row = SimpleNamespace(id=CALL, queued_at=T0)
    first = Place("support", 0, T0, "ivr")
    moved = Place("billing", 5, T0, "move")

    def event(n: int, kind: str, data: dict) -> SimpleNamespace:
        return SimpleNamespace(id=n, kind=kind, at=T0, data=data)

    events = [event(1, "queued", first.data()), event(2, "moved", {"queue": "billing"}),
              event(3, "queued", moved.data()), event(4, "announced", {})]  # fmt: skip
    assert _last_place(row, events) == moved
    with caplog.at_level(logging.WARNING, logger="callcenter.controller"):
        assert _last_place(row, [*events, event(5, "queued", {"queue": ""})]) == moved
    assert f"call {CALL}: queued event 5 unreadable (queue: '' is not a queue name)" in caplog.text
    assert _last_place(row, [event(2, "moved", {"queue": "billing"})]) is None


def test_a_scheduled_callback_entering_writes_its_place_held_for_who_set_it() -> None:
    from .test_flow_scheduled_callback import CB, POLICY, scheduled

    f = Flow(("7", "8"), hold_slice_s=20.0, sticky_wait_s=30.0)  # sticky: held for 7
    f.core.callbacks = {"support": POLICY}
    f.login("7", "8")
    f.feed(AgentCommand(acd.AgentPause("7", "break")))
    scheduled(f, 600)
    f.tick(600)
    [then] = [Place.from_data(w.data or {}) for w in f.writes(RecordCallEvent)
              if w.kind == "queued" and w.call_id == CB]  # fmt: skip
    until = f.wall + dt.timedelta(seconds=30)
    assert then == Place("support", 0, f.wall, "callback", "7", until)
    view = f.acd.call(CB, f.mono)
    assert view is not None and view.preferred_agent == "7"
