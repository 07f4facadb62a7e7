"""Errors of the IVR engine, typed by whose fault they are.

- :class:`IvrConfigError`: the IVR file is wrong (the operator's fault). It
  lists every problem found, each naming the file, the 1-based line and the
  dotted path of the bad value, so one run shows all there is to fix.
- :class:`IvrStateError`: the shell fed a session an input its current state
  has no transition for (our fault: e.g. a prompt result after the call was
  routed, or ``start()`` twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class IvrError(Exception):
    """Base of the IVR engine's errors."""


@dataclass(frozen=True, slots=True, order=True)
class ConfigProblem:
    """One thing wrong in an IVR file: ``file:line: path: reason``."""

    file: str
    #: 1-based line; 0 when the file could not be read at all
    line: int
    #: dotted path of the bad value (``nodes.main.options.7.goto``); "" for the file itself
    path: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.reason}" if self.path else f"{where}: {self.reason}"


class IvrConfigError(IvrError):
    """An IVR file failed to load; ``problems`` holds every problem found, in file order."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class IvrStateError(IvrError):
    """A session got an input its state has no transition for (h11's LocalProtocolError)."""

    def __init__(self, state: object, kind: object) -> None:
        super().__init__(f"no IVR transition from state {state} on input {kind}")
        self.state = state
        self.kind = kind
