"""The queued callback that keeps the caller's place (flow core rule 13,
callcenter.flow.callback), by hand: the pure core, a hand-moved clock, the real ACD and
the sample IVR."""

from __future__ import annotations

import pytest

import acd
from callcenter.ami.agi import AgiEnv
from callcenter.flow import Stage
from callcenter.flow import effects as fx
from callcenter.flow.callback import Ask, CallbackPolicy, Dialog, callable_number
from callcenter.flow.inputs import OfferEnded, OfferResult, PbxEvent
from callcenter.flow.place import Place
from callcenter.storage.writes import RecordCallbackRequest, RecordCallEvent
from callcenter.tracker import AgiStarted, Bridged, ChannelHungUp

from .flow_support import CALL, CH, NODE, UID, Flow
from .test_flow_core import arrive, pending, reply, to_queue

POLICY = CallbackPolicy(offer_after_s=30, max_attempts=2, retry_s=60)
#: a second caller, who enters the queue later
UID2, CH2 = "1796.9", "PJSIP/trunk-00000009"
CALL2 = f"{NODE}:{UID2}"


def holding(policy: CallbackPolicy = POLICY, agents: tuple[str, ...] = ("7",),
            **queue: float) -> Flow:  # fmt: skip
    """A caller (Vietnamese, by the sample IVR, caller id 0912000001) on hold in support,
    nobody logged in, music on."""
    f = Flow(agents, hold_slice_s=20.0, **queue)
    f.core.callbacks = {"support": policy}
    arrive(f)
    to_queue(f)
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 20000"
    return f


def offered_callback(f: Flow) -> None:
    """Hold slices until the callback is offered (30 s): the offer prompt is in flight."""
    f.tick(20)
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 10000" or pending(f).startswith("WAIT FOR DIGIT")
    f.tick(10)
    reply(f, "200 result=0")
    assert pending(f) == 'STREAM FILE hotline/vi/callback-offer "1"'


def confirm_own_number(f: Flow) -> None:
    """The dialog from the caller's 1: its number said back, 1 to confirm, the thanks."""
    assert pending(f) == 'STREAM FILE hotline/vi/callback-number-is ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == 'SAY DIGITS 0912000001 ""'
    reply(f, "200 result=0")
    assert pending(f) == "GET DATA hotline/vi/callback-confirm 5000 1"
    reply(f, "200 result=1")
    assert pending(f) == 'STREAM FILE hotline/vi/callback-thanks ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == "HANGUP"
    reply(f, "200 result=1")
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))


def events(f: Flow, kind: str) -> list[dict]:
    return [w.data for w in f.writes(RecordCallEvent) if w.kind == kind]


def virtual_caller(f: Flow) -> None:
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")  # the caller's 1 cuts the offer (17, 22)
    confirm_own_number(f)
    assert f.core.calls[CALL].stage is Stage.CALLBACK
    assert [e.text for e in f.sent(fx.Log) if e.level == "error"] == []


def agent_leg_in(f: Flow) -> fx.Originate:
    """The agent's phone rang into the callback context, answered; its leg is in AsyncAGI
    and heard the whisper and the number: the customer's Originate."""
    orig = f.sent(fx.Originate)[-1]
    assert orig.pick_context == "hotline-callback" and orig.caller_number == "0912000001"
    leg_ch = f"Local/1007@agent-phones-0000000{len(f.sent(fx.Originate))};1"
    env = AgiEnv(channel=leg_ch, uniqueid=orig.leg, context="hotline-callback")
    f.feed(PbxEvent(NODE, AgiStarted(orig.leg, leg_ch, orig.leg, env, True)))
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    assert f.core.calls[CALL].stage is Stage.DIALING
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    assert pending(f) == 'STREAM FILE hotline/vi/callback-whisper ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == 'SAY DIGITS 0912000001 ""'
    reply(f, "200 result=0")
    customer = f.sent(fx.Originate)[-1]
    assert customer.device == "Local/0912000001@hotline-callback-out"
    assert customer.caller_channel == leg_ch and customer.pick_context is None
    return customer


