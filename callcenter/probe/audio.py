"""What the probe heard: levels, tones and the "agent answered" rule (pure).

Received audio arrives as 16-bit mono PCM at 8 kHz in chunks of about 100 ms
(`Ear.feed`). Levels are RMS of the sample values (full scale 32767; pjmedia's
tone generator is about 9,000, silence through G.711 is 0-10).

**The agent rule** (`AgentRule`, used by the ``wait_agent`` step). A 100 ms
window *counts* when

- without ``hz``: its RMS is at least ``max(min_rms, factor × hold level)``
  (default 200, and +6 dB over the hold level), the *hold level* being the
  RMS of what was heard during the last second before the step began (0 when
  nothing was heard yet, e.g. ``wait_agent`` right after the answer);
- with ``hz``: its RMS is at least ``min_rms`` and a tone at ``hz`` carries at
  least half of its energy (Goertzel), whatever the hold level: music on hold
  is not a pure tone, and a bridge may well be quieter than the hold music.

The agent is heard after ``windows`` (3, i.e. 300 ms) counting windows in a
row; the time of the agent is the start of the first.
"""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass

RATE = 8000  #: samples per second
WINDOW = RATE // 10  #: samples per 100 ms level window
SILENCE_RMS = 50.0  #: below this a segment counts as silent ("audio heard": no)


def rms(samples: Sequence[int]) -> float:
    """Root mean square of the samples (0 for none)."""
    if not samples:
        return 0.0
    return math.sqrt(sum(x * x for x in samples) / len(samples))


def _goertzel(samples: Sequence[int], hz: float, rate: int) -> float:
    """Energy of ``samples`` carried by a sine at ``hz`` (same scale as the sum of squares)."""
    coeff = 2.0 * math.cos(2.0 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return 2.0 * (s1 * s1 + s2 * s2 - coeff * s1 * s2) / max(1, len(samples))


def tone_share(samples: Sequence[int], hz: float, rate: int = RATE) -> float:
    """The share (0..1) of the samples' energy carried by a sine at ``hz`` (Goertzel)."""
    energy = sum(x * x for x in samples)
    if energy == 0:
        return 0.0
    return min(1.0, _goertzel(samples, hz, rate) / energy)


def dominant_hz(samples: Sequence[int], rate: int = RATE) -> float | None:
    """The frequency of the tone that makes up most of what was heard, or None.

    Looks at up to 20 of the 50 ms blocks above `SILENCE_RMS` (in the last
    10 s). Each block's zero crossings give a guess; around their median,
    the Goertzel peak of 5 blocks is found, and their median is the answer
    if, in most blocks, that tone carries at least half of the energy (not
    speech, music or noise). Medians keep a glitch (jitter-buffer loss
    concealment, a tone restart) from moving the answer.
    """
    block = rate // 20
    samples = samples[-10 * rate :]
    voiced = [
        b
        for b in (samples[i : i + block] for i in range(0, len(samples) - block + 1, block))
        if rms(b) >= SILENCE_RMS
    ]
    if not voiced:
        return None
    picked = voiced[:: max(1, len(voiced) // 20)]
    guesses = [
        sum(1 for x, y in zip(b, b[1:], strict=False) if (x < 0) != (y < 0)) * rate / 2 / block
        for b in picked
    ]
    guess = round(statistics.median(guesses))
    near = range(max(1, guess - 15), guess + 16)
    some = picked[:: max(1, len(picked) // 5)]
    hz = round(statistics.median(max(near, key=lambda f: _goertzel(b, f, rate)) for b in some))
    share = statistics.median(tone_share(b, hz, rate) for b in picked)
    return float(hz) if share >= 0.5 else None


@dataclass(frozen=True, slots=True)
class AgentRule:
    """When ``wait_agent`` decides an agent is speaking (see the module docstring)."""

    min_rms: float = 200.0
    factor: float = 2.0
    hz: float | None = None
    share: float = 0.5
    windows: int = 3
    hold_seconds: float = 1.0


class AgentWatch:
    """Applies an `AgentRule` to successive 100 ms windows."""

    def __init__(self, rule: AgentRule, hold_rms: float, found: Callable[[float], None]) -> None:
        self.rule = rule
        self.hold_rms = hold_rms
        self.threshold = rule.min_rms if rule.hz else max(rule.min_rms, rule.factor * hold_rms)
        self._found = found
        self._run = 0
        self._first: float | None = None
        self.done = False
        self.loudest = 0.0

    def window(self, start: float, samples: Sequence[int]) -> None:
        """Judge one window that began at monotonic time ``start``."""
        if self.done:
            return
        level = rms(samples)
        self.loudest = max(self.loudest, level)
        counts = level >= self.threshold and (
            self.rule.hz is None or tone_share(samples, self.rule.hz) >= self.rule.share
        )
        if not counts:
            self._run, self._first = 0, None
            return
        if self._run == 0:
            self._first = start
        self._run += 1
        if self._run >= self.rule.windows:
            self.done = True
            assert self._first is not None
            self._found(self._first)


@dataclass(frozen=True, slots=True)
class Segment:
    """What was heard during one script step."""

    step: int
    label: str
    seconds: float
    rms: float
    hz: float | None

    def as_json(self) -> dict[str, object]:
        return {
            "step": self.step,
            "do": self.label,
            "seconds": round(self.seconds, 3),
            "rms": round(self.rms, 1),
            "hz": self.hz,
        }


class Ear:
    """All audio received on one call, in 100 ms windows with their times."""

    def __init__(self) -> None:
        self.samples = array("h")
        self.starts: list[float] = []  # monotonic start time of each full window
        self.watch: AgentWatch | None = None

    def feed(self, end: float, pcm: bytes) -> None:
        """Add PCM (16-bit host-order mono, as pjmedia frames are) whose last sample was heard at ``end``."""
        chunk = array("h")
        chunk.frombytes(pcm[: len(pcm) // 2 * 2])
        first = len(self.samples)
        self.samples.extend(chunk)
        total = len(self.samples)
        for w in range(len(self.starts), total // WINDOW):
            lo = w * WINDOW
            start = end - (total - lo) / RATE
            self.starts.append(start)
            if lo + WINDOW > first and self.watch is not None:
                self.watch.window(start, self.samples[lo : lo + WINDOW])

    def mark(self) -> int:
        """The position (sample index) for a segment boundary."""
        return len(self.samples)

    def level_before(self, seconds: float) -> float:
        """RMS of the last ``seconds`` heard (0 when nothing was)."""
        n = int(seconds * RATE)
        return rms(self.samples[-n:]) if n else 0.0

    def segment(self, step: int, label: str, start: int, end: int | None = None) -> Segment:
        """Summarise samples ``start:end`` as a `Segment`."""
        part = self.samples[start:end]
        return Segment(step, label, len(part) / RATE, rms(part), dominant_hz(part))

    def overall(self) -> tuple[float, float | None]:
        """RMS and dominant tone of everything heard."""
        return rms(self.samples), dominant_hz(self.samples)
