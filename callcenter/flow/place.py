"""A waiting call's place in line, as its ``queued`` call event writes it: pure data.

Rules (the call-flow core's rule 20 applies them):
1. Every (re-)queue of a call writes one ``queued`` call event carrying its
   :class:`Place`: the first entry from the IVR, an overflow to another queue, a
   supervisor's move, a transfer to a queue or to a named agent, a callback entering
   the ACD. ``why`` says which.
2. The place is what the ACD keeps of the call: the queue, the base priority, the
   entry time its wait counts from (kept by an overflow and a move, new at a
   transfer), and the agent it is held for alone, with that hold's deadline
   (``acd.core`` rule 12: a transfer to a named agent, a sticky agent); None when
   it is held for nobody.
3. Times are wall-clock (UTC), so the event means the same to a restarted
   controller: it reads the last ``queued`` event of an adopted waiting call and
   puts it back there, held for the same agent until the same deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: what the ``queued`` event's ``why`` may say (rule 1)
WHYS = ("ivr", "overflow", "move", "transfer", "callback")


class BadPlace(ValueError):
    """A ``queued`` event's data that does not say a place (names the field)."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a call waits: its queue, base priority, entry and the agent it is held for."""

    queue: str
    priority: int
    #: when its wait began (the ACD's ``entered_at``), UTC
    entered_at: dt.datetime
    why: str = "ivr"
    #: the agent it is held for alone (ACD rule 12), and until when (UTC); None: nobody
    held_for: str | None = None
    hold_until: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.why not in WHYS:
            raise BadPlace(f"why: {self.why!r} is not one of {', '.join(WHYS)}")
        if (self.held_for is None) != (self.hold_until is None):
            raise BadPlace("held_for and hold_until: one without the other")

    @property
    def hold_s(self) -> float | None:
        """How long from its entry the call is held for ``held_for`` (None: nobody)."""
        if self.hold_until is None:
            return None
        return max(0.0, (self.hold_until - self.entered_at).total_seconds())

    def data(self) -> dict[str, Any]:
        """The ``queued`` call event's data (JSON)."""
        return {
            "queue": self.queue,
            "priority": self.priority,
            "entered_at": self.entered_at.isoformat(),
            "why": self.why,
            "held_for": self.held_for,
            "hold_until": None if self.hold_until is None else self.hold_until.isoformat(),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any], entered: dt.datetime | None = None) -> Place:
        """The place a ``queued`` event's data says; :class:`BadPlace` names the bad field.
        ``entered``: the entry of an event written before they carried one (queue and
        priority only), else such an event is refused too."""
        queue = data.get("queue")
        if not isinstance(queue, str) or not queue:
            raise BadPlace(f"queue: {queue!r} is not a queue name")
        priority = data.get("priority")
        if type(priority) is not int:
            raise BadPlace(f"priority: {priority!r} is not an integer")
        held_for = data.get("held_for")
        if held_for is not None and (not isinstance(held_for, str) or not held_for):
            raise BadPlace(f"held_for: {held_for!r} is not an agent id")
        if "entered_at" not in data and entered is not None:
            return cls(queue, priority, entered)
        return cls(queue, priority, _time(data, "entered_at"), str(data.get("why") or "ivr"),
                   held_for, _time(data, "hold_until") if held_for is not None else None)  # fmt: skip


def _time(data: Mapping[str, Any], field: str) -> dt.datetime:
    value = data.get(field)
    try:
        when = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise BadPlace(f"{field}: {value!r} is not an ISO time with its offset")
    return when
