"""An IVR visit mid-call and a sensitive node's mute, in the call-flow core by hand.

The agent sends its talking caller to an IVR node (a card number); the caller is
redirected to its AsyncAGI context, the agent leg to wait; while the caller is at a
``sensitive`` input node the running recording is muted, and the node's commands go
only once Asterisk answered the mute; once the entry is done the mute is lifted and
the caller is bridged with the agent again."""

from __future__ import annotations

import datetime as dt
import textwrap

from callcenter.ami.agi import AgiEnv
from callcenter.facts import RecordCallEvent
from callcenter.flow import effects as fx
from callcenter.flow.inputs import (
    AgiReplied,
    MuteRecording,
    OfferEnded,
    OfferResult,
    PbxEvent,
    RecordingMuted,
    RecordingStarted,
    SendToIvr,
)
from callcenter.flow.state import Stage
from callcenter.tracker import AgiStarted, Bridged, ChannelHungUp, Unbridged
from ivr import parse_ivr

from .flow_support import CALL, CH, NODE, UID, Flow

CARD_NO = "4111111111111111"
VISIT = parse_ivr(
    textwrap.dedent(
        """\
        languages: [vi]
        default_language: vi
        start: main
        fallback_queue: support
        visits: [card]
        invalid_prompt: invalid
        prompts:
          invalid: hotline/vi/invalid
          main: hotline/vi/main-menu
          card: hotline/vi/card
          thanks: hotline/vi/thanks
        nodes:
          main:
            prompt: main
            options: {1: {queue: support}}
          card:
            type: input
            prompt: card
            variable: card
            min_digits: 16
            max_digits: 16
            luhn: true
            sensitive: true
            next: {goto: thanks}
          thanks: {type: play, prompt: thanks, next: {queue: support}}
        """
    ),
    queues={"support"},
)


def pending(f: Flow) -> str | None:
    call = f.core.calls[CALL]
    return call.pending.command if call.pending is not None else None


def reply(f: Flow, text: str) -> list:
    call = f.core.calls[CALL]
    assert call.pending is not None, "no AGI command in flight"
    return f.feed(AgiReplied(CALL, call.pending.command_id, text))


def agi_start(f: Flow, context: str = "hotline-safe") -> list:
    env = AgiEnv(channel=CH, uniqueid=UID, context=context, callerid="0912000001")
    return f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, True)))


def talking(recorded: bool = True) -> tuple[Flow, str, dt.datetime]:
    """A call of queue support talking to agent 7 (recorded from t0); its agent leg."""
    f = Flow()
    f.core.ivr = VISIT
    f.login("7")
    agi_start(f)
    reply(f, "200 result=1")  # SET VARIABLE CHANNEL(language)
    assert pending(f) == "GET DATA hotline/vi/main-menu 5000 1"
    reply(f, "200 result=1")
    [orig] = f.sent(fx.Originate)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    t0 = f.wall
    if recorded:
        f.feed(RecordingStarted(CALL, "/rec/a.wav", t0, "0x1"))
    return f, orig.leg, t0


def visit(f: Flow, leg: str) -> list:
    """The agent sends the caller to the card node; the caller leaves the bridge and
    re-enters AsyncAGI; the effects of that AsyncAGIStart."""
    out = f.feed(SendToIvr(CALL, "card", "agent:7"))
    assert f.sent(fx.RedirectCall, out) == [
        fx.RedirectCall(NODE, CALL, CH, "hotline-safe", "s", leg, "hotline-agent-wait")
    ]
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    assert f.core.calls[CALL].stage is Stage.VISITING, "leaving the bridge is not the end"
    return agi_start(f)


def at(t0: dt.datetime, s: float) -> dt.datetime:
    return t0 + dt.timedelta(seconds=s)