def test_pressing_1_during_the_hold_music_starts_the_dialog_once_offered() -> None:
    f = holding()
    f.tick(20)
    reply(f, "200 result=49")  # a 1 before the offer: nothing but a digit on hold
    assert pending(f) == "WAIT FOR DIGIT 10000"
    f.tick(10)
    reply(f, "200 result=0")
    assert pending(f) == 'STREAM FILE hotline/vi/callback-offer "1"'
    reply(f, "200 result=0 endpos=16000")  # heard to its end: the music comes back
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert pending(f) == "WAIT FOR DIGIT 20000"
    reply(f, "200 result=49")  # 1 during WAIT FOR DIGIT: result=49 (15)
    assert pending(f) == 'STREAM FILE hotline/vi/callback-number-is ""'
    assert events(f, "callback_dialog") == [{"queue": "support"}]
    assert f.core.calls[CALL].stage is Stage.HOLDING  # still in line meanwhile


def test_a_confirmed_caller_hangs_up_and_keeps_its_place_as_a_virtual_caller() -> None:
    f = holding()
    virtual_caller(f)
    assert f.outcomes() == {}, "its hang-up is no abandon"
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.position == 1 and view.wait_s == pytest.approx(30)
    [request] = f.writes(RecordCallbackRequest)
    assert (request.number, request.queue, request.own_number) == ("0912000001", "support", True)
    assert events(f, "callback_queued") == [
        {"queue": "support", "number": "0912000001", "name_file": None}]
    f.tick(100)
    assert f.acd.call(CALL, f.mono).wait_s == pytest.approx(130)  # type: ignore[union-attr]


def test_a_caller_who_entered_later_is_not_served_first() -> None:
    f = holding()
    virtual_caller(f)
    f.tick(5)
    arrive(f, uid=UID2, ch=CH2, number="0912000002")
    to_queue(f, CALL2)
    assert f.acd.call(CALL2, f.mono).position == 2  # type: ignore[union-attr]
    f.login("7")
    [orig] = f.sent(fx.Originate)
    assert orig.call_id == CALL and orig.agent_id == "7"
    [pop] = [p for p in f.sent(fx.Push) if p.message.get("type") == "screen_pop"]
    assert pop.message["callback"] == {"number": "0912000001", "name_file": None, "attempt": 1}


def test_a_no_answer_is_retried_after_retry_s_at_the_old_place_then_completed() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7")
    customer = agent_leg_in(f)
    assert events(f, "callback_attempt") == [{"attempt": 1, "agent": "7"}]
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.NO_ANSWER))
    agent_leg = f.core.calls[CALL].callback.agent_leg  # type: ignore[union-attr]
    assert agent_leg is None
    assert [h.uniqueid for h in f.sent(fx.HangupLeg)] == [f.sent(fx.Originate)[-2].leg]
    assert f.agent_state("7") is acd.AgentState.READY, "the agent is free again"
    assert f.outcomes() == {} and f.core.calls[CALL].stage is Stage.CALLBACK
    assert f.acd.call(CALL, f.mono) is None, "out of line during the retry's wait"
    # meanwhile a later caller arrives and waits (the agent talks to someone else? no:
    # nobody else is in line, so the agent stays free until the retry)
    f.tick(59)
    assert f.acd.call(CALL, f.mono) is None
    f.tick(1)
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.wait_s == pytest.approx(90), "its entry time kept"
    customer = agent_leg_in(f)
    assert events(f, "callback_attempt")[-1] == {"attempt": 2, "agent": "7"}
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.ANSWERED))
    call = f.core.calls[CALL]
    assert call.stage is Stage.TALKING
    f.feed(PbxEvent(NODE, Bridged(call.uniqueid, call.channel, call.uniqueid, "b1",
                                  call.uniqueid)))  # fmt: skip
    f.tick(30)
    # the customer hangs up: the agent's channel goes to the after-call context (03 B)
    env = AgiEnv(channel=call.channel, uniqueid=call.uniqueid, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(call.uniqueid, call.channel, call.uniqueid, env, True)))
    assert f.outcomes() == {CALL: "answered"}
    assert events(f, "callback_completed") == [{"attempts": 2, "agent": "7"}]
    assert pending(f) == "HANGUP", "no survey for the agent"
    # the ACD's live figures count the call as SQL does (docs/kpis.md): once offered, once
    # answered with its whole wait; the failed attempt is no answer and no talk sample
    stats = f.acd.queue_stats("support", f.mono)
    assert (stats.offered, stats.answered, stats.talk_samples) == (1, 1, 1)
    assert stats.asa_s == pytest.approx(90)


