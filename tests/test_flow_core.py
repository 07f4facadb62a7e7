"""The call-flow core driven by hand: inputs and a hand-moved clock, no socket, no sleep."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

import acd
from acd import kpis
from callcenter.ami.agi import AgiEnv
from callcenter.board import DayBoard, call_record
from callcenter.flow import TRANSITIONS, FlowError, Stage, Step
from callcenter.flow import effects as fx
from callcenter.flow.call import Purpose
from callcenter.flow.core import AGI_REENTRY_S, MAX_AGI_TRIES
from callcenter.flow.inputs import (
    AgentCommand,
    AgiFailed,
    AgiReplied,
    AgiTrouble,
    CallRowLoaded,
    CardFound,
    LinkLost,
    LinkResynced,
    OfferEnded,
    OfferResult,
    OpenCallsLoaded,
    PbxEvent,
    RecordingFailed,
    RecordingStarted,
)
from callcenter.flow.place import Place
from callcenter.flow.state import next_stage
from callcenter.metrics import Metrics
from callcenter.storage.writes import (
    RecordAgentState,
    RecordCallEvent,
    RecordCallUpdate,
    RecordOutcome,
    RecordRecording,
)
from callcenter.tracker import (
    GONE_AT_RESYNC,
    AgiEnded,
    AgiStarted,
    Bridged,
    ChannelHungUp,
    DigitPressed,
    LinkedidGone,
    Listed,
    ParkedInAgi,
    Unbridged,
)
from crm_bridge.card import CustomerCard

from .flow_support import CALL, CH, NODE, UID, Flow


def arrive(f: Flow, *, uid: str = UID, ch: str = CH, context: str = "hotline-safe",
           number: str = "0912000001") -> list:  # fmt: skip
    env = AgiEnv(channel=ch, uniqueid=uid, context=context, callerid=number)
    return f.feed(PbxEvent(NODE, AgiStarted(uid, ch, uid, env, True)))


def reply(f: Flow, text: str, call_id: str = CALL) -> list:
    call = f.core.calls[call_id]
    assert call.pending is not None, "no AGI command in flight"
    return f.feed(AgiReplied(call_id, call.pending.command_id, text))


def pending(f: Flow, call_id: str = CALL) -> str:
    call = f.core.calls[call_id]
    assert call.pending is not None
    return call.pending.command


def to_queue(f: Flow, call_id: str = CALL) -> None:
    """Walk the sample IVR: a 1 during the welcome (Vietnamese), then 1 at the main menu."""
    assert pending(f, call_id) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1", call_id)
    assert pending(f, call_id).startswith("STREAM FILE hotline/vi/welcome")
    reply(f, "200 result=49 endpos=800", call_id)
    assert pending(f, call_id) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1", call_id)
    assert pending(f, call_id).startswith("GET DATA hotline/vi/main-menu")
    reply(f, "200 result=1", call_id)


def offered(f: Flow) -> fx.Originate:
    [orig] = f.sent(fx.Originate)[-1:]
    return orig


# -- a whole call ------------------------------------------------------------------


def test_a_call_from_arrival_to_hang_up_with_one_outcome_and_its_recording() -> None:
    f = Flow()
    f.login("7")
    out = arrive(f)
    assert f.sent(fx.LookupCard, out) == [fx.LookupCard(CALL, "0912000001")]
    to_queue(f)
    call = f.core.calls[CALL]
    # The ACD offered at once (agent 7 ready): the music starts, the pop goes with the
    # Originate; the hold slice waits while the phone rings (rule 22)
    assert call.stage is Stage.OFFERED
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert call.pending is None and [j.command for j in call.outbox] == ["WAIT FOR DIGIT 20000"]
    orig = offered(f)
    assert (orig.agent_id, orig.device, orig.caller_channel) == ("7", "PJSIP/2007", CH)
    pops = [p for p in f.sent(fx.Push) if p.message["type"] == "screen_pop"]
    assert [p.agent_id for p in pops] == ["7"]
    assert f.effects.index(pops[0]) < f.effects.index(orig)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    assert call.stage is Stage.TALKING
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert not f.sent(fx.StartRecording), "no MixMonitor before the caller is in the bridge"
    # Bridge() pulls the caller in: its WAIT FOR DIGIT is lost (21), the recording starts.
    lost_id = call.pending.command_id if call.pending else ""
    out = f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    assert f.sent(fx.StartRecording, out) == [
        fx.StartRecording(NODE, CALL, CH, UID, f"hotline-{NODE}-{UID}.wav")
    ]
    assert call.pending is None and not call.in_agi and not call.music_on
    assert f.feed(AgiReplied(CALL, lost_id, "200 result=0")) == []
    rec_at = f.wall
    f.feed(RecordingStarted(CALL, "/rec/a.wav", rec_at, "0x1"))
    assert f.writes(RecordRecording)[0].mixmonitor_id == "0x1"
    f.tick(30)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    assert call.stage is Stage.AFTER_CALL
    assert f.outcomes() == {CALL: "answered"}
    env = AgiEnv(channel=CH, uniqueid=UID, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, False)))
    assert pending(f) == "HANGUP"
    reply(f, "200 result=1")
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.sent(fx.FinishRecording, out) == [
        fx.FinishRecording(CALL, "/rec/a.wav", rec_at, "0x1")
    ]
    assert CALL not in f.core.calls
    assert f.outcomes() == {CALL: "answered"}
    f.tick(1)
    assert f.agent_state("7") is acd.AgentState.READY


def test_a_caller_who_hangs_up_in_the_ivr_is_ivr_hangup_and_unrelated_events_do_nothing() -> None:
    f = Flow()
    arrive(f)
    f.feed(PbxEvent(NODE, DigitPressed(UID, CH, "1")))
    f.feed(PbxEvent(NODE, AgiEnded(UID, CH, UID)))
    assert not f.core.calls[CALL].in_agi
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    f.feed(PbxEvent(NODE, LinkedidGone(UID)))
    assert f.outcomes() == {CALL: "ivr_hangup"}
    # the row the wallboard and /metrics count: no queue, no wait (it waited for no agent)
    [row] = f.writes(RecordOutcome)
    assert (row.queue, row.outcome, row.wait_s, row.talk_s) == ("", "ivr_hangup", 0.0, None)
    # Events of channels the core does not hold are ignored.
    assert f.feed(PbxEvent(NODE, Unbridged("9", "X", "9", "b"))) == []
    assert f.feed(PbxEvent(NODE, Bridged("9", "X", "9", "b", "9"))) == []


def test_the_rows_give_metrics_the_queue_the_wait_the_talk_and_the_agents_wrap_up() -> None:
    # /metrics counts the rows the core writes, through the wallboard's day board
    f = Flow(wrap_up_s=10.0)
    f.login("7")
    arrive(f)
    to_queue(f)
    f.tick(4)
    f.feed(OfferEnded(CALL, offered(f).leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    f.tick(30)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    [row] = f.writes(RecordOutcome)
    assert (row.outcome, row.queue, row.talk_s, row.agent_id) == ("answered", "support", 30.0, 7)
    assert row.wait_s >= 4.0
    f.tick(10)
    assert f.agent_state("7") is acd.AgentState.READY
    metrics = Metrics(queues=["support"])
    day = DayBoard({"support": kpis.QueueTargets()}, f.wall.timestamp(), counter=metrics)
    for w in f.sent(fx.Write):
        if isinstance(w.row, RecordOutcome):
            day.add(call_record(w.row.call_id, w.row.queue, w.row.outcome, w.row.wait_s,
                                w.row.at.timestamp(), str(w.row.agent_id), talk_s=w.row.talk_s))
        elif isinstance(w.row, RecordAgentState):
            day.agent_state(str(w.row.agent_id), w.row.at.timestamp(), w.row.old)
    text = metrics.render().decode()
    assert 'hotline_calls_total{outcome="answered",queue="support"} 1.0' in text
    assert 'hotline_talk_seconds_sum{queue="support"} 30.0' in text
    assert 'hotline_wrap_up_seconds_count{queue="support"} 1.0' in text
    assert 'hotline_wrap_up_seconds_sum{queue="support"} 10.0' in text
    assert day.agent_aht_s("7") == 40.0  # talk + wrap-up, acd.kpis' AHT


def test_a_caller_in_a_context_of_others_is_left_alone() -> None:
    f = Flow()
    assert arrive(f, context="somebody-else") == []
    assert f.core.calls == {}


# -- hold -------------------------------------------------------------------------


def test_hold_switches_the_music_on_once_and_a_digit_on_hold_is_kept() -> None:
    f = Flow(hold_slice_s=5.0)
    arrive(f)
    to_queue(f)
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 5000"
    reply(f, "200 result=55")  # the caller pressed 7 (transcript 15)
    assert pending(f) == "WAIT FOR DIGIT 5000", "music still on: no second SET MUSIC ON"
    [ev] = [w for w in f.writes(RecordCallEvent) if w.kind == "digit_on_hold"]
    assert ev.data == {"digit": "7"}
    reply(f, "200 result=-1")  # a hang-up cuts the wait (22): no digit, next slice asked
    assert f.core.calls[CALL].stage is Stage.HOLDING


def test_no_answer_from_the_pbx_for_an_agi_command_gives_up_after_max_tries() -> None:
    f = Flow(hold_slice_s=5.0)
    arrive(f)
    to_queue(f)
    call = f.core.calls[CALL]
    for _ in range(MAX_AGI_TRIES):
        assert call.pending is not None
        f.feed(AgiFailed(CALL, call.pending.command_id, AgiTrouble.TIMEOUT))
    # SET MUSIC ON given up: the music is off, the slice still asked for.
    assert not call.music_on
    assert pending(f) == "WAIT FOR DIGIT 5000"


# -- AGI troubles ---------------------------------------------------------------


def test_a_command_refused_outside_asyncagi_goes_again_when_the_caller_is_back() -> None:
    f = Flow()
    arrive(f)
    call = f.core.calls[CALL]
    first = call.pending
    assert first is not None
    first_id, first_cmd = first.command_id, first.command
    f.feed(AgiFailed(CALL, first_id, AgiTrouble.NOT_IN_AGI))
    assert call.pending is None and not call.in_agi
    env = AgiEnv(channel=CH, uniqueid=UID, context="hotline-safe")
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, False)))
    assert call.pending is not None and call.pending.command == first_cmd
    assert call.pending.command_id != first_id
    assert f.core.counters["agi_retries"] == 1


def test_without_asyncagistart_the_command_is_tried_again_after_a_while() -> None:
    f = Flow()
    arrive(f)
    call = f.core.calls[CALL]
    f.feed(AgiFailed(CALL, call.pending.command_id, AgiTrouble.LEFT_AGI))
    assert call.pending is None
    f.tick(AGI_REENTRY_S / 2)
    assert call.pending is None
    f.tick(AGI_REENTRY_S)
    assert call.pending is not None, "tried again without an AsyncAGIStart"


def test_a_link_lost_in_the_middle_of_an_agi_command_resends_it_after_the_resync() -> None:
    f = Flow()
    arrive(f)
    call = f.core.calls[CALL]
    cmd_id, command = call.pending.command_id, call.pending.command
    f.feed(LinkLost(NODE))
    f.feed(AgiFailed(CALL, cmd_id, AgiTrouble.LINK_LOST))
    assert call.pending is None
    parked = ParkedInAgi(UID, CH, UID, "0912000001", "", "hotline-safe")
    f.feed(LinkResynced(NODE, (parked,)))
    assert call.pending is not None and call.pending.command == command
    # the dead command's reply reaching the new session (15) is ignored
    assert f.feed(AgiReplied(CALL, cmd_id, "200 result=0")) == []
    assert f.feed(AgiFailed(CALL, cmd_id, AgiTrouble.TIMEOUT)) == []


def test_a_missing_menu_prompt_is_logged_and_the_digit_read_in_silence() -> None:
    f = Flow()
    arrive(f)
    reply(f, "200 result=1")
    reply(f, "200 result=49 endpos=800")
    reply(f, "200 result=1")
    assert pending(f).startswith("GET DATA hotline/vi/main-menu")
    out = reply(f, "200 result=-1")  # transcript 17: at once, still in AsyncAGI
    assert any("main-menu" in e.text for e in f.sent(fx.Log, out))
    assert pending(f) == "WAIT FOR DIGIT 6000"
    assert f.core.counters["prompt_failures"] == 1
    reply(f, "200 result=49")
    assert f.core.calls[CALL].stage is Stage.HOLDING


def test_a_failed_stream_file_waits_for_asyncagi_again() -> None:
    f = Flow()
    arrive(f)
    reply(f, "200 result=1")
    reply(f, "200 result=-1 endpos=0")  # transcript 13: AsyncAGI ends
    call = f.core.calls[CALL]
    assert call.pending is None and not call.in_agi and call.outbox
    [failed] = [w for w in f.writes(RecordCallEvent) if w.kind == "prompt_failed"]
    assert failed.data["prompt"] == "hotline/vi/welcome"


# -- offers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (OfferResult.BUSY, "busy"),
        (OfferResult.NO_ANSWER, "no-answer"),
        (OfferResult.FAILED, "failed"),
    ],
)
def test_a_failed_offer_goes_to_the_next_agent_and_names_the_failure(result, reason) -> None:
    f = Flow()
    f.login("7", "8")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    f.feed(OfferEnded(CALL, orig.leg, result))
    [first] = [w for w in f.writes(RecordAgentState) if w.agent_id == int(orig.agent_id)][-1:]
    assert (first.new, first.reason) == ("ready", reason)
    assert offered(f).agent_id != orig.agent_id
    assert f.core.calls[CALL].stage is Stage.OFFERED


def test_an_unreachable_phone_pauses_its_agent_at_once() -> None:
    f = Flow()
    f.login("7", "8")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.UNREACHABLE))
    assert f.agent_state(orig.agent_id) is acd.AgentState.PAUSED


def test_a_caller_who_hangs_up_while_ringing_withdraws_the_offer() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert fx.HangupLeg(NODE, orig.leg) in out
    assert fx.Push("7", {"type": "call_ended", "call_id": CALL}) in out
    assert f.outcomes() == {CALL: "abandoned"}
    # The agent answered anyway, too late: that leg is ended.
    assert f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED)) == [
        fx.HangupLeg(NODE, orig.leg)
    ]
    assert f.feed(OfferEnded(CALL, orig.leg, OfferResult.NO_ANSWER)) == []


def test_an_offer_withdrawn_by_the_acd_returns_the_call_to_hold() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    out = f.feed(AgentCommand(acd.AgentPause("7", "break")))
    assert fx.HangupLeg(NODE, orig.leg) in out
    assert f.core.calls[CALL].stage is Stage.HOLDING


def test_an_answer_lost_with_the_link_is_judged_from_the_agent_leg_in_the_bridge() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.UNKNOWN))
    assert f.core.calls[CALL].stage is Stage.OFFERED
    f.feed(PbxEvent(NODE, Bridged(UID, "PJSIP/2007-1", orig.leg, "b1", orig.leg)))
    assert f.core.calls[CALL].stage is Stage.TALKING
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}


def test_an_answer_lost_with_the_link_is_judged_from_the_caller_in_the_bridge() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)
    f.feed(OfferEnded(CALL, offered(f).leg, OfferResult.UNKNOWN))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    assert f.core.calls[CALL].stage is Stage.TALKING
    assert f.sent(fx.StartRecording)


def test_a_lost_offer_whose_leg_hung_up_is_a_ring_no_answer() -> None:
    f = Flow()
    f.login("7", "8")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.UNKNOWN))
    f.feed(PbxEvent(NODE, ChannelHungUp(orig.leg, "PJSIP/2007-1", orig.leg, 19, "No answer")))
    assert offered(f).agent_id != orig.agent_id


@pytest.mark.parametrize("bridged", [True, False])
def test_a_lost_offer_is_judged_from_the_listing_after_the_resync(bridged: bool) -> None:
    f = Flow()
    f.login("7", "8")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    f.feed(LinkLost(NODE))
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.UNKNOWN))
    events: tuple = ()
    if bridged:
        events = (
            Listed(UID, "PJSIP/2007-1", orig.leg, "b1", "Bridge", "agents-out", "", ""),
            Listed(UID, CH, UID, "b1", "", "hotline-safe", "0912000001", ""),
        )
    f.feed(LinkResynced(NODE, events))
    if bridged:
        assert f.core.calls[CALL].stage is Stage.TALKING
    else:
        assert offered(f).agent_id != orig.agent_id


# -- the ACD's other commands ----------------------------------------------------------


def test_a_call_past_the_longest_wait_overflows_to_the_after_call() -> None:
    f = Flow(max_wait_s=30.0, hold_slice_s=5.0)
    arrive(f)
    to_queue(f)
    f.tick(31)
    call = f.core.calls[CALL]
    assert call.stage is Stage.AFTER_CALL
    assert [j.command for j in call.outbox] == ["HANGUP"] or pending(f) == "HANGUP"
    assert f.outcomes() == {CALL: "timeout"}


def test_a_vip_card_queues_the_caller_first() -> None:
    f = Flow()
    arrive(f)
    card = CustomerCard(5, "Lan", "A-5", "vip", ("+84912000001",))
    f.feed(CardFound(CALL, card))
    assert f.feed(CardFound(CALL, None)) == []
    to_queue(f)
    [queued] = [w for w in f.writes(RecordCallEvent) if w.kind == "queued"]
    place = Place.from_data(queued.data)
    assert (place.queue, place.priority, place.why, place.held_for) == ("support", 1, "ivr", None)
    assert f.acd.call(CALL, f.mono).priority == 1


def test_a_tier_brings_its_priority_and_skills_to_the_queue() -> None:
    f = Flow()
    f.core.tiers = {"gold": (3, {"english": 2})}
    f.login("7")
    arrive(f)
    f.feed(CardFound(CALL, CustomerCard(5, "Lan", "A-5", "gold", ("+84912000001",))))
    to_queue(f)
    [queued] = [w for w in f.writes(RecordCallEvent) if w.kind == "queued"]
    place = Place.from_data(queued.data)
    assert (place.queue, place.priority, place.why, place.held_for) == ("support", 3, "ivr", None)
    # agent 7 has no english: a READY agent, and the call still waits for one who has it
    view = f.acd.call(CALL, f.mono)
    assert view is not None and (view.priority, view.state) == (3, acd.CallState.WAITING)
    assert f.sent(fx.Originate) == []


def test_a_vip_is_nobody_special_when_the_tiers_say_so() -> None:
    f = Flow()
    f.core.tiers = {}
    arrive(f)
    f.feed(CardFound(CALL, CustomerCard(5, "Lan", "A-5", "vip", ("+84912000001",))))
    to_queue(f)
    assert f.acd.call(CALL, f.mono).priority == 0


def test_an_ended_pause_is_written_with_its_reason_and_length() -> None:
    from callcenter.facts import RecordPause

    f = Flow()
    f.login("7")
    f.feed(AgentCommand(acd.AgentPause("7", "lunch")))
    start = f.wall
    f.tick(90)
    f.feed(AgentCommand(acd.AgentPause("7", "training")))  # a new reason ends the lunch
    f.tick(30)
    f.feed(AgentCommand(acd.AgentReady("7")))
    assert f.writes(RecordPause) == [
        RecordPause(7, "lunch", start, start + dt.timedelta(seconds=90), 90.0),
        RecordPause(7, "training", start + dt.timedelta(seconds=90),
                    start + dt.timedelta(seconds=120), 30.0),
    ]  # fmt: skip


def test_reconfigure_takes_new_rules_and_tiers_live_and_refuses_what_the_acd_cannot() -> None:
    f = Flow(skills={"english": 2})
    f.login("7")
    arrive(f)
    to_queue(f)
    assert f.sent(fx.Originate) == []  # agent 7 has no english: the caller waits
    old = f.acd.config
    with pytest.raises(acd.AcdError):  # agent 7 is logged in: it cannot be dropped
        f.core.reconfigure(acd.AcdConfig(queues=old.queues, agents=old.agents[1:]), {}, f.at())
    assert f.acd.config is old and f.core.tiers == {"vip": (1, {})}
    new = acd.AcdConfig(queues=(acd.QueueConfig("support", wrap_up_s=0.0),), agents=old.agents)
    out = f.core.reconfigure(new, {"vip": (4, {})}, f.at())
    assert f.acd.config is new and f.core.tiers == {"vip": (4, {})}
    [orig] = f.sent(fx.Originate, out)  # the same caller, at once, under the new rules
    assert (orig.call_id, orig.agent_id) == (CALL, "7")


def test_agent_ready_logs_a_logged_out_agent_in_and_unknown_agents_are_logged() -> None:
    f = Flow()
    f.feed(AgentCommand(acd.AgentReady("7")))
    assert f.agent_state("7") is acd.AgentState.READY
    f.feed(AgentCommand(acd.AgentReady("7")))
    out = f.feed(AgentCommand(acd.AgentReady("99")))
    assert [e.level for e in f.sent(fx.Log, out)] == ["warning"]


# -- recordings ----------------------------------------------------------------------


def test_a_recording_that_could_not_start_is_counted_and_a_late_one_is_completed() -> None:
    f = Flow()
    out = f.feed(RecordingFailed(CALL, "No such channel"))
    assert f.sent(fx.CountRecordingMissing, out) == [fx.CountRecordingMissing(CALL)]
    out = f.feed(RecordingStarted(CALL, "/rec/b.wav", f.wall, None))
    assert f.sent(fx.FinishRecording, out) == [fx.FinishRecording(CALL, "/rec/b.wav", f.wall, None)]


# -- the table ------------------------------------------------------------------------


def test_every_pair_missing_from_the_table_is_a_typed_error_naming_both() -> None:
    for stage, step in itertools.product(Stage, Step):
        if (stage, step) in TRANSITIONS:
            assert next_stage("c", stage, step) is TRANSITIONS[(stage, step)]
            continue
        with pytest.raises(FlowError) as err:
            next_stage("c", stage, step)
        assert stage.name in str(err.value) and step.name in str(err.value)
    assert not any(stage is Stage.ENDED for stage, _ in TRANSITIONS)


def test_a_step_the_stage_refuses_is_logged_never_raised() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    # Unbridged of a caller still in the IVR: the table has no (IVR, AGENT_LEFT)...
    f.core.calls[CALL].stage = Stage.TALKING
    f.core.calls[CALL].stage = Stage.IVR
    out = f.feed(
        PbxEvent(NODE, AgiStarted(UID, CH, UID, AgiEnv(CH, UID, context="after-call"), False))
    )
    assert not [e for e in f.sent(fx.Log, out) if e.level == "error"]
    f.core.calls[CALL].stage = Stage.ENDED
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "x")))
    assert [e for e in f.sent(fx.Log, out) if "ENDED" in e.text]


# -- a dead run's calls ------------------------------------------------------------------


def test_open_calls_of_a_dead_run_are_settled_from_what_sql_knows() -> None:
    f = Flow()
    rows = (
        CallRowLoaded("pbx1:a", queue="support", queued_at=f.wall, answered_at=f.wall,
                      agent_id="7"),
        CallRowLoaded("pbx1:b", queue="support", queued_at=f.wall),
        CallRowLoaded("pbx1:c"),
        CallRowLoaded("pbx1:d", outcome="answered"),
    )  # fmt: skip
    f.feed(OpenCallsLoaded(NODE, rows))
    assert f.outcomes() == {"pbx1:a": "answered", "pbx1:b": "abandoned", "pbx1:c": "ivr_hangup"}
    f2 = Flow()
    f2.feed(LinkResynced(NODE, (), restarted=True, first=True))
    assert f2.sent(fx.LoadOpenCalls) == [fx.LoadOpenCalls(NODE)]
    f2.feed(OpenCallsLoaded(NODE, rows[1:2]))
    assert f2.outcomes() == {"pbx1:b": "lost"}


def test_calls_that_died_with_their_pbx_are_lost_unless_answered() -> None:
    f = Flow()
    f.login("7")
    arrive(f, uid="1.1", ch="A")  # will talk
    to_queue(f, f"{NODE}:1.1")
    f.feed(OfferEnded(f"{NODE}:1.1", offered(f).leg, OfferResult.ANSWERED))
    arrive(f, uid="1.2", ch="B")  # queued
    to_queue(f, f"{NODE}:1.2")
    arrive(f, uid="1.3", ch="C")  # in the IVR
    gone = tuple(ChannelHungUp(u, c, u, 0, GONE_AT_RESYNC) for u, c in
                 (("1.1", "A"), ("1.2", "B"), ("1.3", "C")))  # fmt: skip
    f.feed(LinkResynced(NODE, gone, restarted=True))
    assert f.outcomes() == {f"{NODE}:1.1": "answered", f"{NODE}:1.2": "lost", f"{NODE}:1.3": "lost"}
    assert f.core.calls == {}


def test_a_caller_gone_during_a_network_blip_is_abandoned_not_lost() -> None:
    f = Flow()
    arrive(f)
    to_queue(f)
    f.feed(LinkResynced(NODE, (ChannelHungUp(UID, CH, UID, 0, GONE_AT_RESYNC),)))
    assert f.outcomes() == {CALL: "abandoned"}


# -- the rarer paths ------------------------------------------------------------------


def test_the_agent_leaving_seen_first_as_the_after_call_asyncagistart() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)
    f.feed(OfferEnded(CALL, offered(f).leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    # another channel of the call entering AGI is not the caller
    other = AgiEnv(channel="X", uniqueid="1796.9", context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(UID, "X", "1796.9", other, True)))
    assert f.core.calls[CALL].stage is Stage.TALKING
    env = AgiEnv(channel=CH, uniqueid=UID, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, False)))
    assert f.core.calls[CALL].stage is Stage.AFTER_CALL
    assert pending(f) == "HANGUP"
    assert f.outcomes() == {CALL: "answered"}


def test_parked_callers_found_at_a_resync_by_context() -> None:
    f = Flow()
    f.rows["pbx1:9.1"] = CallRowLoaded("pbx1:9.1", answered_at=f.wall, queue="support",
                                       queued_at=f.wall, started_at=f.wall, agent_id="7")  # fmt: skip
    f.rows["pbx1:9.3"] = CallRowLoaded("pbx1:9.3", outcome="answered")
    events = (
        ParkedInAgi("9.1", "A", "9.1", "1", "", "after-call"),
        ParkedInAgi("9.2", "B", "9.2", "2", "", "somebody-else"),
        ParkedInAgi("9.3", "C", "9.3", "3", "", "after-call"),
    )
    out = f.feed(LinkResynced(NODE, events))
    assert {c.call_id for c in f.core.calls.values()} == {"pbx1:9.1", "pbx1:9.3"}
    assert any("not ours" in e.text for e in f.sent(fx.Log, out))
    # the dead run recorded 9.3's outcome: no second one
    assert f.outcomes() == {"pbx1:9.1": "answered"}


def test_an_option_that_hangs_up_sends_agi_hangup() -> None:
    from callcenter.flow import CallFlow
    from ivr import parse_ivr

    ivr = parse_ivr(
        "languages: [en]\ndefault_language: en\nstart: main\nfallback_queue: support\n"
        "invalid_prompt: bad\nprompts:\n  menu: {en: m}\n  bad: {en: b}\n"
        "nodes:\n  main:\n    prompt: menu\n    options:\n      9: {hangup: bye}\n",
        queues={"support"},
    )
    f = Flow()
    f.core = CallFlow(ivr=ivr, acd_core=f.acd, entry_contexts={"hotline-safe"},
                      after_call_context="after-call")  # fmt: skip
    arrive(f)
    while pending(f) != "GET DATA m 5000 1":
        reply(f, "200 result=0")
    reply(f, "200 result=9")
    assert pending(f) == "HANGUP"


def test_a_caller_who_hangs_up_while_being_adopted_is_settled_from_sql() -> None:
    f = Flow()
    f.load_missing = False  # the SQL read is still running
    f.feed(LinkResynced(NODE, (ParkedInAgi(UID, CH, UID, "1", "", "hotline-safe"),)))
    assert f.core.calls[CALL].stage is Stage.ADOPTING
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {}
    f.feed(CallRowLoaded(CALL, queue="support", queued_at=f.wall))
    assert f.outcomes() == {CALL: "abandoned"}
    assert CALL not in f.core.calls
    assert f.feed(CallRowLoaded(CALL)) == [], "a second read changes nothing"


def test_a_talking_caller_without_a_known_agent_is_still_answered_when_it_ends() -> None:
    f = Flow()
    listed = Listed(UID, CH, UID, "b9", "", "hotline-safe", "1", "")
    f.feed(LinkResynced(NODE, (listed,)))
    call = f.core.calls[CALL]
    assert call.stage is Stage.TALKING and not call.in_acd
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}


def test_acd_commands_for_calls_the_core_no_longer_holds_are_ignored() -> None:
    f = Flow()
    f.login("7")
    at = f.at()
    f.core._at = at  # the core's clock, as handle() sets it
    gone = "pbx1:gone"
    f.core._out = []
    f.core._acd_commands([
        acd.HoldCaller(gone, 5.0),
        acd.OfferCall(gone, "7", "PJSIP/2007", 15.0, "support"),
        acd.CancelOffer(gone, "7"),
        acd.CallConnected(gone, "7", 1.0),
        acd.OverflowCall(gone, "support", 1.0),
        acd.CallOutcome(gone, "support", acd.Outcome.ABANDONED, 3.0, None, f.mono),
    ])  # fmt: skip
    assert [type(e).__name__ for e in f.core._out] == ["Write"]
    out = f.feed(AgentCommand(acd.AgentLogout("99")))
    assert any("ACD refused" in e.text for e in f.sent(fx.Log, out))


def test_a_hold_already_asked_for_is_not_asked_twice_and_a_second_outcome_is_refused() -> None:
    f = Flow(hold_slice_s=5.0)
    arrive(f)
    to_queue(f)
    call = f.core.calls[CALL]
    f.core._at = f.at()
    f.core._out = []
    f.core._hold(acd.HoldCaller(CALL, 5.0))
    assert f.core._out == []
    call.stage = Stage.TALKING
    f.core._hold(acd.HoldCaller(CALL, 5.0))
    f.core._outcome(call, acd.Outcome.ANSWERED, "support", 1.0)
    f.core._outcome(call, acd.Outcome.ABANDONED, "support", 1.0)
    assert [e.level for e in f.core._out if isinstance(e, fx.Log)] == ["error"]


def test_calls_of_another_node_are_left_alone_by_a_resync() -> None:
    f = Flow()
    arrive(f)
    out = f.feed(LinkResynced("pbx2", ()))
    assert CALL in f.core.calls and not f.sent(fx.SendAgi, out)


def test_a_recording_of_a_call_that_ended_while_no_controller_ran_is_completed() -> None:
    f = Flow()
    row = CallRowLoaded("pbx1:r", queue="support", queued_at=f.wall, answered_at=f.wall,
                        agent_id="7", recording_path="/rec/r.wav", recording_started_at=f.wall)  # fmt: skip
    out = f.feed(OpenCallsLoaded(NODE, (row,)))
    assert fx.FinishRecording("pbx1:r", "/rec/r.wav", f.wall, None) in out
    assert f.outcomes() == {"pbx1:r": "answered"}


def test_a_talking_agent_is_on_call_before_a_holding_caller_is_offered_at_a_resync() -> None:
    # Broke: after a restart the adopted holding caller was offered to the agent who was
    # still talking, because that agent's call was adopted later.
    f = Flow(agents=("7",))
    f.login("7")
    talking = (
        Listed("5.1", "PJSIP/2007-1", "hl-old-7-1", "b1", "Bridge", "agents-out", "", ""),
        Listed("5.1", "A", "5.1", "b1", "", "hotline-safe", "1", ""),
    )
    holding = ParkedInAgi("6.1", "B", "6.1", "2", "", "hotline-safe")
    rows = (
        CallRowLoaded("pbx1:6.1", queue="support", queued_at=f.wall,
                      place=Place("support", 0, f.wall)),
        CallRowLoaded("pbx1:5.1", queue="support", queued_at=f.wall, answered_at=f.wall,
                      agent_id="7"),
    )  # fmt: skip
    out = f.feed(LinkResynced(NODE, (holding, *talking), rows=rows))
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert not f.sent(fx.Originate, out), "nobody free: the holding caller waits"
    assert f.core.calls["pbx1:6.1"].stage is Stage.HOLDING
    assert [e.call_id for e in f.sent(fx.LookupCard, out)] == ["pbx1:5.1", "pbx1:6.1"]
    # the open calls read at start: both are ours now, and a closed one stays closed
    f.feed(PbxEvent(NODE, ChannelHungUp("6.1", "B", "6.1", 16, "Normal Clearing")))
    f.feed(OpenCallsLoaded(NODE, rows))
    assert f.outcomes() == {"pbx1:6.1": "abandoned"}


def test_a_caller_listed_between_two_applications_is_adopted_not_left_in_silence() -> None:
    # Broke: a caller listed outside AGI and outside a bridge was neither adopted nor
    # ended; its open row was then settled while it waited in silence.
    f = Flow()
    listed = Listed(UID, CH, UID, "", "Answer", "hotline-safe", "1", "")
    f.feed(LinkResynced(NODE, (listed,), first=True))
    call = f.core.calls[CALL]
    assert call.stage is Stage.IVR and not call.in_agi and call.pending is None
    f.tick(AGI_REENTRY_S + 0.1)
    assert call.pending is not None, "driven again even without an AsyncAGIStart"
    f.feed(OpenCallsLoaded(NODE, (CallRowLoaded(CALL),)))
    assert f.outcomes() == {}


def test_a_closed_call_whose_recording_was_never_measured_gets_it_measured() -> None:
    # Broke: a run killed while it measured a finished recording left the row without
    # size, hash or duration for good.
    f = Flow()
    done = CallRowLoaded("pbx1:z", outcome="answered", recording_path="/rec/z.wav",
                         recording_started_at=f.wall)  # fmt: skip
    arrive(f)
    live = CallRowLoaded(CALL, outcome="answered", recording_path="/rec/l.wav",
                         recording_started_at=f.wall)  # fmt: skip
    out = f.feed(OpenCallsLoaded(NODE, (), (done, live)))
    assert f.sent(fx.FinishRecording, out) == [
        fx.FinishRecording("pbx1:z", "/rec/z.wav", f.wall, None)
    ]
    assert f.outcomes() == {}


@pytest.mark.parametrize("answer_seen", [True, False])
def test_a_caller_whose_agent_left_while_the_link_was_down_is_closed_at_the_resync(
    answer_seen: bool,
) -> None:
    """Talking (or ringing, its answer lost with the link), then found parked in the
    after-call context: the agent left unseen. Answered, after-call, agent freed."""
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    if answer_seen:
        f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
        f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
        assert f.core.calls[CALL].stage is Stage.TALKING
    f.feed(LinkLost(NODE))
    if not answer_seen:
        f.feed(OfferEnded(CALL, orig.leg, OfferResult.UNKNOWN))
        job = f.core.calls[CALL].pending
        assert job is not None  # a hold slice: its reply went with the link
        f.feed(AgiFailed(CALL, job.command_id, AgiTrouble.LINK_LOST))
    parked = ParkedInAgi(UID, CH, UID, "0912000001", "", "after-call")
    f.feed(LinkResynced(NODE, (parked,)))
    assert f.core.calls[CALL].stage is Stage.AFTER_CALL
    assert pending(f) == "HANGUP"
    assert f.outcomes() == {CALL: "answered"}
    assert f.agent_state("7") is not acd.AgentState.ON_CALL
    assert len(f.sent(fx.Originate)) == 1, "offered again after it talked"


# -- the CRM's answer and the screen-pop ---------------------------------------------


def pops_of(f: Flow, kind: str = "screen_pop") -> list[dict]:
    return [dict(p.message) for p in f.sent(fx.Push) if p.message["type"] == kind]


def test_a_call_is_offered_while_the_crm_has_not_answered_and_its_card_follows() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    to_queue(f)  # routing never waits for the CRM
    [pop] = pops_of(f)
    assert (pop["card"], pop["crm"]) == (None, "pending")
    card = CustomerCard(5, "Nguyễn Văn An", "42", "vip", ("+84912000001",))
    f.feed(CardFound(CALL, card))
    [update] = pops_of(f, "card")
    assert update == {"type": "card", "call_id": CALL, "caller_number": "0912000001",
                      "card": card.to_json(), "crm": "found"}  # fmt: skip


def test_a_crm_that_failed_makes_the_pop_say_unavailable() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    f.feed(CardFound(CALL, None, unavailable=True))  # too slow, down, or the breaker open
    to_queue(f)
    [pop] = pops_of(f)
    assert (pop["card"], pop["crm"]) == (None, "unavailable")
    assert pops_of(f, "card") == []  # no offer rang yet: nothing to update


def test_an_http_crms_card_is_not_written_as_a_customer_of_ours() -> None:
    f = Flow()
    f.login("7")
    arrive(f)
    ext = CustomerCard(None, "An", None, "standard", (), external_id="C-17")
    f.feed(CardFound(CALL, ext))
    assert [w.customer_id for w in f.writes(RecordCallUpdate)] == []
    to_queue(f)
    [pop] = pops_of(f)
    assert (pop["crm"], pop["card"]["external_id"]) == ("found", "C-17")


def test_the_next_timer_is_the_earliest_agi_reentry_still_waited_for() -> None:
    # next_timer keeps the AGI re-entry deadlines in a heap (no scan of every live call
    # per input): a deadline met by an AsyncAGIStart must not be the one it returns
    f = Flow()
    calls = []
    for n in (1, 2):
        uid, ch = f"1796.{n}0", f"PJSIP/trunk-0000000{n}0"
        arrive(f, uid=uid, ch=ch)
        call_id = f"{NODE}:{uid}"
        f.feed(PbxEvent(NODE, AgiEnded(uid, ch, uid)))  # out of AsyncAGI (a Redirect...)
        reply(f, "200 result=0", call_id)  # the next command waits for the channel's return
        calls.append((call_id, uid, ch, f.mono))
        f.tick(1)
    (first, uid1, ch1, t1), (second, _uid2, _ch2, t2) = calls
    assert f.core.next_timer() == t1 + AGI_REENTRY_S
    env = AgiEnv(channel=ch1, uniqueid=uid1, context="hotline-safe", callerid="0912000001")
    f.feed(PbxEvent(NODE, AgiStarted(uid1, ch1, uid1, env, False)))  # the first came back
    assert f.core.calls[first].pending is not None
    assert f.core.next_timer() == t2 + AGI_REENTRY_S
    f.tick(t2 + AGI_REENTRY_S - f.mono)  # the second never did: tried anyway at its deadline
    assert f.core.calls[second].pending is not None
    assert f.core.next_timer() != t2 + AGI_REENTRY_S


def test_an_agent_whose_phone_is_on_another_node_is_rung_through_the_trunk_there() -> None:
    """Several PBXs: the leg is originated on the caller's node, out through its trunk to
    the phone's node; a phone at home, or homed nowhere, is rung as it is."""
    from callcenter.flow.homes import PhoneHomes

    f = Flow()
    f.core.homes = PhoneHomes({"pbx2": ("PJSIP/2007",), NODE: ("PJSIP/2008",)},
                              {(NODE, "pbx2"): "to-pbx2"})  # fmt: skip
    f.login("7")
    arrive(f)
    to_queue(f)
    orig = offered(f)
    assert (orig.node, orig.device) == (NODE, "PJSIP/2007@to-pbx2")
    g = Flow()
    g.core.homes = f.core.homes
    g.login("8")
    arrive(g)
    to_queue(g)
    assert offered(g).device == "PJSIP/2008", "at home"


