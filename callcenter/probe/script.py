"""The probe's call script: what a test caller does once the hotline answers.

A YAML list, one step per item, run in order::

    - wait: 2                       # listen for 2 s
    - dtmf: "1"                     # send digits as RFC 4733 events
    - wait_agent: 30                # until an agent speaks (see audio.AgentRule), at most 30 s
    - wait_agent: {seconds: 30, hz: 620}   # ... until a 620 Hz tone is heard
    - tone: {hz: 440, seconds: 3}   # play a test tone to the agent
    - hangup                        # (also implied at the end)

A bad file is a `ScriptError` naming the file and the line of the bad step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_DIGITS = re.compile(r"[0-9A-D*#]+")


class ScriptError(Exception):
    """The script file is unusable: ``file:line: reason``."""

    def __init__(self, file: str, line: int, reason: str) -> None:
        super().__init__(f"{file}:{line}: {reason}")
        self.file = file
        self.line = line
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Wait:
    """Listen for ``seconds``."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Dtmf:
    """Send ``digits`` (RFC 4733 telephone-events on the RTP stream)."""

    digits: str


@dataclass(frozen=True, slots=True)
class WaitAgent:
    """Listen until an agent is heard (``hz``: a tone at that frequency), at most ``seconds``."""

    seconds: float
    hz: float | None = None
    min_rms: float | None = None


@dataclass(frozen=True, slots=True)
class Tone:
    """Send a sine tone of ``hz`` for ``seconds``."""

    hz: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call (BYE)."""


Step = Wait | Dtmf | WaitAgent | Tone | Hangup

#: the script used when none is given: wait for an agent, let them hear a tone, hang up
DEFAULT_SCRIPT: tuple[Step, ...] = (WaitAgent(seconds=60.0), Tone(hz=1000.0, seconds=2.0), Hangup())


def step_label(step: Step) -> str:
    """The step as the script would write it, for reports."""
    if isinstance(step, Wait):
        return f"wait {step.seconds:g}"
    if isinstance(step, Dtmf):
        return f"dtmf {step.digits}"
    if isinstance(step, WaitAgent):
        return f"wait_agent {step.seconds:g}" + (f" {step.hz:g}Hz" if step.hz else "")
    if isinstance(step, Tone):
        return f"tone {step.hz:g}Hz {step.seconds:g}"
    return "hangup"


def load_script(path: str | Path) -> tuple[Step, ...]:
    """Read and check a script file; raises `ScriptError`."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(
            name, 0, f"cannot read: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return parse_script(text, name)


def parse_script(text: str, name: str = "<script>") -> tuple[Step, ...]:
    """Parse script text; every error names ``name`` and a 1-based line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ScriptError(name, line, f"not valid YAML: {exc.problem or exc.context}") from None
    if root is None:
        raise ScriptError(name, 1, "empty script: expected a list of steps")
    if not isinstance(root, yaml.SequenceNode):
        raise ScriptError(
            name, _line(root), "expected a list of steps (- wait: 2, - dtmf: '1' ...)"
        )
    steps = tuple(_step(node, name) for node in root.value)
    if not steps:
        raise ScriptError(name, _line(root), "empty script: expected a list of steps")
    return steps


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _step(node: yaml.Node, name: str) -> Step:
    line = _line(node)
    if isinstance(node, yaml.ScalarNode):
        if node.value == "hangup":
            return Hangup()
        raise ScriptError(name, line, f"unknown step {node.value!r} (only 'hangup' stands alone)")
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        raise ScriptError(name, line, "a step is one 'kind: value' pair")
    key_node, value_node = node.value[0]
    kind = key_node.value
    value = yaml.SafeLoader("").construct_document(value_node)
    try:
        return _build(kind, value)
    except ValueError as exc:
        raise ScriptError(name, line, f"{kind}: {exc}") from None


def _seconds(value: Any, what: str = "seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{what} must be a number >= 0, got {value!r}")
    return float(value)


def _fields(value: Any, allowed: Sequence[str], required: Sequence[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"expected a number or a mapping with {', '.join(allowed)}")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} (allowed: {', '.join(allowed)})")
    missing = [f for f in required if f not in value]
    if missing:
        raise ValueError(f"missing field {missing[0]!r}")
    return value


def _build(kind: str, value: Any) -> Step:
    if kind == "wait":
        return Wait(_seconds(value))
    if kind == "dtmf":
        digits = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if not isinstance(digits, str) or not _DIGITS.fullmatch(digits):
            raise ValueError(f"digits must be a string of 0-9 * # A-D, got {value!r}")
        return Dtmf(digits)
    if kind == "wait_agent":
        if not isinstance(value, dict):
            return WaitAgent(_seconds(value))
        f = _fields(value, ("seconds", "hz", "min_rms"), ("seconds",))
        hz = f.get("hz")
        min_rms = f.get("min_rms")
        return WaitAgent(
            _seconds(f["seconds"]),
            None if hz is None else _hz(hz),
            None if min_rms is None else _seconds(min_rms, "min_rms"),
        )
    if kind == "tone":
        f = _fields(value, ("hz", "seconds"), ("hz", "seconds"))
        return Tone(_hz(f["hz"]), _seconds(f["seconds"]))
    if kind == "hangup":
        return Hangup()
    raise ValueError("unknown step (expected wait, dtmf, wait_agent, tone or hangup)")


def _hz(value: Any) -> float:
    hz = _seconds(value, "hz")
    if not 50 <= hz <= 3900:
        raise ValueError(f"hz must be between 50 and 3900 (8 kHz audio), got {value!r}")
    return hz
