"""Ring-all in the call-flow core, by hand: several legs per call, one picked, no sockets.

- every READY agent who fits rings at once, each leg originated into the ring-all context
  (an answered leg waits there unbridged) with its own screen-pop;
- the first answer the core hears is picked (``PickLeg``: the Redirect to its Bridge());
  the other legs are hung up, a leg answering after the pick too, and those agents are
  READY with no failure counted (never auto-paused for it);
- a failed leg drops only itself; the caller leaving, or the offer timing out, ends every
  leg; the picked agent hanging up before the bridge never strands the caller;
- a resync judges legs whose OriginateResponse was lost (a leg waiting in the ring-all
  context answered), and a restarted core hangs up a dead run's legs and rings again.
"""

from __future__ import annotations

import datetime as dt

import acd
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.inputs import (
    AgentCommand,
    CallRowLoaded,
    LinkLost,
    LinkResynced,
    OfferEnded,
    OfferResult,
    PbxEvent,
)
from callcenter.flow.place import Place
from callcenter.storage.writes import RecordAgentState
from callcenter.tracker import Bridged, ChannelHungUp, Listed, ParkedInAgi, Unbridged

from .flow_support import NODE, Flow
from .test_flow_core import CALL, CH, UID, arrive, pending, reply, to_queue

AGENTS = ("7", "8", "9")


def ringing(agents: tuple[str, ...] = AGENTS, **queue: object) -> tuple[Flow, list[fx.Originate]]:
    """A ring-all queue; the agents ready; one caller queued: the legs it rang."""
    f = Flow(agents, strategy=acd.Strategy.RING_ALL, **queue)
    f.login(*agents)
    arrive(f)
    to_queue(f)
    return f, f.sent(fx.Originate)


def leg_of(legs: list[fx.Originate], agent: str) -> str:
    return next(o.leg for o in legs if o.agent_id == agent)


def hung_up(f: Flow, legs: list[fx.Originate], agent: str) -> list:
    leg = leg_of(legs, agent)
    return f.feed(PbxEvent(NODE, ChannelHungUp(leg, f"PJSIP/20{agent}-1", leg, 16, "Normal")))


def reasons(f: Flow) -> list[str | None]:
    return [w.reason for w in f.writes(RecordAgentState)]


def test_every_agent_rings_at_once_into_the_ring_all_context_with_a_screen_pop() -> None:
    f, legs = ringing()
    assert sorted(o.agent_id for o in legs) == sorted(AGENTS)
    assert {o.pick_context for o in legs} == {"agent-ring-all"}
    assert len({o.leg for o in legs}) == 3
    pops = [p.agent_id for p in f.sent(fx.Push) if p.message["type"] == "screen_pop"]
    assert sorted(pops) == sorted(AGENTS)
    call = f.core.calls[CALL]
    assert call.stage is Stage.OFFERED and len(call.offers) == 3
    assert call.agent_id is None, "nobody's call until one answers"
    assert all(f.agent_state(a) is acd.AgentState.OFFERED for a in AGENTS)


def test_a_plain_queue_still_rings_one_agent_with_a_bridge_of_its_own() -> None:
    f = Flow(AGENTS)
    f.login(*AGENTS)
    arrive(f)
    to_queue(f)
    [orig] = f.sent(fx.Originate)
    assert orig.pick_context is None


def test_the_first_answer_is_picked_and_the_other_legs_hung_up_their_agents_ready() -> None:
    f, legs = ringing()
    out = f.feed(OfferEnded(CALL, leg_of(legs, "8"), OfferResult.ANSWERED))
    picks = f.sent(fx.PickLeg, out)
    assert picks == [fx.PickLeg(NODE, CALL, leg_of(legs, "8"), "agent-ring-all")]
    hangups = f.sent(fx.HangupLeg, out)
    assert sorted(h.uniqueid for h in hangups) == sorted([leg_of(legs, "7"), leg_of(legs, "9")])
    assert out.index(picks[0]) < min(out.index(h) for h in hangups), "the winner goes first"
    ended = [p.agent_id for p in f.sent(fx.Push, out) if p.message["type"] == "call_ended"]
    assert sorted(ended) == ["7", "9"]
    call = f.core.calls[CALL]
    assert (call.stage, call.agent_id) == (Stage.TALKING, "8")
    assert f.agent_state("8") is acd.AgentState.ON_CALL
    assert f.agent_state("7") is f.agent_state("9") is acd.AgentState.READY
    # the hung-up legs report back: ignored, nobody's failure
    for agent in ("7", "9"):
        assert f.feed(OfferEnded(CALL, leg_of(legs, agent), OfferResult.FAILED)) == []
        hung_up(f, legs, agent)
    assert "no-answer" not in reasons(f) and "failed" not in reasons(f)
    assert f.acd.agent("7", f.mono).state is acd.AgentState.READY