def test_the_card_node_is_muted_before_its_first_command_and_unmuted_once_entered() -> None:
    f, leg, t0 = talking()
    out = visit(f, leg)
    assert f.sent(fx.SetRecordingMute, out) == [
        fx.SetRecordingMute(NODE, CALL, CH, "0x1", True, "ivr:card")
    ]
    assert pending(f) is None, "a command went before Asterisk answered the mute"
    f.feed(RecordingMuted(CALL, True, at(t0, 10), "ivr:card"))
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1")
    assert pending(f) == "GET DATA hotline/vi/card 6000 16"
    out = reply(f, "200 result=1234")  # not a card number: asked again, still muted
    assert f.sent(fx.SetRecordingMute, out) == []
    assert pending(f) == 'STREAM FILE hotline/vi/invalid ""'
    out = reply(f, "200 result=0 endpos=8000")
    assert f.sent(fx.SetRecordingMute, out) == [], "unmuted between two tries"
    assert pending(f) == "GET DATA hotline/vi/card 6000 16", "the second try"
    out = reply(f, f"200 result={CARD_NO}")
    assert [m.muted for m in f.sent(fx.SetRecordingMute, out)] == [False], "the entry is done"
    assert f.sent(fx.RejoinAgent, out) == [], "the thanks prompt plays first"
    assert pending(f) == 'STREAM FILE hotline/vi/thanks ""'
    f.feed(RecordingMuted(CALL, False, at(t0, 25), "ivr:card"))
    out = reply(f, "200 result=0 endpos=8000")
    assert f.sent(fx.RejoinAgent, out) == [fx.RejoinAgent(NODE, CALL, CH, leg)]
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b2", UID)))
    call = f.core.calls[CALL]
    assert call.stage is Stage.TALKING and call.recording is not None
    assert call.recording.mutes == [(10.0, 25.0)]
    out = f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b2")))  # the agent hangs up
    assert f.sent(fx.StopRecording, out) == [fx.StopRecording(NODE, CALL, CH, "0x1")]
    agi_start(f)
    assert pending(f) == "HANGUP"
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    [done] = f.sent(fx.FinishRecording, out)
    assert done.mute_intervals == ((10.0, 25.0),)
    assert f.outcomes() == {CALL: "answered"}
    events = [(e.kind, e.data) for e in f.writes(RecordCallEvent)
              if e.kind in ("sent_to_ivr", "recording_muted", "recording_unmuted",
                            "back_to_agent")]  # fmt: skip
    assert events == [("sent_to_ivr", {"node": "card", "by": "agent:7"}),
                      ("recording_muted", {"by": "ivr:card", "offset_s": 10.0}),
                      ("recording_unmuted", {"by": "ivr:card", "offset_s": 25.0}),
                      ("back_to_agent", {"agent": "7"})]  # fmt: skip
    [trail] = [e.data for e in f.writes(RecordCallEvent)
               if e.kind == "ivr_trail" and e.data["end"] == "visit"]  # fmt: skip
    assert trail["path"].startswith("card(") and trail["variables"] == {"card": "x" * 16}
    assert CARD_NO not in repr(f.effects), "the card number left the IVR session"


def test_a_hang_up_at_the_card_node_ends_the_span_at_the_file_end_and_frees_the_agent() -> None:
    f, leg, t0 = talking()
    visit(f, leg)
    f.feed(RecordingMuted(CALL, True, at(t0, 4), "ivr:card"))
    reply(f, "200 result=1")
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.sent(fx.HangupLeg, out) == [fx.HangupLeg(NODE, leg)], "the waiting agent"
    [done] = f.sent(fx.FinishRecording, out)
    assert done.mute_intervals == ((4.0, None),), "muted to the end of the file"
    assert f.sent(fx.SetRecordingMute, out) == []
    assert f.outcomes() == {CALL: "answered"}
    assert f.agent_state("7").value != "on_call"


