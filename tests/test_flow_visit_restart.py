"""A restarted controller finds a caller in the middle of an IVR visit (core rule 10).

A fresh core (the restarted controller) gets the resync's facts: the caller parked in
AsyncAGI in its entry context, its agent leg (``hl-<run>-<agent>-<n>``, the caller's
Linkedid, as the agent leg of transcript 21) waiting unbridged in
``[hotline-agent-wait]`` with ``MusicOnHold``, and what SQL knows of the call.
Broke: the caller was queued again and the waiting agent hung up.
"""

from __future__ import annotations

import datetime as dt

import acd
from callcenter.facts import RecordCallEvent
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.inputs import (
    CallRowLoaded,
    LinkResynced,
    OpenCallsLoaded,
    PbxEvent,
    RecordingMuted,
)
from callcenter.flow.place import Place
from callcenter.tracker import (
    GONE_AT_RESYNC,
    AgiStarted,
    Bridged,
    ChannelHungUp,
    Listed,
    ParkedInAgi,
    Unbridged,
)

from .flow_support import CALL, CH, NODE, UID, Flow

LEG = "hl-old-7-3"
LEG_CH = "PJSIP/2007-00000002"
CALLER = ParkedInAgi(UID, CH, UID, "0912000001", "", "hotline-safe")
WAITING = Listed(UID, LEG_CH, LEG, "", "MusicOnHold", "hotline-agent-wait", "0912000001", "")


def row(f: Flow, **over: object) -> CallRowLoaded:
    """SQL's row of a call answered by agent 7, recorded, sent to the card node."""
    facts: dict[str, object] = dict(
        queue="support", queued_at=f.wall - dt.timedelta(seconds=60),
        answered_at=f.wall - dt.timedelta(seconds=50), agent_id="7",
        recording_path="/rec/a.wav", recording_started_at=f.wall - dt.timedelta(seconds=49),
        mixmonitor_id="0x1", visited=True, mutes=((30.0, None),), muted_by="ivr:card",
    )  # fmt: skip
    facts.update(over)
    return CallRowLoaded(CALL, **facts)  # type: ignore[arg-type]


def resync(f: Flow, *events: object, rows: tuple[CallRowLoaded, ...] = ()) -> list:
    return f.feed(LinkResynced(NODE, tuple(events), first=True, rows=rows))  # type: ignore[arg-type]


def test_the_caller_is_bridged_back_with_its_waiting_agent_and_the_nodes_mute_lifted() -> None:
    f = Flow()
    out = resync(f, CALLER, WAITING, rows=(row(f),))
    call = f.core.calls[CALL]
    assert call.stage is Stage.VISITING and call.agent_id == "7"
    assert f.sent(fx.RejoinAgent, out) == [fx.RejoinAgent(NODE, CALL, CH, LEG)]
    assert fx.HangupLeg(NODE, LEG) not in out, "the waiting agent was hung up"
    assert not f.sent(fx.Originate, out) and not f.sent(fx.SendAgi, out), "queued again"
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert f.sent(fx.SetRecordingMute, out) == [
        fx.SetRecordingMute(NODE, CALL, CH, "0x1", False, "ivr:card")
    ], "the card node's mute outlived the node"
    adopted = [w for w in f.writes(RecordCallEvent) if w.kind == "adopted"]
    assert [a.data["where"] for a in adopted] == ["visiting"]

    f.tick(5)
    f.feed(RecordingMuted(CALL, False, f.wall, "ivr:card"))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b2", UID)))
    assert call.stage is Stage.TALKING and call.bridged
    assert "back_to_agent" in [w.kind for w in f.writes(RecordCallEvent)]
    assert not f.sent(fx.StartRecording), "the recording from before goes on"
    out = f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b2")))  # the agent hangs up
    assert f.sent(fx.StopRecording, out) == [fx.StopRecording(NODE, CALL, CH, "0x1")]
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, _env(), True)))  # back in [hotline-safe]
    assert [e.command for e in f.sent(fx.SendAgi)] == ["HANGUP"]
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}
    [done] = f.sent(fx.FinishRecording)
    assert done.mute_intervals == ((30.0, 54.0),), "the span from before the restart is lost"


def test_a_mute_a_person_set_stays_when_the_caller_is_bridged_back() -> None:
    f = Flow()
    out = resync(f, CALLER, WAITING, rows=(row(f, muted_by="agent:7"),))
    assert f.sent(fx.RejoinAgent, out) == [fx.RejoinAgent(NODE, CALL, CH, LEG)]
    assert not f.sent(fx.SetRecordingMute, out), "the IVR lifted a person's mute"


def test_the_agent_hanging_up_before_the_bridge_back_ends_the_call_once() -> None:
    f = Flow()
    resync(f, CALLER, WAITING, rows=(row(f),))
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, LEG_CH, LEG, 16, "Normal Clearing")))
    assert f.core.calls[CALL].stage is Stage.AFTER_CALL
    assert [e.command for e in f.sent(fx.SendAgi, out)] == ["HANGUP"]
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}
    assert f.agent_state("7") is not acd.AgentState.ON_CALL


def test_an_agent_waiting_for_a_caller_who_is_gone_is_hung_up_and_free() -> None:
    f = Flow()
    out = resync(f, WAITING, rows=(row(f),))
    assert f.core.calls == {}
    assert fx.HangupLeg(NODE, LEG) in out, "the agent is left in music"
    [log] = [e for e in f.sent(fx.Log, out) if "whose caller is gone" in e.text]
    assert log.level == "warning" and "agent 7" in log.text
    f.feed(OpenCallsLoaded(NODE, (row(f, outcome=None),)))
    assert f.outcomes() == {CALL: "answered"}, "the dead run's call is not closed once"
    f.login("7")
    assert f.agent_state("7") is acd.AgentState.READY


def test_a_visiting_caller_whose_agent_is_gone_is_not_queued_again() -> None:
    f = Flow()
    out = resync(f, CALLER, rows=(row(f),))
    call = f.core.calls[CALL]
    assert call.stage is Stage.AFTER_CALL
    assert not f.sent(fx.Originate, out) and not f.sent(fx.RejoinAgent, out)
    assert f.acd.call(CALL, f.mono) is None, "queued again"
    assert [e.command for e in f.sent(fx.SendAgi, out)] == ["HANGUP"]
    assert f.outcomes() == {CALL: "answered"}
    assert f.sent(fx.StopRecording, out) == [fx.StopRecording(NODE, CALL, CH, "0x1")]
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 0, GONE_AT_RESYNC)))
    assert f.outcomes() == {CALL: "answered"}


def test_a_parked_caller_never_sent_to_the_ivr_mid_call_is_placed_as_before() -> None:
    # A caller parked in the IVR or the queue is not mistaken for a visit: no agent leg
    # waits for it and SQL saw no visit.
    f = Flow()
    f.login("7")
    entered = f.wall - dt.timedelta(seconds=60)
    out = resync(f, CALLER, rows=(row(f, answered_at=None, agent_id=None, visited=False,
                                      recording_path=None, mutes=(), muted_by=None,
                                      place=Place("support", 0, entered)),))  # fmt: skip
    assert f.core.calls[CALL].stage in (Stage.HOLDING, Stage.OFFERED)
    assert not f.sent(fx.RejoinAgent, out)


def _env():  # type: ignore[no-untyped-def]
    from callcenter.ami.agi import AgiEnv

    return AgiEnv(channel=CH, uniqueid=UID, context="hotline-safe", callerid="0912000001")
