"""A transfer to a queue in the call-flow core by hand (rule 14): agent 7 of queue
support hands its talking caller on to queue sales; the caller leaves the bridge by a
``BlindTransfer`` of the agent leg (transcript 07 B), holds again, agent 8 gets the same
screen-pop before its phone is answered and talks to it; one outcome (answered by 7),
a ``transferred`` event, agent 7 in wrap-up."""

from __future__ import annotations

import datetime as dt

import acd
from callcenter.ami.agi import AgiEnv
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.core import AGENT_TRANSFER_WAIT_S
from callcenter.flow.inputs import (
    AgentCommand,
    AgiReplied,
    CallRowLoaded,
    CardFound,
    OfferEnded,
    OfferResult,
    PbxEvent,
    RecordingStarted,
    TransferCall,
)
from callcenter.flow.place import Place
from callcenter.storage.writes import RecordCallEvent, RecordCallUpdate, RecordOutcome
from callcenter.tracker import AgiStarted, Bridged, ChannelHungUp, PhoneTransfer, Unbridged
from crm_bridge.card import CustomerCard

from .flow_support import CALL, CH, NODE, UID, Flow


def two_queues() -> Flow:
    """Agent 7 serves support, agent 8 sales; a wrap-up of 30 s after each call."""
    f = Flow()
    f.acd = f.core.acd = acd.Acd(
        acd.AcdConfig(
            queues=(acd.QueueConfig("support", wrap_up_s=30.0, hold_slice_s=20.0),
                    acd.QueueConfig("sales", wrap_up_s=30.0, hold_slice_s=20.0)),
            agents=(acd.AgentConfig("7", "Agent 7", "PJSIP/2007", ("support",)),
                    acd.AgentConfig("8", "Agent 8", "PJSIP/2008", ("sales",))),
        )
    )  # fmt: skip
    return f


def agi_start(f: Flow, context: str = "hotline-safe") -> list:
    env = AgiEnv(channel=CH, uniqueid=UID, context=context, callerid="0912000001")
    return f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, context != "after-call")))


def reply(f: Flow, text: str) -> list:
    call = f.core.calls[CALL]
    assert call.pending is not None, "no AGI command in flight"
    return f.feed(AgiReplied(CALL, call.pending.command_id, text))


def pending(f: Flow) -> str | None:
    call = f.core.calls[CALL]
    return call.pending.command if call.pending is not None else None


def talking_to_7(f: Flow, *agents: str) -> str:
    """The caller of queue support (a known customer) talks to agent 7; its leg."""
    f.login(*(agents or ("7", "8")))
    agi_start(f)
    f.feed(CardFound(CALL, CustomerCard(42, "Lan Nguyen", "A-42", "gold", ("+84912000001",))))
    while pending(f) is not None and not pending(f).startswith("GET DATA hotline/vi/main"):
        reply(f, "200 result=49 endpos=800" if "STREAM" in pending(f) else "200 result=1")
    reply(f, "200 result=1")  # 1 at the main menu: queue support
    [orig] = f.sent(fx.Originate)
    assert orig.agent_id == "7"
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    f.feed(RecordingStarted(CALL, "/rec/a.wav", f.wall, "0x1"))
    assert f.core.calls[CALL].stage is Stage.TALKING
    return orig.leg


def events(f: Flow, kind: str) -> list[dict]:
    return [r.data for r in f.writes(RecordCallEvent) if r.kind == kind]


