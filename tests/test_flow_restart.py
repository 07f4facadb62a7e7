"""Whole call lives across restarts, from real Asterisk 22 bytes: codec -> tracker -> core.

Each test starts a fresh core (the restarted controller) and replays what the
next AMI session of a real Asterisk received (transcripts 12, 15, 20, 21), with
what SQL knew of each call handed in as the shell's read would.
"""

from __future__ import annotations

import datetime as dt

import acd
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.inputs import AgiReplied, CallRowLoaded
from callcenter.flow.place import Place

from .flow_support import NODE, Flow


def test_restart_in_the_ivr_adopts_both_parked_callers_and_starts_their_ivr_again() -> None:
    f = Flow()
    f.replay("12-reconnect-resync.ami", until=lambda m: m.name == "AsyncAGIEnd")
    adopted = {c.channel for c in f.core.calls.values()}
    assert adopted == {"Local/s@caller-sim-00000002;1", "Local/s@caller-sim-00000003;1"}
    assert all(c.stage is Stage.IVR for c in f.core.calls.values())
    assert not f.sent(fx.LoadCall), "the rows came with the listing"
    assert f.sent(fx.LoadOpenCalls) == [fx.LoadOpenCalls(NODE)]
    sent = {e.channel for e in f.sent(fx.SendAgi)}
    assert sent == adopted, "every adopted caller is driven again"


def test_restart_in_the_ivr_ends_each_call_with_one_outcome() -> None:
    f = Flow()
    f.replay("12-reconnect-resync.ami")
    assert f.core.calls == {}
    outcomes = f.outcomes()
    assert len(outcomes) == 2 and set(outcomes.values()) == {"ivr_hangup"}


def test_restart_during_hold_puts_the_caller_back_at_its_place_and_priority() -> None:
    # Broke on a real Asterisk: callers holding at a restart were never picked up again
    # (CoreShowChannels lists them as MusicOnHold; Status tells the truth).
    f = Flow()
    queued_at = f.wall - dt.timedelta(seconds=40)
    a = f"{NODE}:1796314834.0"
    f.rows[a] = CallRowLoaded(a, queue="support", queued_at=queued_at,
                              place=Place("support", 1, queued_at))  # fmt: skip
    f.replay("15-restart-during-hold.ami", until=lambda m: m.name == "MusicOnHoldStop")
    call = f.core.calls[a]
    assert call.stage is Stage.HOLDING
    view = f.acd.call(a, f.mono)
    assert view is not None and view.priority == 1
    assert abs(view.wait_s - 40) < 1e-6, "the wait goes on from its old start"
    assert call.pending is not None and call.pending.command == "SET MUSIC ON default"


def test_restart_while_talking_keeps_the_agent_on_call_and_never_offers_the_call_again() -> None:
    # Broke: callers talking at a restart were put back in the queue and bridged to a
    # second agent; their agent came back offline.
    f = Flow()
    f.login("7", "8")
    a, b = f"{NODE}:1796315660.0", f"{NODE}:1796315663.4"
    f.rows[a] = CallRowLoaded(
        a, queue="support", queued_at=f.wall - dt.timedelta(seconds=30),
        answered_at=f.wall - dt.timedelta(seconds=3), agent_id="7",
        recording_path="/rec/a.wav", recording_started_at=f.wall, mixmonitor_id="0x5",
    )  # fmt: skip
    entered = f.wall - dt.timedelta(seconds=10)
    f.rows[b] = CallRowLoaded(b, queue="support", queued_at=entered,
                              place=Place("support", 0, entered))  # fmt: skip
    rename = {"s21-agent-a": "hl-old-7-1", "s21-ring-a": "hl-old-8-2"}
    out = f.replay("21-restart-while-talking.ami", rename=rename, answer_agi=False,
                   until=lambda m: m.name == "Status")  # fmt: skip
    assert f.core.calls[a].stage is Stage.TALKING
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert fx.HangupLeg(NODE, "hl-old-8-2") in out, "the dead run's ringing leg is ended"
    assert [o.call_id for o in f.sent(fx.Originate)] == [b], "only the holding caller is offered"
    assert not f.sent(fx.StartRecording), "the recording from before goes on"

    f.replay("21-restart-while-talking.ami", rename=rename, answer_agi=False, first=False)
    assert [o.call_id for o in f.sent(fx.Originate)] == [b]
    assert f.outcomes() == {a: "answered", b: "abandoned"}
    assert fx.FinishRecording(a, "/rec/a.wav", f.wall, "0x5") in f.effects
    hangups = [e for e in f.sent(fx.SendAgi) if e.call_id == a]
    assert [e.command for e in hangups] == ["HANGUP"], "after-call ends the call"


def test_restart_in_the_after_call_closes_the_call_once() -> None:
    f = Flow()
    a = f"{NODE}:1796315660.0"
    f.rows[a] = CallRowLoaded(a, queue="support", queued_at=f.wall, answered_at=f.wall,
                              agent_id="7")  # fmt: skip
    # A fresh core that first sees caller A when it re-enters AsyncAGI in [after-call].
    f.replay("21-restart-while-talking.ami", answer_agi=False,
             since=lambda m: m.name == "AsyncAGIStart" and "after-call" in (m.get("Env") or ""))  # fmt: skip
    assert f.outcomes()[a] == "answered"
    assert [e.command for e in f.sent(fx.SendAgi) if e.call_id == a] == ["HANGUP"]


def test_a_pbx_restart_ends_its_calls_as_lost() -> None:
    f = Flow()
    f.replay("20-pbx-restart.ami")
    [call] = f.core.calls.values()
    assert call.stage is Stage.IVR
    f.replay("20-pbx-restart.after.ami", restarted=True, first=False)
    assert f.core.calls == {}
    assert f.outcomes() == {call.call_id: "lost"}


def test_a_network_blip_keeps_the_calls() -> None:
    f = Flow()
    f.replay("20-pbx-restart.ami")
    [call] = f.core.calls.values()
    cmd = call.pending
    assert cmd is not None
    f.replay("20-pbx-restart.blip.ami", first=False)
    assert call.call_id in f.core.calls
    f.feed(AgiReplied(call.call_id, cmd.command_id, "200 result=0"))
