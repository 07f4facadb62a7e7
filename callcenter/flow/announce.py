"""What a waiting caller is told, and when: pure (a queue's policy, the ACD's figures, ``now``).

Rules (the call-flow core's rule 11 applies them):
1. A caller of a queue with announcements is told its figure first ``first_after_s``
   after entering the queue, then every ``every_s``; the hold slice is cut short so
   it ends at that instant.
2. The figure is the caller's position in line (``position``) and its estimated
   wait (``wait``: ``acd.ewt``) rounded up to a multiple of ``round_s``; at an
   announcement's instant it is said only if it changed since the last one said
   (a caller at the same place with the same wait hears music on).
3. Position 1 is "you are next" (``you_are_next``); any other is ``there_are``,
   the number, ``calls_waiting``. The wait is ``hold_time``, the number of minutes
   (``round_s`` >= 60) or of seconds, then ``minutes`` or ``seconds``; an estimate
   of 0 or none (no talk time observed yet) is not said.
4. In the caller's language: ``{language}`` in a prompt name is the caller's
   (the IVR's choice, else its default language), as the IVR's own prompts are
   laid out (``hotline/vi/...``). Numbers are ``SAY NUMBER`` (``say: number``:
   Asterisk speaks it in the channel's language, which the IVR set with ``SET
   VARIABLE CHANNEL(language)``) or a list of prompts (``say: prompts``:
   ``<digits>/<n>`` up to 20, ``<digits>/<tens>`` and ``<digits>/<unit>`` below
   100, digit by digit above).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

#: what a caller was told: (position or None, rounded wait in seconds or None)
Figure = tuple[int | None, int | None]


@dataclass(frozen=True, slots=True)
class AnnouncePolicy:
    """One queue's position and wait announcements (``queues[].announce``)."""

    first_after_s: float = 30.0
    every_s: float = 60.0
    position: bool = True
    wait: bool = True
    round_s: int = 60
    say: Literal["number", "prompts"] = "number"
    you_are_next: str = "hotline/{language}/queue-youarenext"
    there_are: str = "hotline/{language}/queue-thereare"
    calls_waiting: str = "hotline/{language}/queue-callswaiting"
    hold_time: str = "hotline/{language}/queue-holdtime"
    minutes: str = "hotline/{language}/queue-minutes"
    seconds: str = "hotline/{language}/queue-seconds"
    digits: str = "digits"


def figure(policy: AnnouncePolicy, position: int | None, ewt_s: float | None) -> Figure:
    """What the caller would be told now (rule 2)."""
    wait = None
    if policy.wait and ewt_s is not None:
        wait = math.ceil(ewt_s / policy.round_s - 1e-9) * policy.round_s
    return (position if policy.position else None, wait or None)


def lines(policy: AnnouncePolicy, told: Figure, language: str) -> list[str]:
    """The AGI commands that say ``told`` in ``language`` (rules 3, 4); [] when there
    is nothing to say."""
    position, wait = told
    out: list[str] = []

    def stream(prompt: str) -> None:
        out.append(f'STREAM FILE {prompt.replace("{language}", language)} ""')

    def number(n: int) -> None:
        if policy.say == "number":
            out.append(f'SAY NUMBER {n} ""')
            return
        if n <= 20:
            parts = [n]
        elif n < 100:
            parts = [n // 10 * 10] + ([n % 10] if n % 10 else [])
        else:
            parts = [int(d) for d in str(n)]
        for part in parts:
            stream(f"{policy.digits}/{part}")

    if position == 1:
        stream(policy.you_are_next)
    elif position is not None:
        stream(policy.there_are)
        number(position)
        stream(policy.calls_waiting)
    if wait:
        minutes = policy.round_s >= 60
        stream(policy.hold_time)
        number(wait // 60 if minutes else wait)
        stream(policy.minutes if minutes else policy.seconds)
    return out
