"""Attended transfer to a named agent in the call-flow core by hand (rule 19): agent 7
talks to the caller of queue support and consults agent 8. ``Atxfer`` of 7's leg rings
8's phone (transcript 07 C), 8 is held OFFERED in the ACD and gets the screen-pop; 7
completes (its leg hangs up, ``AttendedTransfer``: 8 talks to the caller, one outcome)
or cancels (``CancelAtxfer``), or 8 does not answer / is busy (a failed offer)."""

from __future__ import annotations

import acd
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.consult import phone_of
from callcenter.flow.inputs import (
    AgentCommand,
    ConsultAgent,
    ConsultRefused,
    EndConsult,
    PbxEvent,
)
from callcenter.storage.writes import RecordCallUpdate, RecordOutcome
from callcenter.tracker import Bridged, ChannelHungUp, PhoneTransfer, Unbridged

from .flow_support import CALL, CH, NODE, UID, Flow
from .test_flow_transfer import agi_start, events, pending, talking_to_7

#: the consulted agent's leg as Asterisk names it (a channel of the caller's Linkedid)
X_LEG = "1796.9"
X_CH = "PJSIP/2008-00000009"


def consulting(wrap_up_s: float = 30.0) -> tuple[Flow, str]:
    """7 talks to the caller (queue support, agents 7 and 8) and consults 8; 7's leg."""
    f = Flow(wrap_up_s=wrap_up_s)
    leg = talking_to_7(f)
    f.tick(40)
    out = f.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert f.sent(fx.AtxferLeg, out) == [fx.AtxferLeg(NODE, CALL, leg, "hotline-consult", "2008")]
    return f, leg


def pushed(out: list, agent: str, kind: str) -> list[dict]:
    return [p.message for p in out
            if isinstance(p, fx.Push) and p.agent_id == agent and p.message["type"] == kind]  # fmt: skip


def answers(f: Flow) -> list:
    """8's phone answers: its leg enters the consultation bridge (07 C)."""
    return f.feed(PbxEvent(NODE, Bridged(UID, X_CH, X_LEG, "b2", UID)))


def test_consulting_rings_the_agent_who_gets_the_pop_and_is_held_for_the_call() -> None:
    f = Flow(wrap_up_s=30.0)
    leg = talking_to_7(f)
    out = f.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert f.sent(fx.AtxferLeg, out) == [fx.AtxferLeg(NODE, CALL, leg, "hotline-consult", "2008")]
    [pop] = pushed(out, "8", "screen_pop")
    assert pop["call_id"] == CALL and pop["consult_by"] == "7" and pop["card"] is not None
    assert pushed(out, "7", "consult") == [{"type": "consult", "call_id": CALL, "agent": "8",
                                            "state": "ringing"}]  # fmt: skip
    assert f.agent_state("8") is acd.AgentState.OFFERED
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert events(f, "consult") == [{"agent": "7", "to_agent": "8", "by": "agent:7"}]
    assert f.core.calls[CALL].stage is Stage.TALKING