def test_a_transfer_to_a_queue_reaches_the_next_agent_with_the_same_pop_and_one_outcome() -> None:
    f = two_queues()
    leg = talking_to_7(f)
    call = f.core.calls[CALL]
    [first_pop] = [p.message for p in f.sent(fx.Push) if p.message["type"] == "screen_pop"]
    f.tick(40)
    out = f.feed(TransferCall(CALL, "sales", "agent:7"))
    # 07 B: BlindTransfer of the agent leg sends the caller back into its AsyncAGI context
    assert f.sent(fx.BlindTransferLeg, out) == [
        fx.BlindTransferLeg(NODE, CALL, leg, "hotline-safe", "s")
    ]
    assert events(f, "transferred") == [{"from_queue": "support", "queue": "sales",
                                         "agent": "7", "mode": "blind", "by": "agent:7"}]  # fmt: skip
    [outcome] = f.writes(RecordOutcome)
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == ("support", "answered", 7)
    assert outcome.talk_s == 40.0
    assert f.agent_state("7") is acd.AgentState.WRAP_UP
    told_7 = [p.message for p in f.sent(fx.Push, out) if p.agent_id == "7"]
    assert {"type": "transferred", "call_id": CALL, "queue": "sales"} in told_7
    # Agent 8 (sales) is offered the same call: the pop before the Originate, same card and IVR
    pops = [p for p in f.sent(fx.Push, out) if p.message["type"] == "screen_pop"]
    [orig] = f.sent(fx.Originate, out)
    assert [p.agent_id for p in pops] == ["8"] and orig.agent_id == "8"
    assert out.index(pops[0]) < out.index(orig)
    pop = pops[0].message
    assert pop["call_id"] == CALL and pop["card"] == first_pop["card"] is not None
    assert pop["ivr"] == {**first_pop["ivr"], "queue": "sales"}  # the IVR trail, the new queue
    assert pop["transfers"] == [{"agent": "7", "queue": "support"}]
    assert first_pop["transfers"] == []
    assert orig.caller_channel == CH and call.stage is Stage.OFFERED
    # The caller leaves 7's bridge: no after-call, no survey, no second outcome
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    f.feed(PbxEvent(NODE, ChannelHungUp(leg, "PJSIP/2007-00000002", UID, 16, "Normal Clearing")))
    assert call.stage is Stage.OFFERED and f.agent_state("7") is acd.AgentState.WRAP_UP
    assert pending(f) is None, "no AGI command before the caller is back in AsyncAGI"
    agi_start(f)  # back in [hotline-safe]: its hold music goes on
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert pending(f) is None, "8's phone rings: the hold slice waits (core rule 22)"
    f.tick(5)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b2", UID)))
    assert call.stage is Stage.TALKING and call.agent_id == "8"
    assert f.agent_state("8") is acd.AgentState.ON_CALL
    # 8 owns the call row now; its answer time and wait stay the first answer's
    assert [w for w in f.writes(RecordCallUpdate) if w.agent_id == 8][-1].answered_at is None
    assert events(f, "transfer_answered") == [{"agent": "8", "queue": "sales", "wait_s": 5.0}]
    assert not [e for e in f.sent(fx.StartRecording) if e.call_id == CALL][1:], "one recording"
    f.tick(60)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b2")))  # agent 8 hangs up: after-call
    assert call.stage is Stage.AFTER_CALL
    [after] = events(f, "transfer_outcome")
    assert after == {"queue": "sales", "outcome": "answered", "agent": "8", "wait_s": 5.0,
                     "talk_s": 60.0}  # fmt: skip
    agi_start(f, "after-call")
    assert pending(f) is not None
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}, "one outcome, the first agent's"
    assert f.agent_state("8") is acd.AgentState.WRAP_UP


def test_a_caller_who_hangs_up_after_the_transfer_keeps_the_answered_outcome() -> None:
    f = two_queues()
    talking_to_7(f, "7")  # nobody in sales
    f.feed(TransferCall(CALL, "sales", "agent:7"))
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    assert f.core.calls[CALL].stage is Stage.HOLDING
    f.tick(8)
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}
    [after] = events(f, "transfer_outcome")
    assert (after["queue"], after["outcome"], after["agent"]) == ("sales", "abandoned", None)
    assert CALL not in f.core.calls


def test_a_transfer_is_refused_when_the_call_cannot_be_handed_on() -> None:
    f = two_queues()
    assert f.core.transfer_refused(CALL, "sales", "7") == "not_talking"  # no such call
    talking_to_7(f)
    assert f.core.transfer_refused(CALL, "nowhere", "7") == "unknown_queue"
    assert f.core.transfer_refused(CALL, "sales", "8") == "not_your_call"
    assert f.core.transfer_refused(CALL, "sales", "7") is None
    before = len(f.effects)
    f.feed(TransferCall(CALL, "nowhere", "agent:7"))  # refused in the core too: only a log
    assert [type(e) for e in f.effects[before:]] == [fx.Log]
    assert f.core.calls[CALL].stage is Stage.TALKING
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))  # the agent left: after-call
    assert f.core.transfer_refused(CALL, "sales", "7") == "not_talking"