def test_nobody_unmutes_while_the_caller_keys_and_a_persons_mute_outlives_the_node() -> None:
    f, leg, t0 = talking()
    visit(f, leg)
    f.feed(RecordingMuted(CALL, True, at(t0, 4), "ivr:card"))
    out = f.feed(MuteRecording(CALL, False, "supervisor:2"))
    assert f.sent(fx.SetRecordingMute, out) == [] and f.sent(fx.Log, out)
    assert f.feed(MuteRecording(CALL, True, "agent:7")) == [], "muted already: now theirs"
    reply(f, "200 result=1")
    out = reply(f, f"200 result={CARD_NO}")
    assert f.sent(fx.SetRecordingMute, out) == [], "the IVR lifts only its own mute"
    assert f.core.calls[CALL].recording.muted


def test_a_refused_mute_lets_the_caller_key_and_says_so() -> None:
    f, leg, t0 = talking()
    visit(f, leg)
    # Asterisk refused: the shell reports the state unchanged (controller._set_mute)
    out = f.feed(RecordingMuted(CALL, False, at(t0, 4), "ivr:card"))
    assert [e.level for e in f.sent(fx.Log, out)] == ["error"]
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi", "the caller is never stuck"
    reply(f, "200 result=1")
    out = reply(f, f"200 result={CARD_NO}")
    assert f.sent(fx.SetRecordingMute, out) == [], "nothing to unmute"


def test_an_unrecorded_call_visits_with_no_mute_and_an_agent_gone_ends_the_visit() -> None:
    f, leg, _ = talking(recorded=False)
    out = visit(f, leg)
    assert f.sent(fx.SetRecordingMute, out) == []
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1")
    out = f.feed(
        PbxEvent(NODE, ChannelHungUp(UID, "PJSIP/2007-00000002", leg, 16, "Normal Clearing"))
    )
    call = f.core.calls[CALL]
    assert call.stage is Stage.AFTER_CALL
    reply(f, f"200 result={CARD_NO}")  # the GET DATA in flight ends; nobody reads it
    assert pending(f) == "HANGUP" and not f.sent(fx.RejoinAgent)


def test_a_visit_needs_a_talking_call_and_a_known_node() -> None:
    f, leg, _ = talking()
    out = f.feed(SendToIvr(CALL, "nowhere", "agent:7"))
    assert f.sent(fx.RedirectCall, out) == [] and f.sent(fx.Log, out)
    out = f.feed(SendToIvr(f"{NODE}:404", "card", "agent:7"))
    assert f.sent(fx.RedirectCall, out) == [] and f.sent(fx.Log, out)
    visit(f, leg)
    out = f.feed(SendToIvr(CALL, "card", "agent:7"))
    assert f.sent(fx.RedirectCall, out) == [], "already visiting"


def test_a_recording_that_starts_while_the_caller_keys_is_muted_at_once() -> None:
    # the agent sent the caller away before MixMonitor answered: the mute follows the start
    f, leg, t0 = talking(recorded=False)
    visit(f, leg)
    reply(f, "200 result=1")
    assert pending(f) == "GET DATA hotline/vi/card 6000 16"
    out = f.feed(RecordingStarted(CALL, "/rec/a.wav", t0, "0x1"))
    assert f.sent(fx.SetRecordingMute, out) == [
        fx.SetRecordingMute(NODE, CALL, CH, "0x1", True, "ivr:card")
    ]


def test_tries_used_up_at_the_card_node_unmute_and_bring_the_caller_back() -> None:
    f, leg, t0 = talking()
    visit(f, leg)
    f.feed(RecordingMuted(CALL, True, at(t0, 4), "ivr:card"))
    reply(f, "200 result=1")
    outs = []
    while pending(f) is not None:
        command = pending(f)
        outs.append(reply(f, "200 result= (timeout)" if command.startswith("GET DATA")
                          else "200 result=0 endpos=8000"))  # fmt: skip
    mutes = [m.muted for out in outs for m in f.sent(fx.SetRecordingMute, out)]
    assert mutes == [False], "unmuted once, when the last try was over"
    assert f.sent(fx.RejoinAgent, outs[-1]) == [fx.RejoinAgent(NODE, CALL, CH, leg)]