def test_a_caller_whose_pbx_is_out_of_reach_is_offered_to_no_one_until_its_resync() -> None:
    """Rule 21: a ready agent is not offered a caller of a node whose link is down (each
    try cost an offer timeout and a failure: a node down long paused the floor)."""
    f = Flow()
    arrive(f)
    to_queue(f)
    assert f.core.calls[CALL].stage is Stage.HOLDING
    f.feed(LinkLost(NODE))
    f.login("7")
    assert f.sent(fx.Originate) == []
    assert f.agent_state("7") is acd.AgentState.READY
    f.tick(60.0)
    assert f.sent(fx.Originate) == [] and f.agent_state("7") is acd.AgentState.READY
    parked = ParkedInAgi(UID, CH, UID, "0912000001", "", "hotline-safe")
    f.feed(LinkResynced(NODE, (parked,)))
    assert offered(f).agent_id == "7"
    assert f.core.calls[CALL].stage is Stage.OFFERED


def test_no_hold_slice_goes_while_the_agents_phone_rings() -> None:
    """Rule 22: a slice that ends while the phone rings is not followed by another (sent
    as the agent answers, Asterisk would run it after the call: 21); the hold goes on
    when the offer is over, and a caller back from its agent hears the hang-up first."""
    f = Flow()
    f.login("7", "8")
    arrive(f)
    to_queue(f)
    call = f.core.calls[CALL]
    reply(f, "200 result=0")  # SET MUSIC ON: the music plays while 7's phone rings
    assert call.stage is Stage.OFFERED and call.pending is None
    first = offered(f)
    f.feed(OfferEnded(CALL, first.leg, OfferResult.NO_ANSWER))  # 7 never answers: 8 rings
    assert pending(f) == "WAIT FOR DIGIT 20000", "the offer was over: the slice went"
    second = offered(f)
    assert second.agent_id == "8" and call.stage is Stage.OFFERED
    reply(f, "200 result=0")  # the slice ends while 8's phone rings
    assert call.pending is None, "no slice while the phone rings"
    assert [j.purpose for j in call.outbox] == [Purpose.HOLD]
    f.feed(OfferEnded(CALL, second.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    assert call.outbox == [] and call.pending is None
    f.tick(20)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    env = AgiEnv(channel=CH, uniqueid=UID, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, False)))
    assert pending(f) == "HANGUP"
