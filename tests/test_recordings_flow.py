"""The call-flow core applies each queue's recording policy when the caller enters the
agent's bridge: pure, driven by hand (no socket, no clock)."""

from __future__ import annotations

import acd
from callcenter.flow import effects as fx
from callcenter.flow.inputs import OfferEnded, OfferResult, PbxEvent
from callcenter.storage.writes import RecordCallEvent
from callcenter.tracker import Bridged
from recordings import Legs, Mode, RecordingPolicy, sampled

from .flow_support import NODE, Flow
from .test_flow_core import arrive, offered, to_queue

CH = "PJSIP/trunk-00000001"


def bridged_call(policy: RecordingPolicy | None, uid: str = "1796.1") -> tuple[Flow, list]:
    """One call of queue support from arrival to the caller's BridgeEnter; its effects."""
    f = Flow()
    if policy is not None:
        f.core.recording = {"support": policy}
    f.login("7")
    call = f"{NODE}:{uid}"
    arrive(f, uid=uid)
    to_queue(f, call)
    f.feed(OfferEnded(call, offered(f).leg, OfferResult.ANSWERED))
    assert f.agent_state("7") is acd.AgentState.ON_CALL
    f.feed(PbxEvent(NODE, Bridged(uid, CH, uid, "b1", uid)))
    return f, f.sent(fx.StartRecording)


def skipped(f: Flow) -> list[dict]:
    return [e.data for e in f.writes(RecordCallEvent) if e.kind == "recording_skipped"]


def test_a_queue_without_a_policy_records_every_call_under_the_default_name() -> None:
    f, started = bridged_call(None)
    assert started == [fx.StartRecording(NODE, f"{NODE}:1796.1", CH, "1796.1",
                                         "hotline-pbx1-1796.1.wav", Legs.MIXED)]  # fmt: skip
    assert skipped(f) == []


def test_never_and_on_demand_start_nothing_and_say_why() -> None:
    for mode in (Mode.NEVER, Mode.ON_DEMAND):
        f, started = bridged_call(RecordingPolicy(mode=mode))
        assert started == []
        assert skipped(f) == [{"mode": mode.value}]


def test_the_template_legs_and_format_reach_the_mixmonitor() -> None:
    policy = RecordingPolicy(template="{date}_{queue}_{agent}_{call}", legs=Legs.SEPARATE,
                             format="gsm")  # fmt: skip
    f, started = bridged_call(policy)
    day = f.wall.date().isoformat()
    assert [(s.file_name, s.legs) for s in started] == [
        (f"{day}_support_7_pbx1_1796.1.gsm", Legs.SEPARATE)
    ]


def test_a_sample_records_exactly_the_calls_its_call_id_picks() -> None:
    policy = RecordingPolicy(mode=Mode.SAMPLE, sample_percent=40)
    picked = 0
    for n in range(1, 26):
        uid = f"1796.{n}"
        f, started = bridged_call(policy, uid)
        wanted = sampled(f"{NODE}:{uid}", 40)
        assert bool(started) is wanted and bool(skipped(f)) is not wanted, uid
        picked += wanted
    assert 0 < picked < 25


def test_a_reload_changes_the_policy_for_calls_bridged_later() -> None:
    f = Flow()
    f.core.reconfigure(f.acd.config, {}, f.at(), {"support": RecordingPolicy(mode=Mode.NEVER)})
    assert f.core.recording["support"].mode is Mode.NEVER
    f.core.reconfigure(f.acd.config, {}, f.at())
    assert f.core.recording["support"].mode is Mode.NEVER, "None keeps the policies"


