"""Recording policy end to end: pbxsim over real TCP AMI, the controller, a real database.

A queue that samples half its calls with separate legs: exactly the calls whose id the
policy picks are recorded (the others get a ``recording_skipped`` event), each file is a
valid WAV whose size, SHA-256 and duration match its row, and the ``-in`` and ``-out``
files lie beside it.
"""

from __future__ import annotations

import math
import wave
from array import array
from pathlib import Path

from sqlalchemy import select

from callcenter.storage.models import CallEvent
from recordings import sampled
from recordings.policy import leg_files

from .e2e_support import check_recordings, drain, hotline_rig, scenario, sql_facts, wait_until

CALLS = 16
SAMPLE = """    hold_slice_s: 3
    recording:
      mode: sample
      sample_percent: 50
      legs: separate
      file_name: "{date}-{queue}-agent{agent}-{linkedid}"
      retention_days: 30
"""


def frames(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return array("h", w.readframes(w.getnframes()))


async def test_a_sampled_queue_records_the_calls_its_policy_picks_with_both_legs(tmp_path, db_url):
    def world(numbers: list[str]) -> dict:
        calls = [{"at": 1 + i, "number": numbers[i % len(numbers)]} for i in range(CALLS)]
        return scenario(numbers, arrivals={"kind": "trace", "calls": calls},
                        callers={"patience": [300, 300]})  # fmt: skip

    def edit(text: str) -> str:
        assert text.count("    hold_slice_s: 3\n") == 1
        return text.replace("    hold_slice_s: 3\n", SAMPLE)

    async with hotline_rig(tmp_path, db_url, world, agents=4, edit_config=edit) as rig:
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= CALLS, 180, "every call to end")
        await drain(rig)
        facts = await sql_facts(rig)
        async with rig.hotline.store.sessions() as s:
            skipped = {
                e.call_id: e.data
                for e in await s.scalars(
                    select(CallEvent).where(CallEvent.kind == "recording_skipped")
                )
            }
    answered = {c.id: c for c in facts["calls"] if c.outcome == "answered"}
    assert len(answered) >= CALLS // 2, f"only {len(answered)} answered"
    picked = {i for i in answered if sampled(i, 50)}
    recorded = {r.call_id for r in facts["recordings"]}
    assert recorded == picked, (sorted(recorded), sorted(picked))
    assert set(skipped) == set(answered) - picked
    assert all(d == {"mode": "sample"} for d in skipped.values())
    assert check_recordings(rig, facts["recordings"]) == len(picked)
    base = Path(rig.hotline.config.recordings_read_dir)
    for r in facts["recordings"]:
        call = answered[r.call_id]
        linkedid = r.call_id.split(":", 1)[1]
        day = r.started_at.date().isoformat()
        assert Path(r.path).name == f"{day}-support-agent{call.agent_id}-{linkedid}.wav"
        # the metadata is the call's: queue, agent, caller, customer, format, retention
        assert (r.queue, r.agent_id, r.caller_number, r.customer_id, r.format) == (
            "support", call.agent_id, call.caller_number, call.customer_id, "wav")  # fmt: skip
        assert r.retain_until is not None and r.started_at is not None
        assert abs((r.retain_until - r.started_at).total_seconds() - 30 * 86400) < 1
        assert r.mute_intervals is None and not r.legal_hold and r.deleted_at is None
        mixed = frames(base / Path(r.path).name)
        inbound, outbound = (frames(base / Path(p).name) for p in leg_files(r.path))
        # pbxsim sums the two directions: the mixed file is in + out (each truncated to int)
        assert len(inbound) == len(outbound) == len(mixed) > 0
        assert any(inbound) and any(outbound)
        assert all(abs(m - i - o) <= 1 for m, i, o in zip(mixed, inbound, outbound, strict=True))


def rms(samples: array[int], start_s: float, end_s: float) -> float:
    part = samples[max(0, int(start_s * 8000)) : int(end_s * 8000)]
    assert len(part) > 800, (start_s, end_s, len(samples))
    return math.sqrt(sum(x * x for x in part) / len(part))