def test_a_caller_whose_agent_hung_up_before_the_transfer_holds_in_the_after_call() -> None:
    # The agent's leg was gone before BlindTransfer reached it: Bridge()'s F() sent the
    # caller to the after-call context; agent 8's ringing offer is no answer for it.
    f = two_queues()
    talking_to_7(f)
    out = f.feed(TransferCall(CALL, "sales", "agent:7"))
    [orig] = f.sent(fx.Originate, out)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    agi_start(f, "after-call")
    call = f.core.calls[CALL]
    assert call.stage is Stage.OFFERED and f.agent_state("8") is acd.AgentState.OFFERED
    assert pending(f) == "SET MUSIC ON default", "it holds there"
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    assert call.stage is Stage.TALKING and call.agent_id == "8"


def test_our_own_blind_transfer_event_changes_nothing() -> None:
    # 07 B: Asterisk reports the controller's BlindTransfer too; the caller already holds
    f = two_queues()
    leg = talking_to_7(f)
    f.feed(TransferCall(CALL, "sales", "agent:7"))
    out = f.feed(PbxEvent(NODE, PhoneTransfer(UID, UID, leg, "blind", "hotline-safe", "s")))
    assert out == [] and len(events(f, "transferred")) == 1


def test_a_blind_transfer_from_the_agents_phone_ends_the_visit_without_a_survey() -> None:
    f = two_queues()
    leg = talking_to_7(f)
    f.tick(30)
    f.feed(PbxEvent(NODE, PhoneTransfer(UID, UID, "someone-else", "blind", "x", "1")))
    assert events(f, "transferred") == [], "not its agent's leg"
    f.feed(PbxEvent(NODE, PhoneTransfer(UID, UID, leg, "blind", "transfer-target", "300")))
    assert events(f, "transferred") == [{"from_queue": "support", "agent": "7",
                                         "mode": "blind", "by": "phone",
                                         "context": "transfer-target", "exten": "300"}]  # fmt: skip
    # 07 B: the caller leaves the bridge into transfer-target: the agent's visit is over
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    call = f.core.calls[CALL]
    assert call.stage is Stage.AFTER_CALL and f.outcomes() == {CALL: "answered"}
    assert f.agent_state("7") is acd.AgentState.WRAP_UP
    f.tick(10)  # past the AsyncAGI re-entry wait: nothing is sent to it
    assert call.pending is None and call.outbox == []
    assert [e for e in f.sent(fx.SendAgi) if e.command == "HANGUP"] == []
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert CALL not in f.core.calls and f.outcomes() == {CALL: "answered"}


def test_an_attended_transfer_from_the_agents_phone_ends_the_visit_at_once() -> None:
    # 07 C: the consulted party joins the caller's bridge; the caller never leaves it
    f = two_queues()
    leg = talking_to_7(f)
    out = f.feed(PbxEvent(NODE, PhoneTransfer(UID, UID, leg, "attended")))
    call = f.core.calls[CALL]
    assert call.stage is Stage.AFTER_CALL and f.agent_state("7") is acd.AgentState.WRAP_UP
    assert [e["mode"] for e in events(f, "transferred")] == ["attended"]
    assert f.sent(fx.StopRecording, out), "the rest of the call is not the hotline's"
    assert f.outcomes() == {CALL: "answered"} and call.outbox == []
    f.feed(PbxEvent(NODE, ChannelHungUp(leg, "PJSIP/2007-00000002", UID, 16, "Normal Clearing")))
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert CALL not in f.core.calls and f.outcomes() == {CALL: "answered"}


