"""The recording policy core: when a call is recorded, its file name and its MixMonitor
options, decided with no I/O; and the config's recording section, each bad value named
at its file:line."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from callcenter.config import load_config
from recordings import (
    DEFAULT_POLICY,
    OPTIONS,
    Legs,
    Mode,
    PolicyError,
    RecordingPolicy,
    file_name,
    mixmonitor_options,
    sampled,
)
from recordings.policy import check_template, leg_files

from .test_config import GOOD, problems_of, write


def test_a_file_name_is_node_and_linkedid_with_every_other_character_replaced() -> None:
    assert file_name("pbx1", "1796336399.43") == "hotline-pbx1-1796336399.43.wav"
    assert file_name("a b;$(rm)", "1.2/../x") == "hotline-a_b___rm_-1.2_.._x.wav"


def test_the_mixmonitor_options_name_the_id_and_record_outside_the_bridge_too() -> None:
    # no b: an IVR visit mid-call is recorded (and a sensitive node muted in it)
    assert "b" not in OPTIONS.split("(")[0] and "i(MIXMON_ID)" in OPTIONS
    assert mixmonitor_options("/m/x.wav") == OPTIONS


def test_separate_legs_add_an_in_and_an_out_file_beside_the_mixed_one() -> None:
    assert leg_files("/m/hotline-pbx1-1.2.wav") == ("/m/hotline-pbx1-1.2-in.wav",
                                                     "/m/hotline-pbx1-1.2-out.wav")  # fmt: skip
    assert (
        mixmonitor_options("/m/a.gsm", Legs.SEPARATE)
        == "i(MIXMON_ID)r(/m/a-in.gsm)t(/m/a-out.gsm)"
    )
    with pytest.raises(PolicyError, match="cannot carry"):
        mixmonitor_options("/m(1)/a.wav", Legs.SEPARATE)


def test_the_template_fills_call_date_queue_and_agent_and_nothing_unsafe_gets_through() -> None:
    policy = RecordingPolicy(template="{date}/{queue}-{agent}-{call}", format="gsm")
    name = policy.file_name(node="pbx1", linkedid="17.4", call_id="pbx1:17.4", queue="billing",
                            agent="7", day=dt.date(2026, 12, 4))  # fmt: skip
    assert name == "2026-12-04_billing-7-pbx1_17.4.gsm"
    evil = RecordingPolicy(template="{agent}-{linkedid}")
    assert evil.file_name(node="n", linkedid="1.2", agent="$(rm -rf /)") == "__rm_-rf___-1.2.wav"
    assert policy.file_name(node="n", linkedid="1.2") == "1970-01-01_none-none-n_1.2.gsm"


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{queue}-{date}", "needs {linkedid} or {call}"),
        ("{caller}-{linkedid}", "unknown field {caller}"),
        ("{linkedid:>10}", "takes no format spec"),
        ("{linkedid!r}", "takes no format spec"),
        ("{linkedid", "bad file-name template"),
    ],
)
def test_a_bad_template_is_refused(template: str, error: str) -> None:
    with pytest.raises(PolicyError, match=error.replace("{", r"\{").replace("}", r"\}")):
        check_template(template)


def test_bad_policy_values_are_refused() -> None:
    with pytest.raises(PolicyError, match="within 0-100"):
        RecordingPolicy(mode=Mode.SAMPLE, sample_percent=101)
    with pytest.raises(PolicyError, match="format 'mp3'"):
        RecordingPolicy(format="mp3")


def test_each_mode_decides_at_the_bridge() -> None:
    ids = [f"pbx1:1796336399.{n}" for n in range(200)]
    assert all(DEFAULT_POLICY.records_at_bridge(i) for i in ids)
    assert not any(RecordingPolicy(mode=Mode.NEVER).records_at_bridge(i) for i in ids)
    assert not any(RecordingPolicy(mode=Mode.ON_DEMAND).records_at_bridge(i) for i in ids)
    half = RecordingPolicy(mode=Mode.SAMPLE, sample_percent=50)
    picked = [i for i in ids if half.records_at_bridge(i)]
    assert picked == [i for i in ids if half.records_at_bridge(i)], "not reproducible"
    assert 0 < len(picked) < len(ids)


@pytest.mark.parametrize("percent", [0, 1, 10, 25, 50, 90, 100])
def test_a_sample_takes_the_configured_share_of_call_ids(percent: float) -> None:
    ids = [f"pbx{n % 3}:{1796336399 + n // 7}.{n}" for n in range(20_000)]
    share = 100 * sum(sampled(i, percent) for i in ids) / len(ids)
    # binomial sd at 20,000 calls is at most 0.35 points: 1.5 points is over 4 sd
    assert abs(share - percent) < 1.5, share
    if percent in (0, 100):
        assert share == percent


def test_the_sample_config_records_every_call_of_its_queue() -> None:
    cfg = load_config(Path(__file__).resolve().parents[1] / "config" / "hotline.yaml")
    assert cfg.recording_policies() == {"support": DEFAULT_POLICY}


def test_a_queue_recording_section_reaches_the_policy(tmp_path: Path) -> None:
    text = GOOD.replace("    offer_timeout_s: 15\n", """    offer_timeout_s: 15
    recording:
      mode: sample
      sample_percent: 30
      legs: separate
      file_name: "{date}-{queue}-{agent}-{linkedid}"
      format: gsm
      agent_may_listen: true
      retention_days: 90
      consent_prompt: hotline/vi/recorded
