"""One queue's live parts, as each of its calls reaches them.

Rules:
1. ``Call.queued_in`` is its queue's ``Queue``: the hot path reads a call's
   configuration, figures, line and READY agents through it, not by looking
   the queue's name up in five tables of every queue (each look-up in a cold
   table of 5,000 queues costs cache misses, and a routing decision made five).
2. The parts are the core's own (``Acd._build`` makes them with the board and
   the router); a reload makes new ones and points every call at them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .config import QueueConfig
from .line import Line
from .ready import ReadyAgents
from .skills import Requirement, relax_level
from .stats import QueueBoard

if TYPE_CHECKING:
    from .call import Call


class Queue:
    """A queue's configuration, figures, calls, line and READY agents, together."""

    __slots__ = (
        "config",
        "board",
        "calls",
        "line",
        "ready",
        "rotating",
        "needs",
        "bits",
        "relax_next",
        "entry_level",
    )

    def __init__(
        self,
        config: QueueConfig,
        board: QueueBoard,
        calls: dict[str, Call],
        line: Line,
        ready: ReadyAgents,
        needs: list[Requirement],
        bits: list[int],
    ) -> None:
        self.config = config
        #: its figures (``acd.stats``)
        self.board = board
        #: its calls, any state (``Board.calls_in`` of this queue)
        self.calls = calls
        self.line = line
        self.ready = ready
        #: round-robin: an offer moves the rotation (``ReadyAgents.offered``)
        self.rotating = ready.rotating
        #: what its own skills require at each relax step (``Acd._relax``), and as bits
        self.needs = needs
        self.bits = bits
        steps = config.relax
        #: for a call with the queue's own skills at relax level ``i``: the wait at which its
        #: requirement next changes (a later step that lowers it), or None: no relax
        #: deadline is kept for a step that changes nothing (``Acd._relax``)
        self.relax_next: list[float | None] = [
            next((steps[k].after_s for k in range(i, len(steps)) if bits[k + 1] != bits[i]), None)
            for i in range(len(steps) + 1)
        ]
        #: the relax level of a call that has not waited yet (steps at 0 s)
        self.entry_level = relax_level(steps, 0.0)
