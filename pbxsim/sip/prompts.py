"""The WAV file a SIP caller hears for a prompt.

Asterisk's own recording when ``/usr/share/asterisk/sounds/en/<name>.wav``
exists (Debian's ``asterisk-core-sounds-en-wav``: 8 kHz 16-bit mono, the files
transcripts 12-14 played); otherwise a speech-like signal of the prompt's
length, written once per name into pbxsim's temporary directory: a 150 Hz
voice with two formants, syllables of 180 ms with 40 ms gaps, so that a caller
hears *something* and a recording of the call has the prompt's energy.
Music on hold is a generated arpeggio, looped.
"""

from __future__ import annotations

import hashlib
import wave
from array import array
from math import pi, sin
from pathlib import Path

from ..audio import SAMPLE_RATE, SOUNDS_DIR

SYLLABLE = 0.18
GAP = 0.04
LEVEL = 6000


def prompt_wav(name: str, seconds: float, cache: Path, sounds_dir: Path = SOUNDS_DIR) -> Path:
    """A WAV file for prompt ``name`` lasting ``seconds`` (Asterisk's, or generated into ``cache``)."""
    path = Path(name) if name.startswith("/") else sounds_dir / name
    real = path.with_name(path.name + ".wav")
    if real.is_file():
        return real
    digest = hashlib.sha1(f"{name}|{seconds:.3f}".encode()).hexdigest()[:16]
    out = cache / f"prompt-{digest}.wav"
    if not out.is_file():
        _write_speechlike(out, seconds)
    return out


def hold_wav(cache: Path) -> Path:
    """Music on hold: four bars of a C-major arpeggio (8 s), looped by the player."""
    out = cache / "moh.wav"
    if not out.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        note = int(0.25 * SAMPLE_RATE)
        frames = array("h")
        for bar in range(4):
            for hz in (262, 330, 392, 523, 392, 330, 262, 196):
                f = hz * (1.0, 1.122, 0.891, 1.0)[bar]
                frames.extend(
                    int(LEVEL * 0.7 * sin(pi * i / note) * sin(2 * pi * f * i / SAMPLE_RATE))
                    for i in range(note)
                )
        tmp = out.with_suffix(".part")
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(frames.tobytes())
        tmp.replace(out)
    return out


def _syllable(n: int, formants: tuple[int, int]) -> array[int]:
    """``n`` samples of a voiced syllable: harmonics of 150 Hz shaped by two formants."""
    f1, f2 = formants
    out = array("h", bytes(2 * n))
    for i in range(n):
        t = i / SAMPLE_RATE
        env = sin(pi * i / n)  # rises and falls like a syllable
        v = 0.6 * sin(2 * pi * 150 * t) + 0.3 * sin(2 * pi * f1 * t) + 0.2 * sin(2 * pi * f2 * t)
        out[i] = int(LEVEL * env * v)
    return out


def _write_speechlike(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    vowels = ((600, 1050), (300, 2250), (450, 1700), (700, 1200))
    syllables = [_syllable(int(SYLLABLE * SAMPLE_RATE), f) for f in vowels]
    gap = array("h", bytes(2 * int(GAP * SAMPLE_RATE)))
    total = max(1, round(seconds * SAMPLE_RATE))
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        written, k = 0, 0
        while written < total:
            for chunk in (syllables[k % len(syllables)], gap):
                take = min(len(chunk), total - written)
                w.writeframes(chunk[:take].tobytes())
                written += take
            k += 1
    tmp.replace(path)  # a player never sees a half-written file