""")  # fmt: skip
    cfg = load_config(write(tmp_path, text), environ={})
    assert cfg.recording_policies() == {
        "support": RecordingPolicy(Mode.SAMPLE, 30.0, Legs.SEPARATE,
                                   "{date}-{queue}-{agent}-{linkedid}", "gsm", True, 90,
                                   "hotline/vi/recorded"),
        "billing": DEFAULT_POLICY,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "mode: sometimes",
            "13: queues.0.recording.mode: expected 'always', 'never', 'sample' or 'on-demand'",
        ),
        (
            "mode: sample",
            "13: queues.0.recording.sample_percent: mode sample needs sample_percent (0-100)",
        ),
        (
            "{mode: sample, sample_percent: 120}",
            "13: queues.0.recording.sample_percent: must be at most 100",
        ),
        (
            "{mode: sample, sample_percent: '5'}",
            "13: queues.0.recording.sample_percent: expected a number",
        ),
        (
            "{mode: always, sample_percent: 5}",
            "13: queues.0.recording.sample_percent:"
            " sample_percent is only read with mode sample"
            " (not always)",
        ),
        ("legs: both", "13: queues.0.recording.legs: expected 'mixed' or 'separate'"),
        ("format: mp3", "13: queues.0.recording.format: expected 'wav' or 'gsm'"),
        (
            "file_name: '{queue}'",
            "13: queues.0.recording.file_name: a file-name template needs"
            " {linkedid} or {call}: two calls would share a file",
        ),
        (
            "file_name: '{who}-{call}'",
            "13: queues.0.recording.file_name: unknown field {who} in file-name template",
        ),
        (
            "agent_may_listen: 'yes'",
            "13: queues.0.recording.agent_may_listen: expected true or false",
        ),
        ("when: always", "13: queues.0.recording.when: unknown key"),
        ("retention_days: 0", "13: queues.0.recording.retention_days: must be at least 1"),
        ("retention_days: 1.5", "13: queues.0.recording.retention_days: expected a whole number"),
        (
            "consent_prompt: 'this call is recorded'",
            "13: queues.0.recording.consent_prompt: consent_prompt 'this call is recorded' is"
            " not a sound file name",
        ),
        ("consent_prompt: ''", "13: queues.0.recording.consent_prompt:"),
    ],
)
def test_each_bad_recording_value_is_refused_at_its_line(
    tmp_path: Path, section: str, expected: str
) -> None:
    key, _, value = section.partition(": ") if not section.startswith("{") else ("", "", section)
    body = f"{{{key}: {value}}}" if key else section
    text = GOOD.replace(
        "    offer_timeout_s: 15\n", f"    offer_timeout_s: 15\n    recording: {body}\n"
    )
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith(f"hotline.yaml:{expected}"), problems


def test_file_facts_of_a_wav_and_of_raw_gsm(tmp_path: Path) -> None:
    import hashlib
    import wave

    from recordings import file_facts

    with wave.open(str(tmp_path / "a.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(2 * 12000))
    size, sha, duration = file_facts(tmp_path / "a.wav")
    assert (size, duration) == (24044, 1.5)
    assert sha == hashlib.sha256((tmp_path / "a.wav").read_bytes()).hexdigest()
    (tmp_path / "b.gsm").write_bytes(bytes(33 * 150))  # 150 frames of 20 ms
    assert file_facts(tmp_path / "b.gsm")[2] == 3.0
    (tmp_path / "c.wav").write_bytes(b"not a wav")
    assert file_facts(tmp_path / "c.wav")[2] is None
