"""Where a queue's caller goes when it overflows (``queues[].overflow``): pure data.

Rules (the call-flow core's rule 12 applies them):
1. The ACD overflows a call (``OverflowCall``, its visit ending ``timeout``) past
   its queue's ``max_wait_s``, on arrival at a queue holding ``max_length``
   unanswered calls or (``join_empty: false``) with no agent able to take calls,
   and (``leave_when_empty``) when the queue's last such agent logs out or pauses
   (``acd.core`` rule 10). One target per queue, whatever the reason.
2. The targets: ``queue`` (another queue, keeping the caller's entry time, so its
   wait and aging priority go on; SQL's call row names the new queue, its
   ``queued_at`` the first entry, so a restarted controller puts the caller back
   there with its wait; a queue the call already overflowed from is
   never entered again: the caller is hung up instead, so two queues that overflow
   into each other cannot loop), ``voicemail`` / ``callback`` / ``ivr`` (the IVR
   runs from that node: a ``voicemail`` node takes a message, a ``callback`` node
   stores a request, any node for ``ivr``), ``hangup`` (an optional prompt, then
   ``HANGUP``; the default, with no prompt: what a timed-out caller got before).
3. A call has one outcome (SQL keeps the first). Sent on to a queue, its outcome
   is that queue's: the ``timeout`` of the queue it left is not recorded, the
   ``overflow`` call event (queue, target) tells it. Sent anywhere else it keeps
   ``timeout``; an IVR node that routes it to a queue again gives that visit no
   outcome of its own (refused as a second one and logged): point such nodes at a
   voicemail, a callback or a hang-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["queue", "voicemail", "callback", "ivr", "hangup"]


@dataclass(frozen=True, slots=True)
class OverflowTarget:
    """Where an overflowing caller goes: ``kind`` and its queue, node or prompt."""

    kind: Kind = "hangup"
    #: the queue (queue), the IVR node (voicemail, callback, ivr) or the prompt played
    #: before the hang-up (hangup; None: none)
    target: str | None = None


#: a queue without ``overflow``: hang up, no message
HANG_UP = OverflowTarget()
