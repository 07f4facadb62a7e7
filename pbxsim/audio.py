"""Sound: how long prompts last, and the WAV files MixMonitor writes.

Prompt lengths come from the scenario, then from a WAV file under
``/usr/share/asterisk/sounds/en`` when one exists, then from a built-in table
of Asterisk core sounds. A name found nowhere is a missing file: ``STREAM
FILE`` then fails as in transcript 13.

A recording is real audio: 8 kHz, 16-bit mono (04: 7.0 s = 112,044 bytes), a
distinct tone per party summed (caller 440 Hz, agent 620 Hz), silence for a
muted direction; a key the channel sent is its DTMF pair, in band, for the
key's length before its DTMFEnd (unrecorded). It is written when it stops (StopMixMonitor or hangup), so
the file has its final size before the Hangup event goes out. Options
``r(file)`` and ``t(file)`` also write what the channel sends (its own tone)
and what it hears (the others') to files of their own; no transcript records
them (Asterisk's MixMonitor documentation).

A channel with real media (a SIP call, ``Channel.tech_pvt``: :mod:`pbxsim.sip`)
hears prompts for real (:func:`prompt_audio`) and is recorded from the
conference bridge instead: the tones above are for simulated parties only.
"""

from __future__ import annotations

import wave
from array import array
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from math import pi, sin
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .channels import Channel
    from .world import World

SAMPLE_RATE = 8000
SOUNDS_DIR = Path("/usr/share/asterisk/sounds/en")

#: Seconds per prompt, for Asterisk core sound names (beep: 3404 samples in 03).
BUILTIN_PROMPTS: dict[str, float] = {
    "beep": 3404 / SAMPLE_RATE,
    "hello-world": 1.2,
    "demo-congrats": 27.0,
    "demo-thanks": 2.5,
    "vm-enter-num-to-call": 1.9,
    "vm-goodbye": 0.8,
    "goodbye": 0.7,
    "welcome": 0.9,
    "invalid": 1.3,
    "please-try-again": 1.2,
    "pls-hold-while-try": 2.2,
    "pbx-invalid": 1.8,
    "auth-thankyou": 0.8,
    "thank-you-for-calling": 1.3,
    "queue-thankyou": 2.4,
    "queue-youarenext": 1.5,
    "queue-thereare": 2.255,  # 22: AGIExecStart to AGIExecEnd of an uncut STREAM FILE
    "queue-callswaiting": 2.471,  # 22
    "queue-holdtime": 2.2,
    "queue-minutes": 0.7,
    "queue-seconds": 0.7,
    "queue-less-than": 0.7,
    "queue-periodic-announce": 3.2,
    "queue-reporthold": 1.2,
    "agent-loginok": 1.0,
    "conf-waitforleader": 2.5,
    "tt-monkeys": 5.5,
    "tt-weasels": 4.8,
    "silence/1": 1.0,
}
for _d in range(10):
    BUILTIN_PROMPTS[f"digits/{_d}"] = 0.77  # 17: SAY DIGITS 42 took 1.545 s
BUILTIN_PROMPTS["digits/3"] = 0.836  # 17, 22: SAY NUMBER 3
for _s in range(2, 11):
    BUILTIN_PROMPTS[f"silence/{_s}"] = float(_s)

TONES = {"caller": 440, "agent": 620}
#: a key's two frequencies (ITU-T Q.23): row, column
DTMF_TONES = {
    key: (row, col)
    for row, keys in zip((697, 770, 852, 941), ("123A", "456B", "789C", "*0#D"), strict=True)
    for col, key in zip((1209, 1336, 1477, 1633), keys, strict=True)
}
OTHER_TONE = 520
AMPLITUDE = 8000


class Prompts:
    """Prompt name -> duration in seconds, or ``None`` for a missing file."""

    def __init__(self, extra: Mapping[str, float] | None = None, sounds_dir: Path = SOUNDS_DIR):
        self.extra = dict(extra or {})
        self.sounds_dir = sounds_dir

    def duration(self, name: str) -> float | None:
        name = name.strip()
        if not name:
            return None
        if name in self.extra:
            return float(self.extra[name])
        path = Path(name) if name.startswith("/") else self.sounds_dir / name
        wav = path.with_name(path.name + ".wav")
        if wav.is_file():
            try:
                with wave.open(str(wav), "rb") as f:
                    return f.getnframes() / float(f.getframerate())
            except (wave.Error, OSError):
                return None
        return BUILTIN_PROMPTS.get(name)


@contextmanager
def prompt_audio(ch: Channel, name: str, moh: bool = False) -> Iterator[None]:
    """While the block runs, a channel with real media hears prompt ``name`` (or MOH class)."""
    stop = ch.tech_pvt.play(name, moh) if ch.tech_pvt is not None else None
    try:
        yield
    finally:
        if stop is not None:
            stop()


_blocks: dict[tuple[int, ...], array[int]] = {}


def _block(tones: tuple[int, ...]) -> array[int]:
    """One second of the summed tones (integer Hz, so one second loops seamlessly)."""
    block = _blocks.get(tones)
    if block is None:
        block = array(
            "h",
            (
                int(sum(AMPLITUDE * sin(2 * pi * f * i / SAMPLE_RATE) for f in tones))
                for i in range(SAMPLE_RATE)
            ),
        )
        _blocks[tones] = block
    return block