async def test_a_muted_span_is_silence_in_the_file(tmp_path, db_url):
    # The agent mutes the recording through the controller (as the API does), pbxsim
    # runs on for 4 simulated seconds, the agent unmutes: the stored span is silent.
    scale = 4.0

    def world(numbers: list[str]) -> dict:
        return scenario(numbers, arrivals={"kind": "trace", "calls": [{"at": 1, "number": numbers[0]}]},
                        agents={"default": {"answer_delay": [1, 1], "talk_time": [16, 16],
                                            "agent_hangs_up_probability": 1.0}})  # fmt: skip

    async with hotline_rig(tmp_path, db_url, world, agents=1, time_scale=scale) as rig:
        ctl, sim = rig.ctl, rig.sim.world

        def live():  # type: ignore[no-untyped-def]
            return next((c for c in ctl.calls.values() if c.recording is not None), None)

        await wait_until(lambda: live() is not None, 60, "a recording to run")
        call = live()
        t = sim.now()
        await wait_until(lambda: sim.now() >= t + 2, 10, "2 s of talk recorded")
        assert ctl.mute_recording(call.call_id, True, "agent:1")
        await wait_until(lambda: call.recording.muted, 10, "the mute to take")
        t = sim.now()
        await wait_until(lambda: sim.now() >= t + 4, 10, "4 s muted")
        assert ctl.mute_recording(call.call_id, False, "agent:1")
        await wait_until(lambda: not call.recording.muted, 10, "the unmute to take")
        [(start, end)] = call.recording.mutes
        await drain(rig)
        facts = await sql_facts(rig)
    [row] = facts["recordings"]
    assert check_recordings(rig, [row]) == 1
    assert row.mute_intervals == [[start, end]], "the silent span is in the row"
    assert row.retain_until is None, "no retention_days: kept"
    samples = frames(Path(rig.hotline.config.recordings_read_dir) / Path(row.path).name)
    assert end is not None and (end - start) * scale > 3
    # wall seconds from the recording's start -> the file's (simulated) seconds; 0.4 s
    # of margin for the moments between the controller's clock and pbxsim's
    a, b = start * scale, end * scale
    assert rms(samples, a + 0.4, b - 0.4) == 0.0, "audio in the muted span"
    assert rms(samples, 0.2, a - 0.4) > 1000, "no audio before the mute"
    assert rms(samples, b + 0.4, b + 1.4) > 1000, "no audio after the unmute"
    async with rig.hotline.store.sessions() as s:
        kinds = [e.kind for e in await s.scalars(select(CallEvent).order_by(CallEvent.at))
                 if "muted" in e.kind]  # fmt: skip
    assert kinds == ["recording_muted", "recording_unmuted"]


async def test_an_on_demand_queue_records_only_the_call_its_agent_asked_for(tmp_path, db_url):
    def world(numbers: list[str]) -> dict:
        calls = [{"at": 1, "number": numbers[0]}, {"at": 2, "number": numbers[1]}]
        return scenario(numbers, arrivals={"kind": "trace", "calls": calls},
                        agents={"default": {"answer_delay": [1, 1], "talk_time": [12, 12],
                                            "agent_hangs_up_probability": 1.0}})  # fmt: skip

    def edit(text: str) -> str:
        return text.replace("    hold_slice_s: 3\n",
                            "    hold_slice_s: 3\n    recording: {mode: on-demand}\n")  # fmt: skip

    async with hotline_rig(tmp_path, db_url, world, agents=2, edit_config=edit) as rig:
        ctl = rig.ctl

        def talking():  # type: ignore[no-untyped-def]
            return [c for c in ctl.calls.values() if c.connected() and c.bridged]

        await wait_until(lambda: len(talking()) == 2, 60, "both calls talking")
        asked = talking()[0].call_id
        assert all(c.recording is None for c in talking()), "on-demand started by itself"
        assert ctl.record_on_demand(asked, "agent:1")
        assert not ctl.record_on_demand(asked, "agent:1"), "a second start"
        await wait_until(lambda: ctl.calls[asked].recording is not None, 20, "the MixMonitor")
        await drain(rig)
        facts = await sql_facts(rig)
    assert [r.call_id for r in facts["recordings"]] == [asked]
    assert check_recordings(rig, facts["recordings"]) == 1