def test_completing_hands_the_caller_to_the_consulted_agent_with_one_outcome() -> None:
    f, leg = consulting()
    call = f.core.calls[CALL]
    f.tick(3)
    out = answers(f)
    assert pushed(out, "7", "consult")[0]["state"] == "answered"
    f.tick(7)
    out = f.feed(EndConsult(CALL, True, "agent:7"))
    assert f.sent(fx.HangupLeg, out) == [fx.HangupLeg(NODE, leg)]  # 07 C: the transferer hangs up
    assert f.agent_state("8") is acd.AgentState.OFFERED, "nothing changes before Asterisk says"
    f.feed(PbxEvent(NODE, Bridged(UID, X_CH, X_LEG, "b1", UID)))  # 8's leg joins the caller
    out = f.feed(PbxEvent(NODE, PhoneTransfer(UID, UID, leg, "attended")))
    [outcome] = f.writes(RecordOutcome)
    assert (outcome.queue, outcome.outcome, outcome.agent_id) == ("support", "answered", 7)
    assert outcome.talk_s == 50.0
    assert events(f, "transferred") == [{"from_queue": "support", "queue": "support",
                                         "agent": "7", "mode": "attended", "by": "agent:7",
                                         "to_agent": "8"}]  # fmt: skip
    assert events(f, "transfer_answered") == [{"agent": "8", "queue": "support", "wait_s": 3.0}]
    assert [w for w in f.writes(RecordCallUpdate) if w.agent_id == 8][-1].answered_at is None
    assert f.agent_state("7") is acd.AgentState.WRAP_UP
    assert f.agent_state("8") is acd.AgentState.ON_CALL
    assert call.agent_id == "8" and call.stage is Stage.TALKING and call.consult is None
    assert {"type": "transferred", "call_id": CALL, "queue": "support", "agent": "8"} in \
        pushed(out, "7", "transferred")  # fmt: skip
    assert not call.left_hotline, "the caller stays ours: the survey after 8 hangs up"
    # 7's leg hangs up after the AttendedTransfer (07 C): stale
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, "PJSIP/2007-00000002", leg, 16, "Normal Clearing")))
    assert f.agent_state("8") is acd.AgentState.ON_CALL and call.stage is Stage.TALKING
    f.tick(60)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))  # 8 hangs up: after-call
    assert call.stage is Stage.AFTER_CALL
    assert events(f, "transfer_outcome") == [{"queue": "support", "outcome": "answered",
                                              "agent": "8", "wait_s": 0.0, "talk_s": 60.0}]  # fmt: skip
    assert len(f.writes(RecordOutcome)) == 1
    assert f.agent_state("8") is acd.AgentState.WRAP_UP
    agi_start(f, "after-call")
    assert pending(f) is not None


def test_the_consulted_agent_can_hand_the_call_on_again() -> None:
    f, leg = consulting()
    answers(f)
    f.feed(EndConsult(CALL, True, "agent:7"))
    f.feed(PbxEvent(NODE, PhoneTransfer(UID, UID, leg, "attended")))
    f.feed(AgentCommand(acd.AgentReady("7")))  # 7 ends its wrap-up
    out = f.feed(ConsultAgent(CALL, "7", "agent:8"))
    assert f.sent(fx.AtxferLeg, out) == [fx.AtxferLeg(NODE, CALL, X_LEG, "hotline-consult", "2007")]


def test_cancelling_brings_the_caller_back_and_frees_the_consulted_agent() -> None:
    f, leg = consulting()
    answers(f)
    out = f.feed(EndConsult(CALL, False, "agent:7"))
    assert f.sent(fx.CancelAtxferLeg, out) == [fx.CancelAtxferLeg(NODE, CALL, leg)]
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, X_CH, X_LEG, 16, "Normal Clearing")))
    assert f.agent_state("8") is acd.AgentState.READY
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    call = f.core.calls[CALL]
    assert call.consult is None and call.stage is Stage.TALKING and call.agent_id == "7"
    assert events(f, "consult_ended") == [{"agent": "7", "to_agent": "8", "result": "cancelled"}]
    assert pushed(out, "8", "call_ended") and pushed(out, "7", "consult")[0]["state"] == "ended"
    assert f.writes(RecordOutcome) == []
    # 7 may consult again
    out = f.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert f.sent(fx.AtxferLeg, out)


def test_a_consulted_phone_that_rings_out_or_is_busy_is_a_failed_offer() -> None:
    f, leg = consulting()
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, X_CH, X_LEG, 19, "User alerting, no answer")))
    assert f.agent_state("8") is acd.AgentState.READY
    assert events(f, "consult_ended")[-1]["result"] == "no-answer"
    f.feed(ConsultAgent(CALL, "8", "agent:7"))
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, X_CH, "1796.12", 17, "User busy")))
    assert f.acd.agent("8", f.mono).reason == "busy"
    assert events(f, "consult_ended")[-1]["result"] == "busy"
    f.feed(ConsultAgent(CALL, "8", "agent:7"))
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, X_CH, "1796.13", 19, "User alerting, no answer")))
    view = f.acd.agent("8", f.mono)
    # the second no-answer reaches rna_pause_after=2: paused as after two offers rang out
    assert view.state is acd.AgentState.PAUSED and view.reason == "ring-no-answer"
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert f.core.calls[CALL].stage is Stage.TALKING