def test_the_last_attempt_that_reaches_nobody_ends_callback_failed() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7")
    f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.BUSY))
    f.tick(60)
    f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.NO_ANSWER))
    assert f.outcomes() == {CALL: "failed"}
    assert events(f, "callback_failed") == [{"attempts": 2, "why": "no-answer"}]
    assert CALL not in f.core.calls and f.agent_state("7") is acd.AgentState.READY
    # ``failed`` counts in no queue figure (docs/kpis.md): the ACD's live tallies agree
    stats = f.acd.queue_stats("support", f.mono)
    assert (stats.offered, stats.answered, stats.talk_samples, stats.asa_s) == (0, 0, 0, None)


def test_an_agent_who_hangs_up_before_the_customer_answers_costs_no_attempt() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7", "8")
    customer = agent_leg_in(f)
    call = f.core.calls[CALL]
    f.feed(PbxEvent(NODE, ChannelHungUp(call.uniqueid, call.channel, call.uniqueid, 16, "x")))
    assert customer.leg in [h.uniqueid for h in f.sent(fx.HangupLeg)]
    assert call.callback is not None and call.callback.attempts == 0
    f.tick(0.1)
    assert f.sent(fx.Originate)[-1].pick_context == "hotline-callback", "in line again at once"


def test_another_number_is_entered_and_checked_with_phonenumbers() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    reply(f, "200 result=0 endpos=8000")
    reply(f, "200 result=0")
    assert pending(f) == "GET DATA hotline/vi/callback-confirm 5000 1"
    reply(f, "200 result=2")
    assert pending(f) == "GET DATA hotline/vi/callback-enter-number 10000 15"
    reply(f, "200 result=123")
    assert pending(f) == 'STREAM FILE hotline/vi/callback-invalid-number ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == "GET DATA hotline/vi/callback-enter-number 10000 15"
    reply(f, "200 result=0987654321")
    assert pending(f) == 'STREAM FILE hotline/vi/callback-number-is ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == 'SAY DIGITS 0987654321 ""'
    reply(f, "200 result=0")
    reply(f, "200 result=1")
    reply(f, "200 result=0 endpos=8000")
    assert events(f, "callback_queued")[0]["number"] == "0987654321"
    [request] = f.writes(RecordCallbackRequest)
    assert request.own_number is False


def test_a_dialog_without_an_answer_gives_the_hold_back_at_the_same_place() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    for _ in range(3):
        reply(f, "200 result=0 endpos=8000")
        reply(f, "200 result=0")
        assert pending(f) == "GET DATA hotline/vi/callback-confirm 5000 1"
        reply(f, "200 result= (timeout)")
    assert pending(f) == "SET MUSIC ON default"
    reply(f, "200 result=0")
    assert pending(f).startswith("WAIT FOR DIGIT")
    assert events(f, "callback_declined") == [{}]
    assert f.core.calls[CALL].callback is None and f.core.calls[CALL].stage is Stage.HOLDING


