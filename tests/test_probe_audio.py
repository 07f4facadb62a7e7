"""The probe's pure parts: levels, tones, the agent rule, reports, metrics."""

from __future__ import annotations

import math
import random
from array import array

import pytest

from callcenter.probe.audio import (
    RATE,
    AgentRule,
    AgentWatch,
    Ear,
    dominant_hz,
    rms,
    tone_share,
)
from callcenter.probe.metrics import ProbeMetrics
from callcenter.probe.report import CallReport, percentile, summarize, summary_line


def sine(hz: float, seconds: float, amplitude: float = 9000.0) -> array[int]:
    n = int(seconds * RATE)
    return array("h", (int(amplitude * math.sin(2 * math.pi * hz * i / RATE)) for i in range(n)))


def noise(seconds: float, amplitude: int = 3000, seed: int = 1) -> array[int]:
    rng = random.Random(seed)
    return array("h", (rng.randint(-amplitude, amplitude) for _ in range(int(seconds * RATE))))


def test_rms_of_a_sine_is_amplitude_over_root_two() -> None:
    assert rms(sine(620, 1.0)) == pytest.approx(9000 / math.sqrt(2), rel=0.01)
    assert rms(array("h", [0] * 800)) == 0.0
    assert rms([]) == 0.0


def test_tone_share_picks_the_tone_out() -> None:
    assert tone_share(sine(620, 0.1), 620) > 0.95
    assert tone_share(sine(620, 0.1), 1000) < 0.05
    assert tone_share(noise(0.1), 620) < 0.1
    assert tone_share(array("h", [0] * 800), 620) == 0.0


@pytest.mark.parametrize("hz", [350, 440, 620, 1000, 2400])
def test_dominant_hz_finds_a_tone_after_silence(hz: int) -> None:
    heard = array("h", [0] * RATE) + sine(hz, 1.5)
    assert dominant_hz(heard) == hz


def test_dominant_hz_is_none_for_noise_and_silence() -> None:
    assert dominant_hz(noise(1.0)) is None
    assert dominant_hz(array("h", [3] * RATE)) is None


def feed(ear: Ear, samples: array[int], start: float) -> float:
    """Feed in 100 ms chunks as the pjsua2 thread does; returns the end time."""
    t = start
    for i in range(0, len(samples), 800):
        chunk = samples[i : i + 800]
        t += len(chunk) / RATE
        ear.feed(t, chunk.tobytes())
    return t


def test_agent_heard_when_level_rises_over_the_hold_music() -> None:
    ear = Ear()
    t = feed(ear, noise(2.0, amplitude=1500), start=100.0)  # hold music, RMS ~870
    hold = ear.level_before(1.0)
    found: list[float] = []
    ear.watch = AgentWatch(AgentRule(), hold, found.append)
    assert ear.watch.threshold == pytest.approx(2 * hold)
    t = feed(ear, noise(1.0, amplitude=1500, seed=2), start=t)  # still hold: nothing
    assert found == []
    agent_at = t
    feed(ear, sine(620, 1.0, amplitude=9000), start=t)
    assert found == [pytest.approx(agent_at)]  # the first of three windows


def test_agent_rule_with_hz_ignores_loud_audio_of_another_tone() -> None:
    ear = Ear()
    found: list[float] = []
    ear.watch = AgentWatch(AgentRule(hz=620), 0.0, found.append)
    t = feed(ear, sine(1000, 1.0), start=0.0)
    assert found == [] and ear.watch.loudest > 6000
    feed(ear, sine(620, 0.35), start=t)
    assert found == [pytest.approx(t)]


def test_agent_rule_needs_three_windows_in_a_row() -> None:
    ear = Ear()
    found: list[float] = []
    ear.watch = AgentWatch(AgentRule(), 0.0, found.append)
    burst = sine(620, 0.2) + array("h", [0] * 800)
    t = feed(ear, burst + burst, start=0.0)
    assert found == []
    feed(ear, sine(620, 0.3), start=t)
    assert found == [pytest.approx(t)]