def test_the_caller_hanging_up_during_the_consultation_frees_the_consulted_agent() -> None:
    f, leg = consulting()
    answers(f)
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.agent_state("8") is acd.AgentState.READY
    assert f.agent_state("7") is acd.AgentState.WRAP_UP
    [outcome] = f.writes(RecordOutcome)
    assert outcome.agent_id == 7
    assert events(f, "consult_ended")[-1]["result"] == "caller_gone"


def test_a_refused_atxfer_or_a_pause_ends_the_consultation() -> None:
    f, leg = consulting()
    f.feed(ConsultRefused(CALL, "No such channel"))
    assert f.agent_state("8") is acd.AgentState.READY
    assert f.core.calls[CALL].consult is None
    f.feed(ConsultAgent(CALL, "8", "agent:7"))
    out = f.feed(AgentCommand(acd.AgentPause("8", "break")))
    assert f.sent(fx.CancelAtxferLeg, out) == [fx.CancelAtxferLeg(NODE, CALL, leg)]
    assert f.agent_state("8") is acd.AgentState.PAUSED
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, X_CH, X_LEG, 16, "Normal Clearing")))
    assert f.core.calls[CALL].consult is None
    assert f.agent_state("8") is acd.AgentState.PAUSED


def test_refusals_change_nothing() -> None:
    f = Flow(agents=("7", "8", "9"), wrap_up_s=30.0)
    talking_to_7(f, "7", "8")
    core = f.core
    assert core.consult_refused(CALL, "7", "7") == "same_agent"
    assert core.consult_refused(CALL, "7", "nobody") == "unknown_agent"
    assert core.consult_refused(CALL, "8", "8") == "not_your_call"
    assert core.consult_refused(CALL, "7", "9") == "agent_unavailable"  # logged out
    assert core.consult_refused("pbx1:none", "7", "8") == "not_talking"
    f.feed(AgentCommand(acd.AgentPause("8", "break")))
    assert core.consult_refused(CALL, "7", "8") == "agent_busy"
    out = f.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert f.sent(fx.AtxferLeg, out) == [] and core.calls[CALL].consult is None
    f.feed(AgentCommand(acd.AgentReady("8")))
    assert core.end_consult_refused(CALL, "7", False) == "not_consulting"
    f.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert core.consult_refused(CALL, "7", "8") == "consulting"
    assert core.end_consult_refused(CALL, "7", True) == "not_answered"
    assert core.end_consult_refused(CALL, "8", False) == "not_your_call"
    out = f.feed(EndConsult(CALL, True, "agent:7"))
    assert f.sent(fx.HangupLeg, out) == []
    assert core.end_consult_refused(CALL, "7", False) is None


def test_where_atxfer_rings_an_agent_device() -> None:
    assert phone_of("PJSIP/2008", "hotline-consult") == ("hotline-consult", "2008")
    assert phone_of("Local/1002@agent-phones", "hotline-consult") == ("agent-phones", "1002")
    assert phone_of("Local/1002@agent-phones/n", "x") == ("agent-phones", "1002")
    assert phone_of("PJSIP/2008", "hotline-consult", "pbx2") == ("hotline-consult-pbx2", "2008")