def test_a_name_is_recorded_and_shown_in_the_screen_pop() -> None:
    f = holding(CallbackPolicy(offer_after_s=30, record_name=True, name_max_s=4))
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    reply(f, "200 result=0 endpos=8000")
    reply(f, "200 result=0")
    reply(f, "200 result=1")
    assert pending(f) == 'STREAM FILE hotline/vi/callback-say-name ""'
    reply(f, "200 result=0 endpos=8000")
    path = "/var/spool/asterisk/voicemail/hotline/callback-pbx1-1796.1-name"
    assert pending(f) == f'RECORD FILE {path} wav "#" 4000 0 BEEP'
    reply(f, "200 result=0 (timeout) endpos=16000")  # 17
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == "HANGUP"
    f.login("7")
    [pop] = [p for p in f.sent(fx.Push) if p.message.get("type") == "screen_pop"]
    assert pop.message["callback"]["name_file"] == f"{path}.wav"


def test_an_agent_free_during_the_dialog_takes_the_caller_at_once() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    f.login("7")
    [orig] = f.sent(fx.Originate)
    assert orig.pick_context is None and orig.caller_channel == CH, "a plain offer"
    assert f.core.calls[CALL].callback is None


def test_the_caller_who_hangs_up_in_the_dialog_abandons() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    reply(f, "200 result=-1")
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "abandoned"}


def test_the_offer_comes_by_the_estimate_too() -> None:
    policy = CallbackPolicy(offer_after_s=None, offer_ewt_s=100)
    assert not policy.offered(1000, None) and not policy.offered(1000, 99)
    assert policy.offered(0, 100)
    assert CallbackPolicy(offer_after_s=30).offered(30, None)


def test_a_virtual_caller_past_its_queues_max_wait_fails() -> None:
    f = holding(max_wait_s=120.0)
    virtual_caller(f)
    f.tick(95)
    assert f.outcomes() == {CALL: "failed"}
    assert events(f, "callback_failed") == [{"attempts": 0, "why": "timeout"}]
    # ``failed`` counts in no queue figure (docs/kpis.md): the ACD gives its timeout back
    stats = f.acd.queue_stats("support", f.mono)
    assert (stats.offered, stats.timed_out, stats.waiting) == (0, 0, 0)
    assert [e.text for e in f.sent(fx.Log) if e.level == "error"] == []


@pytest.mark.parametrize(("text", "expected"), [
    ("0912000001", "0912000001"), ("+84912000001", "+84912000001"), ("123", None),
    ("", None), ("anonymous", None), ("09120000019999999999999", None), ("1001", None),
])  # fmt: skip
def test_numbers_are_checked_with_phonenumbers(text: str, expected: str | None) -> None:
    assert callable_number(text, "VN") == expected


def test_the_dialog_of_an_anonymous_caller_asks_for_the_number_first() -> None:
    dialog = Dialog(CallbackPolicy(), "anonymous", "en", "/tmp/x")
    [ask] = dialog.start()
    assert ask.ask is Ask.ENTER and "hotline/en/callback-enter-number" in ask.text
    assert dialog.on_reply(Ask.ENTER, None) == [] and dialog.done and not dialog.confirmed


def test_a_missing_offer_prompt_ends_asyncagi_and_the_hold_goes_on() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=-1 endpos=0")  # a missing file ends AsyncAGI (13)
    call = f.core.calls[CALL]
    assert not call.in_agi and [j.command for j in call.outbox] == [
        "SET MUSIC ON default", "WAIT FOR DIGIT 20000"]  # fmt: skip


def test_a_missing_dialog_prompt_ends_asyncagi_and_the_dialog_goes_on_after_it() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    reply(f, "200 result=-1 endpos=0")  # callback-number-is is missing (13)
    call = f.core.calls[CALL]
    assert not call.in_agi and call.outbox[0].command == 'SAY DIGITS 0912000001 ""'


def test_the_reply_of_a_dropped_dialog_is_read_by_nobody() -> None:
    f = holding()
    offered_callback(f)
    reply(f, "200 result=49 endpos=4000")
    reply(f, "200 result=0 endpos=8000")
    f.login("7")  # an agent came free while SAY DIGITS runs: the dialog is dropped
    reply(f, "200 result=0")
    assert f.core.calls[CALL].callback is None and f.writes(RecordCallbackRequest) == []