def test_a_leg_answering_after_the_pick_is_hung_up_and_never_bridged() -> None:
    f, legs = ringing()
    f.feed(OfferEnded(CALL, leg_of(legs, "7"), OfferResult.ANSWERED))
    out = f.feed(OfferEnded(CALL, leg_of(legs, "9"), OfferResult.ANSWERED))
    assert out == [fx.HangupLeg(NODE, leg_of(legs, "9"))]
    assert len(f.sent(fx.PickLeg)) == 1
    assert f.agent_state("9") is acd.AgentState.READY


def test_a_picked_leg_bridges_and_the_call_ends_with_one_answered_outcome() -> None:
    f, legs = ringing()
    leg = leg_of(legs, "7")
    f.feed(OfferEnded(CALL, leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    f.feed(PbxEvent(NODE, Bridged(UID, "PJSIP/2007-1", leg, "b1", leg)))
    assert f.sent(fx.StartRecording)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    assert f.core.calls[CALL].stage is Stage.AFTER_CALL
    hung_up(f, legs, "7")  # the agent's leg after the call: nothing more
    arrive(f, context="after-call")  # Bridge()'s F(): the caller back in AsyncAGI
    assert pending(f) == "HANGUP"
    reply(f, "200 result=1")
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}
    assert f.core.legs == {}, "no leg left behind"


def test_a_failed_leg_drops_only_itself_and_the_last_failure_rings_again() -> None:
    f, legs = ringing(("7", "8"))
    out = f.feed(OfferEnded(CALL, leg_of(legs, "7"), OfferResult.BUSY))
    assert not f.sent(fx.HangupLeg, out) and f.core.calls[CALL].stage is Stage.OFFERED
    assert [o.agent_id for o in f.core.calls[CALL].offers] == ["8"]
    out = f.feed(OfferEnded(CALL, leg_of(legs, "8"), OfferResult.NO_ANSWER))
    # back in line, and rung again at once: 7 (8 just failed it)
    assert [o.agent_id for o in f.sent(fx.Originate, out)] == ["7"]
    assert f.core.calls[CALL].stage is Stage.OFFERED
    assert "device-busy" not in reasons(f)  # one busy counted, not paused


def test_a_caller_who_leaves_while_it_rings_ends_every_leg_with_one_outcome() -> None:
    f, legs = ringing()
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert sorted(h.uniqueid for h in f.sent(fx.HangupLeg, out)) == sorted(o.leg for o in legs)
    assert f.outcomes() == {CALL: "abandoned"}
    assert all(f.agent_state(a) is acd.AgentState.READY for a in AGENTS)
    # a leg answering now is ended at once
    assert f.feed(OfferEnded(CALL, legs[0].leg, OfferResult.ANSWERED)) == [
        fx.HangupLeg(NODE, legs[0].leg)
    ]


def test_an_offer_nobody_answers_in_time_ends_every_leg_and_rings_again() -> None:
    f, legs = ringing(("7", "8"), offer_timeout_s=10.0)
    out = f.tick(16.0)  # offer_timeout_s + offer_grace_s
    assert sorted(h.uniqueid for h in f.sent(fx.HangupLeg, out)) == sorted(o.leg for o in legs)
    again = f.sent(fx.Originate, out)
    assert again and not {o.leg for o in again} & {o.leg for o in legs}
    assert f.core.calls[CALL].stage is Stage.OFFERED


def test_a_pause_withdraws_only_that_agents_leg() -> None:
    f, legs = ringing()
    out = f.feed(AgentCommand(acd.AgentPause("9", "break")))
    assert f.sent(fx.HangupLeg, out) == [fx.HangupLeg(NODE, leg_of(legs, "9"))]
    assert f.core.calls[CALL].stage is Stage.OFFERED
    assert sorted(o.agent_id for o in f.core.calls[CALL].offers) == ["7", "8"]


def test_the_picked_agent_hanging_up_before_the_bridge_never_strands_the_caller() -> None:
    f, legs = ringing()
    f.feed(OfferEnded(CALL, leg_of(legs, "7"), OfferResult.ANSWERED))
    hung_up(f, legs, "7")  # gone before its Bridge() pulled the caller in
    call = f.core.calls[CALL]
    assert call.stage is Stage.AFTER_CALL
    reply(f, "200 result=0")  # the hold slice that was running ends
    assert pending(f) == "HANGUP", "the caller is not left in silence"
    assert f.agent_state("7") is not acd.AgentState.ON_CALL
    assert f.outcomes() == {CALL: "answered"}, "connected by the ACD: not queued again"


def test_a_lost_answer_is_judged_from_the_listing_a_leg_waiting_in_the_context_is_picked() -> None:
    f, legs = ringing()
    f.feed(LinkLost(NODE))
    for o in legs:
        f.feed(OfferEnded(CALL, o.leg, OfferResult.UNKNOWN))
    l7, l8, l9 = (leg_of(legs, a) for a in AGENTS)
    events = (
        Listed(UID, CH, UID, "", "AGI", "hotline-safe", "0912000001", ""),
        Listed(l7, "PJSIP/2007-1", l7, "", "AppDial2", "agents-out", "", ""),
        Listed(l8, "PJSIP/2008-1", l8, "", "Wait", "agent-ring-all", "", ""),
    )  # 9's leg is gone: it rang out while the link was down
    out = f.feed(LinkResynced(NODE, events))
    assert f.sent(fx.PickLeg, out) == [fx.PickLeg(NODE, CALL, l8, "agent-ring-all")]
    assert fx.HangupLeg(NODE, l7) in out and fx.HangupLeg(NODE, l8) not in out
    assert f.core.calls[CALL].stage is Stage.TALKING
    assert f.agent_state("8") is acd.AgentState.ON_CALL
    assert f.agent_state("7") is acd.AgentState.READY
    # 9's leg, gone unseen, was withdrawn by the pick like 7's: nobody's failure
    assert f.agent_state("9") is acd.AgentState.READY and "no-answer" not in reasons(f)
    assert {h.uniqueid for h in f.sent(fx.HangupLeg, out)} == {l7, l9}


def test_a_restarted_core_hangs_up_a_dead_runs_legs_and_rings_the_caller_again() -> None:
    f = Flow(AGENTS, strategy=acd.Strategy.RING_ALL)  # the new run, run id r1
    queued_at = f.wall - dt.timedelta(seconds=30)
    f.rows[CALL] = CallRowLoaded(CALL, queue="support", queued_at=queued_at, started_at=queued_at,
                                 place=Place("support", 0, queued_at))  # fmt: skip
    dead = [f"hl-d0-{a}-{n}" for n, a in enumerate(AGENTS, 1)]
    events = (
        ParkedInAgi(UID, CH, UID, "0912000001", "", "hotline-safe"),
        Listed(dead[0], "PJSIP/2007-1", dead[0], "", "AppDial2", "agents-out", "", ""),
        Listed(dead[1], "PJSIP/2008-1", dead[1], "", "Wait", "agent-ring-all", "", ""),
        Listed(dead[2], "PJSIP/2009-1", dead[2], "", "AppDial2", "agents-out", "", ""),
    )
    out = f.feed(LinkResynced(NODE, events, first=True))
    assert sorted(h.uniqueid for h in f.sent(fx.HangupLeg, out)) == sorted(dead)
    call = f.core.calls[CALL]
    assert call.stage is Stage.HOLDING
    # the agents restored after the resync, one by one: the first one READY rings alone
    # (acd/README: a ringing call gets no new legs)
    f.login(*AGENTS)
    legs = f.sent(fx.Originate)
    assert [o.agent_id for o in legs] == ["7"] and legs[0].pick_context == "agent-ring-all"
    assert legs[0].leg not in dead
    f.feed(OfferEnded(CALL, legs[0].leg, OfferResult.ANSWERED))
    assert f.core.calls[CALL].agent_id == "7"
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}


def test_a_restarted_core_finds_a_picked_leg_talking_and_keeps_its_agent_on_call() -> None:
    # the dead run's pick ran Bridge() from [agent-ring-all]: listed like 21's agent leg
    f = Flow(AGENTS, strategy=acd.Strategy.RING_ALL)
    f.login(*AGENTS)
    f.rows[CALL] = CallRowLoaded(CALL, queue="support", queued_at=f.wall, started_at=f.wall,
                                 answered_at=f.wall, agent_id="8")  # fmt: skip
    leg = "hl-d0-8-2"
    events = (
        Listed(UID, CH, UID, "b1", "", "hotline-safe", "0912000001", ""),
        Listed(UID, "PJSIP/2008-1", leg, "b1", "Bridge", "agent-ring-all", "", ""),
    )
    out = f.feed(LinkResynced(NODE, events, first=True))
    assert f.core.calls[CALL].stage is Stage.TALKING
    assert f.agent_state("8") is acd.AgentState.ON_CALL
    assert not f.sent(fx.Originate, out) and not f.sent(fx.HangupLeg, out)