def test_a_restart_while_a_transferred_caller_waits_puts_it_back_in_its_new_queue() -> None:
    # Broke: SQL holds the call's outcome (answered by 7, before the transfer), so a
    # restarted controller took the caller found holding for one the IVR must start
    # over: it was never offered to sales again.
    f = two_queues()
    a = f"{NODE}:1796314834.0"
    f.rows[a] = CallRowLoaded(
        a, queue="support", queued_at=f.wall - dt.timedelta(seconds=90),
        answered_at=f.wall - dt.timedelta(seconds=80), agent_id="7", outcome="answered",
        wait_s=10.0, transfers=(("7", "support"),), transferred_to="sales",
        transferred_at=f.wall - dt.timedelta(seconds=20),
        place=Place("sales", 0, f.wall - dt.timedelta(seconds=20), "transfer"),
    )  # fmt: skip
    f.replay("15-restart-during-hold.ami", until=lambda m: m.name == "MusicOnHoldStop")
    call = f.core.calls[a]
    assert (call.stage, call.queue) == (Stage.HOLDING, "sales")
    view = f.acd.call(a, f.mono)
    assert view is not None and view.queue == "sales"
    assert abs(view.wait_s - 20) < 1e-6, "its wait in sales goes on from the transfer"
    assert call.pending is not None and call.pending.command == "SET MUSIC ON default"
    f.login("7", "8")
    [orig] = f.sent(fx.Originate)
    assert orig.agent_id == "8", "offered in sales, never back to support's agent 7"
    pops = [p.message for p in f.sent(fx.Push) if p.message["type"] == "screen_pop"]
    assert pops[-1]["transfers"] == [{"agent": "7", "queue": "support"}]
    f.feed(OfferEnded(a, orig.leg, OfferResult.ANSWERED))
    assert call.stage is Stage.TALKING and call.agent_id == "8"
    assert [e["agent"] for e in events(f, "transfer_answered")] == ["8"]
    assert [w for w in f.writes(RecordCallUpdate) if w.answered_at is not None] == []
    uid, ch, linked = call.uniqueid, call.channel, call.linkedid
    f.feed(PbxEvent(NODE, Bridged(uid, ch, linked, "b2", uid)))
    f.tick(30)
    f.feed(PbxEvent(NODE, Unbridged(uid, ch, linked, "b2")))  # agent 8 hangs up
    assert call.stage is Stage.AFTER_CALL and f.agent_state("8") is acd.AgentState.WRAP_UP
    f.feed(PbxEvent(NODE, ChannelHungUp(uid, ch, linked, 16, "Normal Clearing")))
    assert a not in f.core.calls
    assert f.outcomes() == {}, "its one outcome is the one SQL holds"
    [after] = events(f, "transfer_outcome")
    assert (after["queue"], after["outcome"], after["agent"]) == ("sales", "answered", "8")


def test_a_restart_while_a_transferred_caller_talks_keeps_its_new_agent_on_call() -> None:
    # Broke: SQL holds the call's outcome (answered by 7, before the transfer), so a
    # restarted controller found the caller talking to agent 8 and never told the ACD:
    # 8 looked free (a holding sales caller was offered to it while on the phone) and
    # the end of the visit wrote no transfer_outcome.
    f = two_queues()
    f.login("7", "8")
    a, b = f"{NODE}:1796315660.0", f"{NODE}:1796315663.4"
    f.rows[a] = CallRowLoaded(
        a, queue="support", queued_at=f.wall - dt.timedelta(seconds=90),
        answered_at=f.wall - dt.timedelta(seconds=80), agent_id="8", outcome="answered",
        wait_s=10.0, transfers=(("7", "support"),), transferred_to="sales",
        transferred_at=f.wall - dt.timedelta(seconds=20),
        transfer_answered_at=f.wall - dt.timedelta(seconds=15),
        recording_path="/rec/a.wav", recording_started_at=f.wall, mixmonitor_id="0x5",
    )  # fmt: skip
    entered = f.wall - dt.timedelta(seconds=10)
    f.rows[b] = CallRowLoaded(b, queue="sales", queued_at=entered,
                              place=Place("sales", 0, entered))  # fmt: skip
    rename = {"s21-agent-a": "hl-old-8-1", "s21-ring-a": "hl-old-7-2"}
    f.replay("21-restart-while-talking.ami", rename=rename, answer_agi=False,
             until=lambda m: m.name == "Status")  # fmt: skip
    call = f.core.calls[a]
    assert (call.stage, call.agent_id, call.queue) == (Stage.TALKING, "8", "sales")
    assert f.agent_state("8") is acd.AgentState.ON_CALL, "its new agent is on the phone"
    assert f.agent_state("7") is not acd.AgentState.ON_CALL
    assert f.sent(fx.Originate) == [], "agent 8 is never offered a second call"

    f.replay("21-restart-while-talking.ami", rename=rename, answer_agi=False, first=False)
    assert a not in f.core.calls
    assert f.outcomes() == {b: "abandoned"}, "a's one outcome is the one SQL holds"
    [after] = events(f, "transfer_outcome")
    assert (after["queue"], after["outcome"], after["agent"]) == ("sales", "answered", "8")
    assert abs(after["wait_s"] - 5) < 1e-6, "its wait in sales: transfer to answer"
    assert [w for w in f.writes(RecordCallUpdate) if w.answered_at is not None] == []