def test_late_reports_of_an_attempt_change_nothing() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7")
    customer = agent_leg_in(f)
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.UNKNOWN))  # judged later: no change
    assert f.core.calls[CALL].stage is Stage.DIALING
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.NO_ANSWER))
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.ANSWERED))  # after the retry began
    assert f.sent(fx.HangupLeg)[-1].uniqueid == customer.leg
    assert f.core.calls[CALL].stage is Stage.CALLBACK


def test_an_agent_leg_of_a_withdrawn_offer_entering_the_context_is_hung_up() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7")
    orig = f.sent(fx.Originate)[-1]
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.NO_ANSWER))
    env = AgiEnv(channel="Local/1007@agent-phones-1;1", uniqueid=orig.leg,
                 context="hotline-callback")  # fmt: skip
    f.feed(PbxEvent(NODE, AgiStarted(orig.leg, env.channel, orig.leg, env, True)))
    assert f.sent(fx.HangupLeg)[-1].uniqueid == orig.leg


def test_the_request_row_follows_each_attempt_and_the_end() -> None:
    from callcenter.facts import RecordCallbackProgress

    f = holding()
    virtual_caller(f)
    f.login("7")
    f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.NO_ANSWER))
    f.tick(60)
    f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.BUSY))
    assert [(p.node, p.status, p.attempts) for p in f.writes(RecordCallbackProgress)] == [
        ("queued", "pending", 1), ("queued", "pending", 2), ("queued", "failed", 2)]  # fmt: skip


def test_a_dead_runs_virtual_caller_is_back_in_line_at_its_place_after_a_restart() -> None:
    import datetime as dt

    from callcenter.flow.inputs import CallRowLoaded, OpenCallsLoaded

    f = Flow(("7",), hold_slice_s=20.0)
    f.core.callbacks = {"support": POLICY}
    queued = f.wall - dt.timedelta(seconds=100)
    row = CallRowLoaded(CALL, started_at=queued, queue="support", queued_at=queued,
                        language="vi", place=Place("support", 1, queued, "callback"),
                        callback_number="0912000001",
                        callback_name="/x/name.wav", callback_attempts=1)  # fmt: skip
    other = CallRowLoaded(f"{NODE}:1796.5", started_at=queued, queue="support",
                          queued_at=queued)  # fmt: skip
    f.feed(OpenCallsLoaded(NODE, (row, other)))
    assert f.outcomes() == {f"{NODE}:1796.5": "abandoned"}, "only the callback is adopted"
    call = f.core.calls[CALL]
    assert call.stage is Stage.CALLBACK and call.callback is not None
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.wait_s == pytest.approx(100) and view.priority == 1
    assert events(f, "callback_adopted") == [{"attempts": 1, "wait_s": 100.0}]
    f.tick(5)
    arrive(f, uid=UID2, ch=CH2, number="0912000002")
    to_queue(f, CALL2)
    f.login("7")
    [orig] = f.sent(fx.Originate)
    assert orig.call_id == CALL and orig.pick_context == "hotline-callback"
    [pop] = [p for p in f.sent(fx.Push) if p.message.get("type") == "screen_pop"]
    assert pop.message["callback"] == {"number": "0912000001", "name_file": "/x/name.wav",
                                       "attempt": 2}  # fmt: skip


def test_an_adopted_callback_past_its_queues_max_wait_fails() -> None:
    import datetime as dt

    from callcenter.flow.inputs import CallRowLoaded, OpenCallsLoaded

    f = Flow(("7",), hold_slice_s=20.0, max_wait_s=60.0)
    f.core.callbacks = {"support": POLICY}
    queued = f.wall - dt.timedelta(seconds=100)
    f.feed(OpenCallsLoaded(NODE, (CallRowLoaded(CALL, queue="support", queued_at=queued,
                                                place=Place("support", 0, queued),
                                                callback_number="0912000001"),)))  # fmt: skip
    assert f.outcomes() == {CALL: "failed"} and CALL not in f.core.calls


