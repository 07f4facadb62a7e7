"""What one probe call found, and the summary of a run (pure).

``--json`` prints one `CallReport.as_json` object per line, then one
`summarize` object. Results:

- ``success``: answered and the whole script ran (an agent heard if it had ``wait_agent``);
- ``unanswered``: a SIP final failure (486, 480, 503 ...) or no answer within ``--timeout``;
- ``no_agent``: answered, but ``wait_agent`` ran out;
- ``dropped``: the far end hung up before the script ended;
- ``error``: the probe could not place the call (bad URI, local SIP error).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .audio import SILENCE_RMS, Segment

RESULTS = ("success", "unanswered", "no_agent", "dropped", "error")


@dataclass(slots=True)
class CallReport:
    """One probe call, filled in as it goes."""

    call: int
    uri: str
    started_at: float  # wall clock (epoch seconds) when the INVITE was queued
    result: str = "error"
    answered: bool = False
    code: int | None = None  #: the INVITE's final SIP status, None if none came
    reason: str = ""  #: its reason phrase as pjsua reports it
    time_to_answer: float | None = None  #: INVITE sent -> 200 OK, seconds
    time_to_agent: float | None = None  #: INVITE sent -> agent heard, seconds
    digits_sent: str = ""
    digits_accepted: str = ""  #: digits the RTP stream took as RFC 4733 events
    rms: float = 0.0  #: of all received audio
    hz: float | None = None  #: the tone that dominated it, if one did
    segments: list[Segment] = field(default_factory=list)
    failure: str | None = None
    duration: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "type": "call",
            "call": self.call,
            "uri": self.uri,
            "started_at": round(self.started_at, 3),
            "result": self.result,
            "answered": self.answered,
            "code": self.code,
            "reason": self.reason,
            "time_to_answer": _round(self.time_to_answer),
            "time_to_agent": _round(self.time_to_agent),
            "digits_sent": self.digits_sent,
            "digits_accepted": self.digits_accepted,
            "audio": {
                "heard": self.rms >= SILENCE_RMS,
                "rms": round(self.rms, 1),
                "hz": self.hz,
                "segments": [s.as_json() for s in self.segments],
            },
            "failure": self.failure,
            "duration": round(self.duration, 3),
        }

    def line(self) -> str:
        """One human-readable line."""
        code = f"{self.code} {self.reason}".strip() if self.code is not None else "no SIP answer"
        parts = [f"call {self.call}: {self.result:<10} {code}"]
        if self.time_to_answer is not None:
            parts.append(f"answer {self.time_to_answer:.2f}s")
        if self.time_to_agent is not None:
            parts.append(f"agent {self.time_to_agent:.2f}s")
        if self.digits_sent:
            parts.append(f"digits {self.digits_accepted or '-'}/{self.digits_sent}")
        if self.answered:
            parts.append(f"rms {self.rms:.0f}" + (f" {self.hz:g}Hz" if self.hz else ""))
        text = ", ".join(parts)
        return f"{text} ({self.failure})" if self.failure else text


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(reports: Sequence[CallReport]) -> dict[str, object]:
    """The last ``--json`` line: counts by result and SIP code, and percentiles."""
    answer = [r.time_to_answer for r in reports if r.time_to_answer is not None]
    agent = [r.time_to_agent for r in reports if r.time_to_agent is not None]
    heard = [r.rms for r in reports if r.answered]
    codes = Counter(str(r.code) for r in reports if r.code is not None)
    results = Counter(r.result for r in reports)
    return {
        "type": "summary",
        "calls": len(reports),
        "answered": sum(r.answered for r in reports),
        "failed": sum(r.result != "success" for r in reports),
        "results": {name: results[name] for name in RESULTS if results[name]},
        "codes": dict(sorted(codes.items())),
        "time_to_answer_p50": _round(percentile(answer, 50)),
        "time_to_answer_p95": _round(percentile(answer, 95)),
        "time_to_agent_p50": _round(percentile(agent, 50)),
        "time_to_agent_p95": _round(percentile(agent, 95)),
        "audio_rms_p50": _round(percentile(heard, 50)),
    }


def summary_line(summary: dict[str, object]) -> str:
    """The summary for people."""
    codes = summary["codes"]
    assert isinstance(codes, dict)
    text = ", ".join(f"{code}x{n}" for code, n in codes.items()) or "none"
    p50 = summary["time_to_answer_p50"]
    return (
        f"{summary['calls']} calls: {summary['answered']} answered, {summary['failed']} failed;"
        f" SIP codes {text}; answer p50 {p50 if p50 is not None else '-'}s,"
        f" agent p50 {summary['time_to_agent_p50'] if summary['time_to_agent_p50'] is not None else '-'}s"
    )
