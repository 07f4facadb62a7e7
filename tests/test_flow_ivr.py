"""The IVR's node types in the call-flow core, by hand: the CRM wait, masked entries in
every effect, the trail in the screen-pop and SQL, the survey after the agent left."""

from __future__ import annotations

import textwrap

from callcenter.ami.agi import AgiEnv
from callcenter.facts import RecordCallbackRequest, RecordCallEvent, RecordSurvey
from callcenter.flow import effects as fx
from callcenter.flow.inputs import (
    AccountLooked,
    AgiReplied,
    CardFound,
    OfferEnded,
    OfferResult,
    PbxEvent,
)
from callcenter.tracker import AgiStarted, Bridged, ChannelHungUp, Unbridged
from crm_bridge.card import CustomerCard
from ivr import parse_ivr

from .flow_support import CALL, CH, NODE, UID, Flow

CARD_NO = "4111111111111111"
FLOW = parse_ivr(
    textwrap.dedent(
        """\
        languages: [vi]
        default_language: vi
        start: tier
        fallback_queue: support
        prompts:
          card: hotline/vi/card
          csat: hotline/vi/survey-csat
        survey: {csat: csat}
        nodes:
          tier:
            type: condition
            branches: [{when: {tier: [gold]}, then: {goto: card}}]
            otherwise: {queue: support}
          card:
            type: input
            prompt: card
            variable: card
            min_digits: 16
            max_digits: 16
            luhn: true
            secret: true
            next: {queue: support}
        """
    ),
    queues={"support"},
)


def card(tier: str) -> CustomerCard:
    return CustomerCard(7, "Nguyễn Văn A", "AC-7", tier, ("0912000001",), ())


def flow() -> Flow:
    f = Flow()
    f.core.ivr = FLOW
    f.login("7")
    return f


def pending(f: Flow) -> str | None:
    call = f.core.calls[CALL]
    return call.pending.command if call.pending is not None else None


def reply(f: Flow, text: str) -> list:
    call = f.core.calls[CALL]
    assert call.pending is not None
    return f.feed(AgiReplied(CALL, call.pending.command_id, text))


def arrive(f: Flow) -> list:
    env = AgiEnv(channel=CH, uniqueid=UID, context="hotline-safe", callerid="0912000001")
    return f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, True)))


def test_a_tier_condition_waits_for_the_crm_then_masks_the_card_everywhere() -> None:
    f = flow()
    out = arrive(f)
    assert f.sent(fx.LookupCard, out) == [fx.LookupCard(CALL, "0912000001")]
    assert pending(f) == "SET VARIABLE CHANNEL(language) vi"
    reply(f, "200 result=1")
    assert pending(f) is None, "the condition waits for the CRM: nothing to send"
    f.feed(CardFound(CALL, card("gold")))
    assert pending(f) == "GET DATA hotline/vi/card 6000 16"
    reply(f, f"200 result={CARD_NO}")
    pop = next(p for p in f.sent(fx.Push) if p.message["type"] == "screen_pop")
    assert pop.message["ivr"]["path"] == "tier[0] > card(" + "x" * 16 + ")"
    assert pop.message["ivr"]["entries"] == {"card": "x" * 16}
    assert pop.message["ivr"]["selections"] == {"card": "x" * 16}
    [trail] = [w for w in f.writes(RecordCallEvent) if w.kind == "ivr_trail"]
    assert trail.data["end"] == "queue" and trail.data["variables"] == {"card": "x" * 16}
    assert CARD_NO not in repr(f.effects), "the card number left the IVR session"


def test_a_caller_the_crm_does_not_know_takes_otherwise() -> None:
    f = flow()
    arrive(f)
    reply(f, "200 result=1")
    f.feed(CardFound(CALL, None))
    assert f.core.calls[CALL].queue == "support"
    [trail] = [w for w in f.writes(RecordCallEvent) if w.kind == "ivr_trail"]
    assert trail.data["path"] == "tier[otherwise]"


def test_the_survey_runs_after_the_agent_left_and_its_answers_are_written() -> None:
    f = flow()
    arrive(f)
    reply(f, "200 result=1")
    f.feed(CardFound(CALL, card("standard")))  # otherwise: straight to the queue
    [orig] = f.sent(fx.Originate)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    f.tick(30)
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    env = AgiEnv(channel=CH, uniqueid=UID, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, False)))
    assert pending(f) == "GET DATA hotline/vi/survey-csat 6000 1"
    out = reply(f, "200 result=4")
    assert pending(f) == "HANGUP"
    [survey] = [w.row for w in f.sent(fx.Write, out) if isinstance(w.row, RecordSurvey)]
    assert (survey.queue, survey.agent_id, survey.csat, survey.nps) == ("support", 7, 4, None)
    assert f.sent(fx.CountSurvey, out) == [fx.CountSurvey("support", {"csat": 4})]
    reply(f, "200 result=1")
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "answered"}


