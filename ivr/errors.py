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

from yamlconf import ConfigProblem

__all__ = ["ConfigProblem", "IvrConfigError", "IvrError", "IvrStateError"]


class IvrError(Exception):
    """Base of the IVR engine's errors."""


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