def test_a_mute_asks_mixmonitormute_once_and_stores_the_silent_span() -> None:
    import datetime as dt

    from callcenter.flow.inputs import MuteRecording, RecordingMuted, RecordingStarted

    f, _ = bridged_call(None)
    call = f"{NODE}:1796.1"
    # no recording yet: nothing to mute, said in the log
    out = f.feed(MuteRecording(call, True, "agent:7"))
    assert f.sent(fx.SetRecordingMute, out) == [] and f.sent(fx.Log, out)
    t0 = f.wall
    f.feed(RecordingStarted(call, "/rec/a.wav", t0, "0x7f01"))
    out = f.feed(MuteRecording(call, True, "agent:7"))
    assert f.sent(fx.SetRecordingMute, out) == [
        fx.SetRecordingMute(NODE, call, CH, "0x7f01", True, "agent:7")
    ]
    assert f.feed(MuteRecording(call, True, "agent:7")) == [], "one MixMonitorMute at a time"
    f.feed(RecordingMuted(call, True, t0 + dt.timedelta(seconds=4), "agent:7"))
    assert f.feed(MuteRecording(call, True, "supervisor:2")) == [], "muted already"
    out = f.feed(MuteRecording(call, False, "supervisor:2"))
    assert [e.muted for e in f.sent(fx.SetRecordingMute, out)] == [False]
    f.feed(RecordingMuted(call, False, t0 + dt.timedelta(seconds=9.5), "supervisor:2"))
    rec = f.core.calls[call].recording
    assert rec is not None and rec.mutes == [(4.0, 9.5)] and not rec.muted
    events = [(e.kind, e.data) for e in f.writes(RecordCallEvent) if "muted" in e.kind]
    assert events == [("recording_muted", {"by": "agent:7", "offset_s": 4.0}),
                      ("recording_unmuted", {"by": "supervisor:2", "offset_s": 9.5})]  # fmt: skip


def test_the_row_gets_the_calls_facts_at_start_and_the_silences_at_the_end() -> None:
    import datetime as dt

    from callcenter.flow.inputs import MuteRecording, RecordingMuted, RecordingStarted
    from callcenter.storage.writes import RecordRecording
    from callcenter.tracker import ChannelHungUp, Unbridged

    policy = RecordingPolicy(format="gsm", retention_days=30)
    f, _ = bridged_call(policy)
    call = f"{NODE}:1796.1"
    t0 = f.wall
    f.feed(RecordingStarted(call, "/rec/a.gsm", t0, "0x1"))
    [row] = f.writes(RecordRecording)
    assert (row.queue, row.agent_id, row.caller_number, row.format) == ("support", 7,
                                                                        "0912000001", "gsm")  # fmt: skip
    assert row.retain_until == t0 + dt.timedelta(days=30) and row.customer_id is None
    f.feed(MuteRecording(call, True, "agent:7"))
    f.feed(RecordingMuted(call, True, t0 + dt.timedelta(seconds=2), "agent:7"))
    f.feed(PbxEvent(NODE, Unbridged("1796.1", CH, "1796.1", "b1")))
    out = f.feed(PbxEvent(NODE, ChannelHungUp("1796.1", CH, "1796.1", 16, "Normal Clearing")))
    [done] = f.sent(fx.FinishRecording, out)
    assert done.mute_intervals == ((2.0, None),), "still muted at the hangup: open"
    assert RecordingPolicy().retain_until(t0) is None


def test_on_demand_starts_only_when_asked_once_and_only_while_talking() -> None:
    from callcenter.flow.inputs import RecordOnDemand

    f, started = bridged_call(RecordingPolicy(mode=Mode.ON_DEMAND, template="od-{linkedid}"))
    call = f"{NODE}:1796.1"
    assert started == []
    out = f.feed(RecordOnDemand(call, "agent:7"))
    assert [s.file_name for s in f.sent(fx.StartRecording, out)] == ["od-1796.1.wav"]
    asked = [e.data for e in f.writes(RecordCallEvent) if e.kind == "recording_asked"]
    assert asked == [{"by": "agent:7"}]
    again = f.feed(RecordOnDemand(call, "agent:7"))
    assert f.sent(fx.StartRecording, again) == [] and f.sent(fx.Log, again)
    gone = f.feed(RecordOnDemand(f"{NODE}:404", "agent:7"))
    assert f.sent(fx.StartRecording, gone) == [] and f.sent(fx.Log, gone)


# -- the consent announcement (recordings rule 4) ----------------------------------------
CONSENT = "hotline/vi/recorded"