def test_ear_segments_and_overall() -> None:
    ear = Ear()
    feed(ear, array("h", [0] * 4000), 0.0)
    mark = ear.mark()
    feed(ear, sine(620, 1.0), 0.5)
    segment = ear.segment(2, "wait 1", mark)
    assert (segment.step, segment.label, segment.seconds, segment.hz) == (2, "wait 1", 1.0, 620)
    assert segment.as_json()["rms"] == pytest.approx(6364, rel=0.01)
    level, hz = ear.overall()
    assert hz == 620 and 4000 < level < 6000


def report(n: int, result: str, code: int | None, answer: float | None = None) -> CallReport:
    r = CallReport(call=n, uri="sip:1@h", started_at=1000.0 + n, result=result, code=code)
    r.answered = answer is not None
    r.time_to_answer = answer
    r.time_to_agent = None if answer is None else answer + 1
    r.rms = 0.0 if answer is None else 8000.0
    return r


def test_summary_counts_codes_and_percentiles() -> None:
    reports = [
        report(1, "success", 200, 1.0),
        report(2, "success", 200, 3.0),
        report(3, "success", 200, 2.0),
        report(4, "unanswered", 486),
        report(5, "unanswered", 408),
        report(6, "error", None),
    ]
    summary = summarize(reports)
    assert summary == {
        "type": "summary",
        "calls": 6,
        "answered": 3,
        "failed": 3,
        "results": {"success": 3, "unanswered": 2, "error": 1},
        "codes": {"200": 3, "408": 1, "486": 1},
        "time_to_answer_p50": 2.0,
        "time_to_answer_p95": 3.0,
        "time_to_agent_p50": 3.0,
        "time_to_agent_p95": 4.0,
        "audio_rms_p50": 8000.0,
    }
    assert summary_line(summary).startswith("6 calls: 3 answered, 3 failed; SIP codes 200x3")
    assert percentile([], 50) is None


def test_call_report_json_shape() -> None:
    r = report(7, "unanswered", 486)
    r.reason, r.failure = "Busy Here", "486 Busy Here"
    assert r.as_json() == {
        "type": "call",
        "call": 7,
        "uri": "sip:1@h",
        "started_at": 1007.0,
        "result": "unanswered",
        "answered": False,
        "code": 486,
        "reason": "Busy Here",
        "time_to_answer": None,
        "time_to_agent": None,
        "digits_sent": "",
        "digits_accepted": "",
        "audio": {"heard": False, "rms": 0.0, "hz": None, "segments": []},
        "failure": "486 Busy Here",
        "duration": 0.0,
    }
    assert r.line() == "call 7: unanswered 486 Busy Here (486 Busy Here)"


def test_metrics_count_results_codes_and_times() -> None:
    metrics = ProbeMetrics()
    for r in (
        report(1, "success", 200, 1.5),
        report(2, "unanswered", 486),
        report(3, "error", None),
    ):
        metrics.record(r)
    text = metrics.render().decode()
    assert 'hotline_probe_calls_total{result="success"} 1.0' in text
    assert 'hotline_probe_calls_total{result="unanswered"} 1.0' in text
    assert 'hotline_probe_calls_total{result="no_agent"} 0.0' in text
    assert 'hotline_probe_sip_code_total{code="486"} 1.0' in text
    assert 'hotline_probe_sip_code_total{code="none"} 1.0' in text
    assert "hotline_probe_time_to_answer_seconds_count 1.0" in text
    assert "hotline_probe_time_to_agent_seconds_sum 2.5" in text
    assert "hotline_probe_audio_rms 8000.0" in text
    assert "hotline_probe_last_success_timestamp_seconds 1001.0" in text


def test_agent_rule_with_hz_ignores_the_hold_level() -> None:
    ear = Ear()
    t = feed(ear, noise(1.0, amplitude=12000), start=0.0)  # loud hold music
    found: list[float] = []
    ear.watch = AgentWatch(AgentRule(hz=620), ear.level_before(1.0), found.append)
    assert ear.watch.threshold == 200.0
    feed(ear, sine(620, 0.5, amplitude=2000), start=t)  # a quieter bridge
    assert found == [pytest.approx(t)]
