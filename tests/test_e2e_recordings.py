"""Recording policy end to end: pbxsim over real TCP AMI, the controller, a real database.

A queue that samples half its calls with separate legs: exactly the calls whose id the
policy picks are recorded (the others get a ``recording_skipped`` event), each file is a
valid WAV whose size, SHA-256 and duration match its row, and the ``-in`` and ``-out``
files lie beside it.
"""

from __future__ import annotations

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
        mixed = frames(base / Path(r.path).name)
        inbound, outbound = (frames(base / Path(p).name) for p in leg_files(r.path))
        # pbxsim sums the two directions: the mixed file is in + out (each truncated to int)
        assert len(inbound) == len(outbound) == len(mixed) > 0
        assert any(inbound) and any(outbound)
        assert all(abs(m - i - o) <= 1 for m, i, o in zip(mixed, inbound, outbound, strict=True))