def consent_call(policy: RecordingPolicy, uid: str = "1796.1") -> Flow:
    """One call of queue support through the IVR, up to its consent prompt (if any)."""
    f = Flow()
    f.core.recording = {"support": policy}
    f.login("7")
    arrive(f, uid=uid)
    to_queue(f, f"{NODE}:{uid}")
    return f


def test_the_consent_prompt_plays_before_the_queue_so_before_the_recording() -> None:
    from callcenter.flow.inputs import AgiReplied

    f = consent_call(RecordingPolicy(consent_prompt=CONSENT))
    call = f.core.calls[f"{NODE}:1796.1"]
    assert call.pending is not None and call.pending.command == f'STREAM FILE {CONSENT} ""'
    assert f.sent(fx.Originate) == [], "offered before the announcement ended"
    f.feed(AgiReplied(call.call_id, call.pending.command_id, "200 result=0 endpos=16000"))
    consent = [e.data for e in f.writes(RecordCallEvent) if e.kind == "recording_consent"]
    assert consent == [{"prompt": CONSENT, "played": True}]
    orig = offered(f)
    f.feed(OfferEnded(call.call_id, orig.leg, OfferResult.ANSWERED))
    out = f.feed(PbxEvent(NODE, Bridged("1796.1", CH, "1796.1", "b1", "1796.1")))
    assert len(f.sent(fx.StartRecording, out)) == 1


def test_a_consent_prompt_that_failed_still_queues_the_caller_but_records_nothing() -> None:
    from callcenter.flow.inputs import AgiReplied, RecordOnDemand

    for mode in (Mode.ALWAYS, Mode.ON_DEMAND):
        f = consent_call(RecordingPolicy(mode=mode, consent_prompt=CONSENT))
        call = f.core.calls[f"{NODE}:1796.1"]
        assert call.pending is not None
        # a missing file: result=-1, AsyncAGI ends (13); the caller is queued all the same
        f.feed(AgiReplied(call.call_id, call.pending.command_id, "200 result=-1 endpos=0"))
        assert not call.in_agi
        consent = [e.data for e in f.writes(RecordCallEvent) if e.kind == "recording_consent"]
        assert consent == [{"prompt": CONSENT, "played": False}]
        f.feed(OfferEnded(call.call_id, offered(f).leg, OfferResult.ANSWERED))
        out = f.feed(PbxEvent(NODE, Bridged("1796.1", CH, "1796.1", "b1", "1796.1")))
        assert f.sent(fx.StartRecording, out) == []
        if mode is Mode.ALWAYS:
            assert skipped(f) == [{"mode": "always", "why": "no_consent"}]
        else:
            out = f.feed(RecordOnDemand(call.call_id, "agent:7"))
            assert f.sent(fx.StartRecording, out) == [] and f.sent(fx.Log, out)


def test_no_announcement_where_the_call_cannot_be_recorded() -> None:
    never = consent_call(RecordingPolicy(mode=Mode.NEVER, consent_prompt=CONSENT))
    assert len(never.sent(fx.Originate)) == 1, "never records: no announcement"
    unpicked = next(n for n in range(1, 50) if not sampled(f"{NODE}:1796.{n}", 30))
    policy = RecordingPolicy(mode=Mode.SAMPLE, sample_percent=30, consent_prompt=CONSENT)
    assert not policy.announces(f"{NODE}:1796.{unpicked}") and policy.announces(
        f"{NODE}:1796.{next(n for n in range(1, 50) if sampled(f'{NODE}:1796.{n}', 30))}")
    sample = consent_call(policy, uid=f"1796.{unpicked}")
    assert len(sample.sent(fx.Originate)) == 1, "a call the sample leaves out hears nothing"


def test_a_consent_prompt_must_be_a_sound_file_name() -> None:
    import pytest

    from recordings import PolicyError

    for bad in ("my prompt", "../../etc/passwd", '"x"', "a;b"):
        with pytest.raises(PolicyError, match="consent_prompt"):
            RecordingPolicy(consent_prompt=bad)
    assert RecordingPolicy(consent_prompt="custom/vi/recorded-2").consent_prompt