class Recording:
    """One MixMonitor on one channel: a list of (start, end, tones) segments."""

    def __init__(self, world: World, ch: Channel, path: Path, options: str, mixmon_id: str):
        self.path = path
        self.channel = ch.name
        self.id = mixmon_id
        self.only_bridged = "b" in _flags(options)
        # unrecorded: r()/t() (no transcript uses them; Asterisk's MixMonitor docs): the
        # receive (the channel's own audio) and transmit (what it hears) legs apart
        self.leg_paths = {
            leg: _spool_path(world, arg)
            for leg, arg in (("r", option_arg(options, "r")), ("t", option_arg(options, "t")))
            if arg
        }
        self.started = world.now()
        self.mute_read = False
        self.mute_write = False
        #: (start, end, own tones, the others' tones); None: nothing written then
        self.segments: list[tuple[float, float, tuple[int, ...] | None, tuple[int, ...]]] = []
        self._ch = ch
        self._seg_start = self.started
        self._tones = self._tones_now()
        self.finished = False
        self.duration = 0.0
        #: a SIP channel's real recording (pbxsim.sip.leg.LiveRecording), else None
        self.live: Any = ch.tech_pvt.record(self, ch) if ch.tech_pvt is not None else None

    def _tones_now(self) -> tuple[tuple[int, ...] | None, tuple[int, ...]]:
        """(own tones, the others' tones) now; own None while nothing is written."""
        ch = self._ch
        bridged = ch.bridge is not None and len(ch.bridge.channels) > 1
        if self.only_bridged and not bridged:
            return None, ()  # option b: nothing is written while not bridged
        own = () if self.mute_read else (TONES.get(ch.role, OTHER_TONE),)
        others: tuple[int, ...] = ()
        if bridged and not self.mute_write:
            others = tuple(TONES.get(o.role, OTHER_TONE) for o in ch.bridge.channels if o is not ch)
        return own, others

    def update(self, world: World) -> None:
        """Close the current segment: who is heard changed (bridge, mute)."""
        if self.finished:
            return
        now = world.now()
        self.segments.append((self._seg_start, now, *self._tones))
        self._seg_start = now
        self._tones = self._tones_now()
        if self.live is not None:
            self.live.update()

    def key(self, world: World, digit: str, duration_ms: int) -> None:
        """The channel sent key ``digit``, which ends now (its DTMFEnd) after
        ``duration_ms``: the key's DTMF pair replaces the channel's voice in that span of
        the file (silence where that direction is muted, nothing where nothing is written)."""
        # unrecorded: no transcript holds a file with keys in it. This is a phone or trunk
        # sending its keys in band (as audio), which MixMonitor records like a voice;
        # RFC 4733 keys are not voice frames.
        if self.finished or digit not in DTMF_TONES:
            return
        now = world.now()
        cut = max(self._seg_start, now - duration_ms / 1000)
        own, others = self._tones
        sent = None if own is None else () if self.mute_read else DTMF_TONES[digit]
        self.segments.append((self._seg_start, cut, own, others))
        self.segments.append((cut, now, sent, others))
        self._seg_start = now

    def finish(self, world: World) -> None:
        """Stop recording and write the WAV file (synchronously: it must exist at Hangup)."""
        if self.finished:
            return
        self.update(world)
        self.finished = True
        if self in self._ch.recordings:
            self._ch.recordings.remove(self)
        if self.live is not None:
            self.duration = self.live.finish()
            return
        self.duration = self._write(self.path, lambda own, others: own + others)
        if "r" in self.leg_paths:
            self._write(self.leg_paths["r"], lambda own, others: own)
        if "t" in self.leg_paths:
            self._write(self.leg_paths["t"], lambda own, others: others)

    def _write(
        self, path: Path, heard: Callable[[tuple[int, ...], tuple[int, ...]], tuple[int, ...]]
    ) -> float:
        # unrecorded: whatever the File= extension (.gsm, .wav49 ...), this writes 8 kHz
        # 16-bit WAV; Asterisk picks the format by the extension (no transcript records one)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        cursor = 0.0
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            for start, end, own, others in self.segments:
                if own is None or end <= start:
                    continue
                tones = heard(own, others)
                cursor += end - start
                n = round(cursor * SAMPLE_RATE) - written
                written += max(0, n)
                block = _block(tones) if tones else array("h", bytes(2 * SAMPLE_RATE))
                while n > 0:
                    take = min(n, SAMPLE_RATE)
                    out.writeframes(block[:take].tobytes())
                    n -= take
        return written / SAMPLE_RATE


def _spool_path(world: World, file: str) -> Path:
    """A MixMonitor file name as Asterisk places it: a relative one under the spool's
    ``monitor/`` (04)."""
    return (Path(file) if file.startswith("/") else world.spool_dir / "monitor" / file).absolute()


def _flags(options: str) -> str:
    """Option letters outside parentheses: ``bi(MIXMON_ID)`` -> ``bi``."""
    depth, letters = 0, []
    for c in options:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0:
            letters.append(c)
    return "".join(letters)


def option_arg(options: str, letter: str) -> str | None:
    """The argument of option ``letter``: ``bi(MIXMON_ID)``, ``i`` -> ``MIXMON_ID``."""
    depth = 0
    for i, c in enumerate(options):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and c == letter:
            if options[i + 1 : i + 2] == "(":
                end = options.find(")", i)
                return options[i + 2 : end if end > 0 else None]
            return ""
    return None


def write_silence(world: World, name: str, fmt: str, samples: int) -> Path:
    """AGI ``RECORD FILE``: ``name.fmt`` holding ``samples`` of silence, 8 kHz 16-bit mono
    (17: a 2.0 s recording is 32,044 bytes). A relative name lands in the spool's
    ``recording/``."""
    # unrecorded: where a relative RECORD FILE name lands (17 used an absolute path).
    path = Path(name) if name.startswith("/") else world.spool_dir / "recording" / name
    path = path.with_name(f"{path.name}.{fmt}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(bytes(2 * max(0, samples)))
    return path