def test_the_agent_back_from_the_customer_before_its_answer_is_read_ends_completed() -> None:
    # Broke over pbxsim under load: the customer's hang-up sent the agent's channel to the
    # after-call context before the controller read the customer's OriginateResponse; the
    # call stayed DIALING, its agent parked there, no outcome.
    f = holding()
    virtual_caller(f)
    f.login("7")
    customer = agent_leg_in(f)
    call = f.core.calls[CALL]
    f.feed(PbxEvent(NODE, Bridged(call.uniqueid, call.channel, call.uniqueid, "b1",
                                  call.uniqueid)))  # fmt: skip
    assert call.stage is Stage.TALKING, "bridged: the customer answered"
    env = AgiEnv(channel=call.channel, uniqueid=call.uniqueid, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(call.uniqueid, call.channel, call.uniqueid, env, True)))
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.ANSWERED))  # read last
    assert f.outcomes() == {CALL: "answered"}
    assert events(f, "callback_completed") == [{"attempts": 1, "agent": "7"}]
    assert customer.leg not in [h.uniqueid for h in f.sent(fx.HangupLeg)]


def test_the_agent_back_through_the_customers_f_without_a_bridge_seen_ends_completed() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7")
    agent_leg_in(f)
    call = f.core.calls[CALL]
    env = AgiEnv(channel=call.channel, uniqueid=call.uniqueid, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(call.uniqueid, call.channel, call.uniqueid, env, True)))
    assert f.outcomes() == {CALL: "answered"} and pending(f) == "HANGUP"


def test_the_agents_answer_read_before_its_leg_enters_the_callback_context() -> None:
    # Broke over pbxsim under load: the agent leg's OriginateResponse was read before its
    # AsyncAGIStart; the offer was gone by then and the agent leg was hung up as a stray.
    f = holding()
    virtual_caller(f)
    f.login("7")
    orig = f.sent(fx.Originate)[-1]
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    assert f.core.calls[CALL].stage is Stage.DIALING
    leg_ch = "PJSIP/2007-00000001"
    env = AgiEnv(channel=leg_ch, uniqueid=orig.leg, context="hotline-callback")
    f.feed(PbxEvent(NODE, AgiStarted(orig.leg, leg_ch, orig.leg, env, True)))
    assert f.sent(fx.HangupLeg) == []
    assert pending(f) == 'STREAM FILE hotline/vi/callback-whisper ""'


def test_an_agent_who_hangs_up_before_its_leg_enters_the_context_costs_no_attempt() -> None:
    f = holding()
    virtual_caller(f)
    f.login("7")
    orig = f.sent(fx.Originate)[-1]
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, ChannelHungUp(orig.leg, "PJSIP/2007-00000001", orig.leg, 16, "x")))
    call = f.core.calls[CALL]
    assert call.stage is Stage.CALLBACK and call.callback is not None
    assert call.callback.attempts == 0 and f.agent_state("7") is not acd.AgentState.ON_CALL


def test_an_adopted_callbacks_retry_comes_at_its_time() -> None:
    # Broke when next_timer came to read only the calls registered as holding a callback:
    # an adopted one was not registered, its retry's due never woke the core.
    import datetime as dt

    from callcenter.flow.inputs import CallRowLoaded, OpenCallsLoaded

    f = Flow(("7",), hold_slice_s=20.0)
    f.core.callbacks = {"support": POLICY}
    queued = f.wall - dt.timedelta(seconds=10)
    f.feed(OpenCallsLoaded(NODE, (CallRowLoaded(CALL, queue="support", queued_at=queued,
                                                language="vi", place=Place("support", 0, queued),
                                                callback_number="0912000001"),)))  # fmt: skip
    f.login("7")
    f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.NO_ANSWER))
    assert f.core.next_timer() == pytest.approx(f.mono + 60)
    f.tick(60)
    assert f.acd.call(CALL, f.mono) is not None, "back in line after retry_s"