def test_a_caller_who_hangs_up_before_answering_the_survey_leaves_no_answers() -> None:
    f = flow()
    arrive(f)
    reply(f, "200 result=1")
    f.feed(CardFound(CALL, None))
    [orig] = f.sent(fx.Originate)
    f.feed(OfferEnded(CALL, orig.leg, OfferResult.ANSWERED))
    f.feed(PbxEvent(NODE, Bridged(UID, CH, UID, "b1", UID)))
    f.feed(PbxEvent(NODE, Unbridged(UID, CH, UID, "b1")))
    env = AgiEnv(channel=CH, uniqueid=UID, context="after-call")
    f.feed(PbxEvent(NODE, AgiStarted(UID, CH, UID, env, False)))
    assert pending(f) == "GET DATA hotline/vi/survey-csat 6000 1"
    out = f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert not [w for w in f.sent(fx.Write, out) if isinstance(w.row, RecordSurvey)]
    assert f.outcomes() == {CALL: "answered"}


STAFFED = parse_ivr(
    textwrap.dedent(
        """\
        languages: [vi]
        default_language: vi
        start: staffed
        fallback_queue: support
        prompts: {closed: hotline/vi/closed}
        nodes:
          staffed:
            type: condition
            branches: [{when: {queue: support, ready_agents: 1}, then: {queue: support}}]
            otherwise: {goto: closed}
          closed: {type: hangup, prompt: closed, reason: nobody}
        """
    ),
    queues={"support"},
)


def test_a_condition_on_the_queue_reads_the_acds_ready_agents() -> None:
    f = Flow()
    f.core.ivr = STAFFED
    arrive(f)  # nobody logged in: the caller hears the closed message
    reply(f, "200 result=1")
    assert pending(f) == 'STREAM FILE hotline/vi/closed ""'
    f = Flow()
    f.core.ivr = STAFFED
    f.login("7")  # one agent ready: the caller is queued and offered at once
    arrive(f)
    reply(f, "200 result=1")
    assert f.core.calls[CALL].queue == "support" and f.sent(fx.Originate)


BY_ACCOUNT = parse_ivr(
    textwrap.dedent(
        """\
        languages: [vi]
        default_language: vi
        start: account
        fallback_queue: support
        prompts: {account: hotline/vi/account, sorry: hotline/vi/closed}
        nodes:
          account:
            type: input
            prompt: account
            variable: account
            max_digits: 10
            secret: true
            next: {goto: find}
          find:
            type: lookup
            account: account
            found: {queue: support}
            not_found: {queue: support}
            timed_out: {goto: sorry}
          sorry: {type: hangup, prompt: sorry, reason: crm-down}
        """
    ),
    queues={"support"},
)


def by_account(card_found: CustomerCard | None, timed_out: bool = False) -> Flow:
    f = Flow()
    f.core.ivr = BY_ACCOUNT
    arrive(f)
    f.feed(CardFound(CALL, None))  # the number: nobody
    reply(f, "200 result=1")
    out = reply(f, "200 result=1234567890")
    [ask] = f.sent(fx.LookupCardByAccount, out)
    assert (ask.call_id, ask.account, ask.timeout_s) == (CALL, "1234567890", 2.0)
    f.feed(AccountLooked(CALL, card_found, timed_out))
    return f


def test_a_customer_found_by_account_is_the_calls_card() -> None:
    f = by_account(card("gold"))
    call = f.core.calls[CALL]
    assert call.card is not None and call.card.customer_id == 7 and call.queue == "support"
    assert "1234567890" not in repr(f.effects), "a secret account number in an effect's repr"


def test_a_crm_that_does_not_answer_in_time_takes_timed_out() -> None:
    f = by_account(None, timed_out=True)
    assert pending(f) == 'STREAM FILE hotline/vi/closed ""'
    reply(f, "200 result=0 endpos=8000")
    assert pending(f) == "HANGUP"
    [trail] = [w for w in f.writes(RecordCallEvent) if w.kind == "ivr_trail"]
    assert trail.data["path"] == "account(xxxxxxxxxx) > find(timed_out) > sorry"
    assert trail.data["end"] == "hangup"


def test_a_transfer_redirects_the_caller_and_its_hangup_is_ivr_hangup() -> None:
    f = Flow()
    f.core.ivr = parse_ivr(
        "languages: [vi]\ndefault_language: vi\nstart: out\nfallback_queue: support\n"
        "prompts: {p: x}\nnodes: {out: {type: transfer, to: '200', context: transfer-target}}\n",
        queues={"support"},
    )
    out = arrive(f)
    assert f.sent(fx.RedirectCall, out) == [
        fx.RedirectCall(NODE, CALL, CH, "transfer-target", "200")
    ]
    reply(f, "200 result=1")  # the language, sent before the session ended
    assert pending(f) is None, "nothing more is sent to a transferred caller"
    [event] = [w for w in f.writes(RecordCallEvent) if w.kind == "transferred"]
    assert event.data == {"context": "transfer-target", "exten": "200"}
    [trail] = [w for w in f.writes(RecordCallEvent) if w.kind == "ivr_trail"]
    assert trail.data["end"] == "transfer"
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "ivr_hangup"}