async def test_the_consent_prompt_plays_before_the_recording_and_without_it_none_starts(
    tmp_path, db_url
):
    # The queue's policy has a consent prompt: the first caller hears it between the IVR
    # and the queue, then talks, recorded; the PBX then loses the file (STREAM FILE -1:
    # 13) and the second caller is queued and answered all the same, but not recorded.
    consent = "hotline/vi/recorded"

    def world(numbers: list[str]) -> dict:
        w = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0},
                     agents={"default": {"answer_delay": [1, 1], "talk_time": [4, 4],
                                         "agent_hangs_up_probability": 1.0}})  # fmt: skip
        w["prompts"] = {**w["prompts"], consent: 2.0}
        return w

    def edit(text: str) -> str:
        return text.replace("    hold_slice_s: 3\n", "    hold_slice_s: 3\n    recording: "
                            f"{{consent_prompt: {consent}}}\n")  # fmt: skip

    async with hotline_rig(tmp_path, db_url, world, agents=2, edit_config=edit) as rig:
        ctl, population = rig.ctl, rig.sim.world.population
        population.arrive(rig.numbers[0], patience=300)
        await wait_until(lambda: any(c.recording is not None for c in ctl.calls.values()), 60,
                         "the first call's recording")  # fmt: skip
        rig.sim.world.prompts.extra.pop(consent)
        population.arrive(rig.numbers[1], patience=300)
        await wait_until(lambda: ctl.counters["outcomes"] >= 2, 120, "both calls to end")
        await drain(rig)
        facts = await sql_facts(rig)
        async with rig.hotline.store.sessions() as s:
            events = [(e.call_id, e.at, e.kind, e.data) for e in await s.scalars(
                select(CallEvent).order_by(CallEvent.at)) if e.kind in (
                    "recording_consent", "recording_skipped", "queued")]  # fmt: skip
    first, second = (c.id for c in sorted(facts["calls"], key=lambda c: c.started_at))
    assert {c.id: c.outcome for c in facts["calls"]} == {first: "answered", second: "answered"}
    [row] = facts["recordings"]
    assert row.call_id == first and check_recordings(rig, [row]) == 1
    [(heard_at, heard)] = [(at, d) for c, at, k, d in events
                           if c == first and k == "recording_consent"]  # fmt: skip
    assert heard == {"prompt": consent, "played": True}
    assert row.started_at is not None and heard_at.replace(tzinfo=None) < row.started_at.replace(
        tzinfo=None), "recorded before the announcement ended"
    assert [(k, d) for c, _, k, d in events if c == second and k != "queued"] == [
        ("recording_consent", {"prompt": consent, "played": False}),
        ("recording_skipped", {"mode": "always", "why": "no_consent"}),
    ]


async def test_a_node_with_its_own_directory_records_there_and_verify_finds_it(tmp_path, db_url):
    # nodes[].recordings_dir: the node's MixMonitor writes there (not the hotline's
    # directory); the controller measures, verifies and serves the file from there.
    from callcenter.recordings_cli import verify
    from callcenter.recordings_library import RecordingLibrary

    own = tmp_path / "pbxsim-recordings"

    def world(numbers: list[str]) -> dict:
        calls = [{"at": 1, "number": numbers[0]}]
        return scenario(numbers, arrivals={"kind": "trace", "calls": calls},
                        agents={"default": {"answer_delay": [1, 1], "talk_time": [3, 3],
                                            "agent_hangs_up_probability": 1.0}})  # fmt: skip

    def edit(text: str) -> str:
        assert text.count("    ping_interval_s: 10\n") == 1
        return text.replace("    ping_interval_s: 10\n",
                            f"    ping_interval_s: 10\n    recordings_dir: {own}\n")  # fmt: skip

    async with hotline_rig(tmp_path, db_url, world, agents=1, edit_config=edit) as rig:
        await wait_until(lambda: rig.ctl.counters["outcomes"] >= 1, 60, "the call to end")
        await drain(rig)
        facts = await sql_facts(rig)
        places = rig.hotline.config.recording_places()
        [row] = facts["recordings"]
        assert row.path.startswith(f"{own}/") and (own / Path(row.path).name).is_file()
        hotline_dir = Path(rig.hotline.config.recordings_read_dir)
        assert not (hotline_dir / Path(row.path).name).exists(), "written to the hotline's"
        assert row.size_bytes == (own / Path(row.path).name).stat().st_size, "measured there"
        assert await verify(rig.hotline.store.sessions, places) == []
        library = RecordingLibrary(rig.hotline.store.sessions, places, {})
        found = await library.get(row.id)
        assert found is not None and found[0].local_path == own / Path(row.path).name
        (own / "stray.wav").write_bytes(b"RIFF")
        [stray] = await verify(rig.hotline.store.sessions, places)
        assert "stray.wav" in str(stray), "the node's directory is checked too"