# -- an IVR callback node's request is dialled back the same way -----------------------
def node_request_left() -> Flow:
    """A caller (sample messages IVR) asks for a callback at the ``call_me`` node, hears
    the flow's hang-up and is gone: the call is that request's virtual caller."""
    from callcenter.flow.inputs import CardFound
    from callcenter.storage.writes import RecordCallUpdate

    from .test_flow_ivr import messages_flow

    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")  # the language
    reply(f, "200 result=2")  # 2: call me back
    f.feed(CardFound(CALL, None))
    assert pending(f) == "HANGUP"
    assert f.acd.call(CALL, f.mono) is None, "not in line while the caller is there"
    reply(f, "200 result=1")
    f.tick(3)
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    call = f.core.calls[CALL]
    assert call.stage is Stage.CALLBACK and call.queue == "support"
    assert f.outcomes() == {}, "no ivr_hangup: the request is the call's"
    view = f.acd.call(CALL, f.mono)
    assert view is not None and view.queue == "support"
    assert [w.queue for w in f.writes(RecordCallUpdate) if w.queued_at is not None] == ["support"]
    assert events(f, "callback_queued") == [{"queue": "support", "number": "0912000001",
                                             "node": "call_me"}]  # fmt: skip
    assert [e.text for e in f.sent(fx.Log) if e.level == "error"] == []
    return f


def test_an_ivr_callback_nodes_request_enters_its_queue_and_ends_completed() -> None:
    from callcenter.facts import RecordCallbackProgress

    f = node_request_left()
    f.login("7")
    customer = agent_leg_in(f)
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.NO_ANSWER))
    f.tick(120)  # the default policy's retry_s (support has no queues[].callback)
    customer = agent_leg_in(f)
    f.feed(OfferEnded(CALL, customer.leg, OfferResult.ANSWERED))
    call = f.core.calls[CALL]
    assert call.stage is Stage.TALKING
    f.tick(30)
    env = AgiEnv(channel=call.channel, uniqueid=call.uniqueid, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(call.uniqueid, call.channel, call.uniqueid, env, True)))
    assert f.outcomes() == {CALL: "answered"}
    assert events(f, "callback_completed") == [{"attempts": 2, "agent": "7"}]
    assert [(p.node, p.status, p.attempts) for p in f.writes(RecordCallbackProgress)] == [
        ("call_me", "pending", 1), ("call_me", "pending", 2), ("call_me", "completed", 2)]  # fmt: skip


def test_an_ivr_callback_request_that_reaches_nobody_ends_failed() -> None:
    from callcenter.facts import RecordCallbackProgress

    f = node_request_left()
    f.login("7")
    for _ in range(3):  # the default policy's max_attempts
        f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.BUSY))
        f.tick(120)
    assert f.outcomes() == {CALL: "failed"} and CALL not in f.core.calls
    assert [(p.node, p.status) for p in f.writes(RecordCallbackProgress)][-1] == (
        "call_me", "failed")  # fmt: skip


def test_an_adopted_ivr_callback_request_writes_its_own_row() -> None:
    import datetime as dt

    from callcenter.facts import RecordCallbackProgress
    from callcenter.flow.inputs import CallRowLoaded, OpenCallsLoaded

    f = Flow(("7",), hold_slice_s=20.0)
    queued = f.wall - dt.timedelta(seconds=40)
    row = CallRowLoaded(CALL, started_at=queued, queue="support", queued_at=queued,
                        language="vi", callback_number="0912000001", callback_node="call_me",
                        place=Place("support", 0, queued, "callback"))  # fmt: skip
    f.feed(OpenCallsLoaded(NODE, (row,)))
    assert f.core.calls[CALL].stage is Stage.CALLBACK
    f.login("7")
    f.feed(OfferEnded(CALL, agent_leg_in(f).leg, OfferResult.NO_ANSWER))
    assert [(p.node, p.status) for p in f.writes(RecordCallbackProgress)] == [
        ("call_me", "pending")]  # fmt: skip


def test_a_caller_who_hangs_up_in_the_ivr_without_a_request_is_no_virtual_caller() -> None:
    from .test_flow_ivr import messages_flow

    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "ivr_hangup"} and CALL not in f.core.calls