MESSAGES = parse_ivr(
    textwrap.dedent(
        """\
        name: care
        languages: [vi]
        default_language: vi
        start: main
        fallback_queue: support
        prompts:
          menu: hotline/vi/menu
          leave: hotline/vi/leave-message
        nodes:
          main:
            prompt: menu
            options:
              1: {goto: message}
              2: {goto: call_me}
          message:
            type: voicemail
            prompt: leave
            max_s: 60
            silence_s: 4
            queue: support
            next: {hangup: done}
          call_me: {type: callback, queue: support, next: {hangup: done}}
        """
    ),
    queues={"support"},
)


def messages_flow() -> Flow:
    f = Flow()
    f.core.ivr = MESSAGES
    f.core.voicemail_dir = "/var/spool/asterisk/voicemail/hotline"
    return f


def test_a_voicemail_is_recorded_by_record_file_then_saved_by_the_shell() -> None:
    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")  # the language
    assert pending(f) == "GET DATA hotline/vi/menu 5000 1"
    reply(f, "200 result=1")
    f.feed(CardFound(CALL, None))  # the CRM does not know the caller
    assert pending(f) == 'STREAM FILE hotline/vi/leave-message ""'
    reply(f, "200 result=0 endpos=12000")
    path = f"/var/spool/asterisk/voicemail/hotline/{NODE}-{UID}-message-"
    command = pending(f)
    assert command is not None and command.startswith(f"RECORD FILE {path}")
    assert command.endswith(' wav "#" 60000 0 BEEP s=4')
    file = command.split()[2] + ".wav"
    out = reply(f, "200 result=35 (dtmf) endpos=40000")  # the caller pressed '#'
    [event] = [w for w in f.writes(RecordCallEvent) if w.kind == "voicemail"]
    assert event.data == {"node": "message", "file": file,
                          "reply": "200 result=35 (dtmf) endpos=40000"}  # fmt: skip
    assert f.sent(fx.SaveVoicemail, out) == [
        fx.SaveVoicemail(
            CALL, f.wall, file, "wav", "care", "message", "support", "0912000001", None
        )  # fmt: skip
    ]
    assert pending(f) == "HANGUP"
    [trail] = [w for w in f.writes(RecordCallEvent) if w.kind == "ivr_trail"]
    assert trail.data["path"] == "main(1) > message(#)" and trail.data["end"] == "hangup"


def test_a_caller_who_hangs_up_while_recording_still_gets_the_message_saved() -> None:
    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")
    reply(f, "200 result=1")
    f.feed(CardFound(CALL, None))
    reply(f, "200 result=0 endpos=12000")
    # res_agi: a hang-up during RECORD FILE answers -1 (hangup) and keeps the file
    out = reply(f, "200 result=-1 (hangup) endpos=24000")
    assert len(f.sent(fx.SaveVoicemail, out)) == 1
    # the reply alone does not tell a hang-up from a file Asterisk could not write: the
    # session goes on (its trail says failed), and the Hangup ends the call
    assert pending(f) == "HANGUP"
    f.feed(PbxEvent(NODE, ChannelHungUp(UID, CH, UID, 16, "Normal Clearing")))
    assert f.outcomes() == {CALL: "ivr_hangup"}
    [trail] = [w for w in f.writes(RecordCallEvent) if w.kind == "ivr_trail"]
    assert trail.data["path"] == "main(1) > message(failed)"


def test_a_callback_request_is_written_pending_with_its_event_and_count() -> None:
    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")
    reply(f, "200 result=2")
    out = f.feed(CardFound(CALL, None))  # the CRM does not know the caller
    [request] = f.writes(RecordCallbackRequest)
    assert request == RecordCallbackRequest(CALL, f.wall, "0912000001", "support", "care",
                                            "call_me", own_number=True)  # fmt: skip
    [event] = [w for w in f.writes(RecordCallEvent) if w.kind == "callback_requested"]
    assert event.data == {"node": "call_me", "queue": "support", "own_number": True}
    assert fx.CountIvr("call_me", "callback", "care") in out
    assert pending(f) == "HANGUP"


def test_a_callback_request_made_before_the_crm_answered_carries_the_customer() -> None:
    # regression (seen over pbxsim under load): the request was written with no customer
    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")
    reply(f, "200 result=2")
    assert f.writes(RecordCallbackRequest) == [], "it waits for the lookup"
    f.feed(CardFound(CALL, card("gold")))
    [request] = f.writes(RecordCallbackRequest)
    assert request.customer_id == 7


def test_a_voicemail_recorded_once_the_crm_answered_carries_the_customer() -> None:
    f = messages_flow()
    arrive(f)
    reply(f, "200 result=1")
    reply(f, "200 result=1")
    assert pending(f) is None, "the voicemail waits for the lookup"
    f.feed(CardFound(CALL, card("gold")))
    reply(f, "200 result=0 endpos=12000")
    out = reply(f, "200 result=0 (timeout) endpos=480000")
    [save] = f.sent(fx.SaveVoicemail, out)
    assert save.customer_id == 7
