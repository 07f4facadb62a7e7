"""A card number keyed mid-call in a sensitive IVR node leaves no audio in the recording.

pbxsim over real TCP AMI, the controller, a real database (SQLite and PostgreSQL): a
caller talks to its agent (recorded), the agent sends it to the IVR's ``card`` node
(``sensitive: true``), the caller keys the 16 digits (pbxsim writes each key's
DTMF pair in the caller's direction of the file) and comes back to the agent. The
recording row holds the muted span; in the file that span is silence and holds every
key, with the caller's audio before it (talk, and the IVR before the mute) and after it
(back with the agent).
"""

from __future__ import annotations

import math
import textwrap
import wave
from array import array
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.flow.state import Stage
from callcenter.storage.models import CallEvent

from .e2e_support import check_recordings, drain, hotline_rig, scenario, sql_facts, wait_until

CARD_NO = "4111111111111111"
FLOW = textwrap.dedent(
    """\
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    visits: [card]
    prompts:
      main_menu: hotline/vi/main-menu
      card: hotline/vi/card
    nodes:
      main:
        prompt: main_menu
        options: {1: {queue: support}}
      card:
        type: input
        prompt: card
        variable: card
        min_digits: 16
        max_digits: 16
        timeout_s: 30
        luhn: true
        sensitive: true
        next: {queue: support}
    """
)
SCALE = 4.0


def world(numbers: list[str]) -> dict[str, Any]:
    w = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0},
                 agents={"default": {"answer_delay": [1, 1], "talk_time": [24, 24],
                                     "agent_hangs_up_probability": 1.0}})  # fmt: skip
    w["prompts"] = {"hotline/vi/main-menu": 1.0, "hotline/vi/card": 1.0}
    return w


def frames(path: Path) -> array[int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000)
        return array("h", w.readframes(w.getnframes()))


def rms(samples: array[int], start_s: float, end_s: float) -> float:
    part = samples[max(0, int(start_s * 8000)) : int(end_s * 8000)]
    assert len(part) > 800, (start_s, end_s, len(samples))
    return math.sqrt(sum(x * x for x in part) / len(part))


async def test_a_card_number_keyed_in_a_sensitive_node_mid_call_is_silence_in_the_file(
    tmp_path: Path, db_url: str
) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    async with hotline_rig(tmp_path, db_url, world, agents=1, ivr_file=ivr,
                           time_scale=SCALE) as rig:  # fmt: skip
        ctl, sim = rig.ctl, rig.sim.world
        keys: list[float] = []  # each key's DTMFEnd, in the file's seconds
        caller = sim.population.arrive(rig.numbers[0], ("1",), patience=600,
                                       survey=(CARD_NO,))  # fmt: skip

        def live():  # type: ignore[no-untyped-def]
            return next((c for c in ctl.calls.values() if c.recording is not None), None)

        await wait_until(lambda: live() is not None, 60, "the talking call's recording")
        call = live()
        [rec] = [r for r in sim.recordings if r.channel == caller.channel]
        keyed = sim.dtmf

        def dtmf(ch, digit, duration_ms=100):  # type: ignore[no-untyped-def]
            if ch.name == caller.channel:
                keys.append(sim.now() - rec.started)
            keyed(ch, digit, duration_ms)

        sim.dtmf = dtmf  # type: ignore[method-assign]
        t = sim.now()
        await wait_until(lambda: sim.now() >= t + 2, 10, "2 s of talk recorded")
        assert ctl.send_to_ivr(call.call_id, "nowhere", "agent:1") == "no such node"
        assert ctl.send_to_ivr(call.call_id, "card", "agent:1") is None
        await wait_until(lambda: call.stage is Stage.VISITING, 10, "the visit")
        await wait_until(lambda: call.stage is Stage.TALKING and call.bridged, 60,
                         "the caller back with its agent")  # fmt: skip
        assert len(caller.pressed) == 2 and len(keys) == len(CARD_NO)
        [(start, end)] = call.recording.mutes
        t = sim.now()
        await wait_until(lambda: sim.now() >= t + 2, 10, "2 s of talk after the visit")
        await drain(rig)
        facts = await sql_facts(rig)
        async with rig.hotline.store.sessions() as s:
            events = [(e.kind, e.data) for e in await s.scalars(
                select(CallEvent).where(CallEvent.call_id == call.call_id).order_by(CallEvent.at))
                if e.kind in ("sent_to_ivr", "recording_muted", "recording_unmuted",
                              "back_to_agent", "ivr_trail")]  # fmt: skip
    [row] = facts["recordings"]
    assert check_recordings(rig, [row]) == 1
    assert row.mute_intervals == [[start, end]], "the muted span is in the row"
    samples = frames(Path(rig.hotline.config.recordings_read_dir) / Path(row.path).name)
    assert end is not None
    # wall seconds from the recording's start -> the file's (simulated) seconds; 0.4 s of
    # margin for the moments between the controller's clock and pbxsim's
    a, b = start * SCALE, end * SCALE
    # each key sounds for its 100 ms up to its DTMFEnd: all of them are silence in the file
    assert rms(samples, keys[0] - 0.1, keys[-1]) == 0.0, "the keys are in the file"
    # the stored span ends after the last key (its start, from the controller's clock, may
    # lie late by the MixMonitor's round trip times the scale: the file says it all)
    assert keys[-1] < b + 0.4, ("the stored span ends before the last key", b, keys[-1])
    assert rms(samples, a + 0.4, b - 0.4) == 0.0, "audio in the muted span"
    assert rms(samples, 0.2, a - 0.4) > 1000, "no audio before the mute"
    assert rms(samples, b + 0.4, b + 1.4) > 1000, "no audio after the unmute"
    kinds = [k for k, _ in events]
    assert kinds[:3] == ["ivr_trail", "sent_to_ivr", "recording_muted"], kinds
    assert sorted(kinds[3:5]) == ["ivr_trail", "recording_unmuted"], kinds
    assert kinds[5:] == ["back_to_agent"], kinds
    by = {k: d for k, d in events[2:5]}
    assert by["recording_muted"]["by"] == by["recording_unmuted"]["by"] == "ivr:card"
    assert by["ivr_trail"]["end"] == "visit" and by["ivr_trail"]["variables"] == {"card": "x" * 16}
    assert CARD_NO not in repr(events)