def one_queue_three_agents() -> Flow:
    """Agents 7, 8 and 9 all serve support; no sticky agent (sticky_wait_s 0)."""
    f = Flow()
    f.acd = f.core.acd = acd.Acd(
        acd.AcdConfig(
            queues=(acd.QueueConfig("support", wrap_up_s=30.0, hold_slice_s=20.0),),
            agents=tuple(acd.AgentConfig(a, f"Agent {a}", f"PJSIP/200{a}", ("support",))
                         for a in ("7", "8", "9")),
        )
    )  # fmt: skip
    return f


def test_a_transfer_to_a_named_agent_offers_it_to_that_agent_alone() -> None:
    f = one_queue_three_agents()
    leg = talking_to_7(f, "7", "8", "9")  # 8 idles longer than 9: the queue would pick 8
    call = f.core.calls[CALL]
    [first_pop] = [p.message for p in f.sent(fx.Push) if p.message["type"] == "screen_pop"]
    f.tick(10)
    out = f.feed(TransferCall(CALL, "", "agent:7", "9"))
    assert f.sent(fx.BlindTransferLeg, out) == [
        fx.BlindTransferLeg(NODE, CALL, leg, "hotline-safe", "s")
    ]
    assert events(f, "transferred") == [{"from_queue": "support", "queue": "support",
                                         "agent": "7", "mode": "blind", "by": "agent:7",
                                         "to_agent": "9"}]  # fmt: skip
    told_7 = [p.message for p in f.sent(fx.Push, out) if p.agent_id == "7"]
    assert {"type": "transferred", "call_id": CALL, "queue": "support", "agent": "9"} in told_7
    pops = [p for p in f.sent(fx.Push, out) if p.message["type"] == "screen_pop"]
    [orig] = f.sent(fx.Originate, out)
    assert [p.agent_id for p in pops] == ["9"] and orig.agent_id == "9"  # not 8
    assert pops[0].message["card"] == first_pop["card"] is not None
    assert len(f.writes(RecordOutcome)) == 1 and call.stage is Stage.OFFERED


def test_a_named_agent_busy_is_waited_for_then_the_queue_takes_the_caller() -> None:
    f = one_queue_three_agents()
    talking_to_7(f, "7", "8", "9")
    f.feed(AgentCommand(acd.AgentPause("9", "break")))
    out = f.feed(TransferCall(CALL, "", "agent:7", "9"))
    assert f.sent(fx.Originate, out) == [], "8 is Ready, yet the caller waits for 9"
    out = f.tick(AGENT_TRANSFER_WAIT_S - 1)
    assert f.sent(fx.Originate, out) == []
    out = f.tick(2)  # past AGENT_TRANSFER_WAIT_S: the queue's agents
    assert [o.agent_id for o in f.sent(fx.Originate, out)] == ["8"]


def test_a_transfer_to_an_agent_who_cannot_take_it_is_refused_and_changes_nothing() -> None:
    f = one_queue_three_agents()
    talking_to_7(f, "7", "8")  # 9 never logged in
    flow = f.core
    assert flow.transfer_refused(CALL, "", "7", "9") == "agent_unavailable"
    assert flow.transfer_refused(CALL, "", "7", "42") == "unknown_agent"
    assert flow.transfer_refused(CALL, "", "7", "7") == "same_agent"
    assert flow.transfer_refused(CALL, "", "8", "8") == "not_your_call"
    assert flow.transfer_refused(CALL, "nowhere", "7", "8") == "unknown_queue"
    assert flow.transfer_refused(CALL, "", "7", "8") is None
    out = f.feed(TransferCall(CALL, "", "agent:7", "9"))
    assert f.sent(fx.BlindTransferLeg, out) == [] and events(f, "transferred") == []
    assert f.core.calls[CALL].stage is Stage.TALKING