def test_a_consulted_phone_on_another_node_is_rung_through_the_trunk_there() -> None:
    """Several PBXs: the Atxfer of 7's leg (on the caller's node) rings 8's phone homed on
    pbx2 in ``<consult_context>-<trunk>``, whose dialplan dials ``PJSIP/<ext>@<trunk>`` as
    an agent leg's Originate does; a phone at home is rung as before."""
    from callcenter.flow.homes import PhoneHomes

    f = Flow(wrap_up_s=30.0)
    f.core.homes = PhoneHomes({NODE: ("PJSIP/2007",), "pbx2": ("PJSIP/2008",)},
                              {(NODE, "pbx2"): "to-pbx2"})  # fmt: skip
    leg = talking_to_7(f)
    out = f.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert f.sent(fx.AtxferLeg, out) == [
        fx.AtxferLeg(NODE, CALL, leg, "hotline-consult-to-pbx2", "2008")]
    assert f.core.homes.dial(NODE, "PJSIP/2008") == "PJSIP/2008@to-pbx2", "as the agent leg"
    g = Flow(wrap_up_s=30.0)
    g.core.homes = PhoneHomes({NODE: ("PJSIP/2007", "PJSIP/2008")})
    leg = talking_to_7(g)
    out = g.feed(ConsultAgent(CALL, "8", "agent:7"))
    assert g.sent(fx.AtxferLeg, out) == [fx.AtxferLeg(NODE, CALL, leg, "hotline-consult", "2008")]


def test_the_last_channel_to_enter_a_bridge_is_the_consulted_leg() -> None:
    # unrecorded: Local optimisation swaps the Local ;1 for the PJSIP leg it dialled; the
    # ;1's later hang-up must not end the consultation
    f, leg = consulting()
    answers(f)
    f.feed(PbxEvent(NODE, Bridged(UID, "PJSIP/2008-0000000a", "1796.10", "b2", UID)))
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, X_CH, X_LEG, 16, "Normal Clearing")))
    call = f.core.calls[CALL]
    assert call.consult is not None and call.consult.leg == "1796.10"
    assert f.agent_state("8") is acd.AgentState.OFFERED
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, "PJSIP/2008-0000000a", "1796.10", 16, "x")))
    assert call.consult is None and f.agent_state("8") is acd.AgentState.READY


def test_consulting_a_queue_rings_its_next_ready_agent_as_routing_would() -> None:
    """``{queue, mode: attended}``: the core consults the agent ``acd.Acd.next_ready``
    names in that queue (never the transferring agent), then all goes as for a named
    agent; nobody Ready is ``no_agent_ready`` with nothing changed."""
    from .test_flow_transfer import two_queues

    f = Flow(("7", "8", "9"), wrap_up_s=30.0)
    leg = talking_to_7(f, "7", "9", "8")
    expected = f.acd.next_ready("support", "7")
    assert f.core.consult_pick(CALL, "7", "support") == (expected, None)
    out = f.feed(ConsultAgent(CALL, expected or "", "agent:7", "support"))
    [atx] = f.sent(fx.AtxferLeg, out)
    assert atx.leg == leg and atx.exten == f"20{(expected or '').zfill(2)}"
    assert f.agent_state(expected or "") is acd.AgentState.OFFERED
    assert f.core.consult_pick(CALL, "7", "support") == (None, "consulting")
    # agent 8 serves sales only: a consult of sales rings 8, though not of the call's queue
    g = two_queues()
    talking_to_7(g)
    assert g.core.consult_pick(CALL, "7", "sales") == ("8", None)
    assert g.core.consult_pick(CALL, "7", "nowhere") == (None, "unknown_queue")
    assert g.core.consult_pick(CALL, "8", "sales") == (None, "not_your_call")
    out = g.feed(ConsultAgent(CALL, "8", "agent:7", "sales"))
    assert [a.exten for a in g.sent(fx.AtxferLeg, out)] == ["2008"]
    h = Flow(("7",), wrap_up_s=30.0)
    talking_to_7(h, "7")
    before = h.agent_state("7")
    assert h.core.consult_pick(CALL, "7", "support") == (None, "no_agent_ready")
    assert h.agent_state("7") is before and h.core.calls[CALL].consult is None
