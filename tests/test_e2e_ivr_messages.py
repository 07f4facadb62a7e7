"""Voicemail and callback nodes over real AMI: pbxsim's callers leave messages (ended by
``#``, by the node's time, by silence) and ask to be called back (at their own number,
at a number they type); SQL then holds the rows, the WAVs are there, /metrics counts them.
The requests are dialled back (rule 13: the agents are Ready, the customers' phones
answer, and hang up once bridged): each ends ``completed``.
"""

from __future__ import annotations

import textwrap
import wave
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callcenter.storage.models import Call, CallbackRequest, CallEvent, Voicemail

from .e2e_support import drain, hotline_rig, scenario, wait_until

FLOW = textwrap.dedent(
    """\
    name: care
    languages: [vi]
    default_language: vi
    start: main
    fallback_queue: support
    prompts:
      menu: hotline/vi/main-menu
      leave: hotline/vi/leave-message
      number: hotline/vi/enter-number
      thanks: hotline/vi/thanks
    nodes:
      main:
        prompt: menu
        timeout_s: 8
        options:
          1: {goto: message}
          2: {goto: call_me}
          3: {goto: other_number}
          4: {goto: quiet}
      message:
        type: voicemail
        prompt: leave
        max_s: 30
        silence_s: 5
        queue: support
        next: {goto: bye}
      quiet: {type: voicemail, max_s: 6, silence_s: null, beep: false, next: {goto: bye}}
      call_me: {type: callback, queue: support, next: {goto: bye}}
      other_number:
        type: input
        prompt: number
        variable: callback_number
        min_digits: 10
        max_digits: 10
        pattern: "0[0-9]+"
        timeout_s: 10
        next: {goto: call_there}
      call_there: {type: callback, queue: support, number: callback_number, next: {goto: bye}}
      bye: {type: hangup, prompt: thanks, reason: done}
    """
)
PROMPTS = ["hotline/vi/main-menu", "hotline/vi/leave-message", "hotline/vi/enter-number",
           "hotline/vi/thanks", "beep"]  # fmt: skip


def world(numbers: list[str]) -> dict[str, Any]:
    w = scenario(numbers, arrivals={"kind": "poisson", "calls_per_minute": 0})
    w["prompts"] = {p: 1.0 for p in PROMPTS}
    return w


def wav_seconds(path: Path) -> tuple[float, int, int]:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate(), w.getframerate(), w.getnchannels()


async def test_voicemails_and_callbacks_through_pbxsim(tmp_path: Path, db_url: str) -> None:
    ivr = tmp_path / "flow.yaml"
    ivr.write_text(FLOW)
    spool = tmp_path / "voicemail"

    def with_voicemail(text: str) -> str:
        return text.replace("hotline:\n", f"hotline:\n  voicemail_dir: {spool}\n", 1)

    async with hotline_rig(tmp_path, db_url, world, ivr_file=ivr,
                           edit_config=with_voicemail) as rig:  # fmt: skip
        n = rig.numbers
        arrive = rig.sim.world.population.arrive
        callers = {
            "hash": arrive(n[0], ("1", "#"), patience=120),  # a message ended by '#'
            "full": arrive(n[1], ("4",), patience=120),  # silent: the node's 6 s run out
            "silent": arrive(n[2], ("1",), patience=120),  # silent: s=5 ends it
            "own": arrive(n[3], ("2",), patience=120),  # a callback at their own number
            "typed": arrive(n[4], ("3", "12345#", "0987654321#"), patience=120),
        }
        await wait_until(lambda: all(c.outcome for c in callers.values()), 120,
                         "every caller to be done")  # fmt: skip
        sim = rig.sim

        def customers_hang_up() -> bool:
            # a customer called back hangs up once bridged with its agent
            for ch in list(sim.world.channels.values()):
                if "@hotline-callback-out" in ch.name and ch.name.endswith(";1") \
                        and ch.bridge is not None and ch.peer is not None:  # fmt: skip
                    sim.world.hangup(ch.peer, how="remote", cause=16)
            return not rig.ctl.calls

        await wait_until(customers_hang_up, 120, "both callbacks put through and over")
        await drain(rig, timeout=60)
        async with rig.hotline.store.sessions() as s:
            calls = {c.caller_number: c for c in await s.scalars(select(Call))}
            mails = {m.caller_number: m for m in await s.scalars(select(Voicemail))}
            backs = {b.call_id: b for b in await s.scalars(select(CallbackRequest))}
            events = list(await s.scalars(select(CallEvent)))
        metrics = rig.hotline.metrics.render().decode()

    trails = {e.call_id: e.data for e in events if e.kind == "ivr_trail"}
    by = {name: calls[c.number] for name, c in callers.items()}
    # three messages: files where the rows say, valid 8 kHz mono WAVs of the rows' length
    assert set(mails) == {n[0], n[1], n[2]}
    for number, mail in mails.items():
        file = spool / Path(mail.path).name
        assert mail.path == str(file) and mail.format == "wav"
        seconds, rate, channels = wav_seconds(file)
        assert (rate, channels) == (8000, 1)
        assert mail.duration_s == round(seconds, 3) and mail.size_bytes == file.stat().st_size
        assert mail.call_id == calls[number].id and mail.flow == "care"
    full, silent, hashed = mails[n[1]], mails[n[2]], mails[n[0]]
    assert (full.node, full.queue, full.duration_s) == ("quiet", None, 6.0)  # its max_s
    assert (silent.node, silent.queue, silent.duration_s) == ("message", "support", 1.0)
    assert hashed.node == "message" and 0 < (hashed.duration_s or 0) < 3.0  # press delay
    assert hashed.customer_id == by["hash"].customer_id
    assert trails[by["hash"].id]["path"] == "main(1) > message(#) > bye"
    assert trails[by["full"].id]["path"] == "main(4) > quiet(end) > bye"
    assert trails[by["silent"].id]["path"] == "main(1) > message(end) > bye"
    # two callback requests, dialled back and completed at the first attempt
    own, typed = backs[by["own"].id], backs[by["typed"].id]
    assert (own.number, own.own_number, own.queue, own.status) == (n[3], True, "support",
                                                                    "completed")  # fmt: skip
    assert (typed.number, typed.own_number, typed.node) == ("0987654321", False, "call_there")
    assert (own.node, typed.status, own.attempts, typed.attempts) == ("call_me", "completed",
                                                                      1, 1)  # fmt: skip
    assert own.customer_id == by["own"].customer_id and typed.flow == "care"
    assert trails[by["typed"].id]["path"] == (
        "main(3) > other_number(12345)(0987654321) > call_there(entered) > bye"
    )
    assert len(backs) == 2
    # every call left the IVR by its hangup node; the messages' ended there, the
    # callbacks' were answered when dialled back
    outcomes = {name: c.outcome for name, c in by.items()}
    assert outcomes == {"hash": "ivr_hangup", "full": "ivr_hangup", "silent": "ivr_hangup",
                        "own": "answered", "typed": "answered"}  # fmt: skip
    assert {t["end"] for t in trails.values()} == {"hangup"}
    assert 'hotline_ivr_voicemails_total{flow="care",node="message"} 2.0' in metrics
    assert 'hotline_ivr_voicemails_total{flow="care",node="quiet"} 1.0' in metrics
    assert 'hotline_ivr_callbacks_total{flow="care",node="call_me"} 1.0' in metrics
    assert 'hotline_ivr_callbacks_total{flow="care",node="call_there"} 1.0' in metrics
    assert 'hotline_ivr_entries_total{flow="care",node="message"} 2.0' in metrics
