"""Attended transfer (the ``Atxfer`` action), as in 07-C.

1. ``Atxfer`` is acknowledged (``Atxfer successfully queued``); the transferer
   gets ``TRANSFER_CONTEXT``, the feature code and the target as ``DTMFEnd``
   (DurationMs 0), ``Hold``; the transferee hears music on hold.
2. A consult Local pair to ``Exten@Context`` is dialed with the transferer's
   Linkedid; once answered its ``;1`` enters a second bridge and the transferer
   moves there (``BridgeLeave`` from the first, ``BridgeEnter`` the second).
3. When the transferer hangs up, the transfer completes: music stops, the
   transferer leaves, ``BridgeMerge`` (second into first), the target moves into
   the first bridge, ``AttendedTransfer`` (DestType Bridge), ``BridgeDestroy``.
4. If the target does not answer or hangs up first, the transferer goes back
   to the first bridge (``Unhold``): not in the transcripts, our choice.
5. ``CancelAtxfer`` (unrecorded: no transcript cancels one): as main/manager.c
   ``action_cancel_atxfer`` does, the ``atxferabort`` feature code is queued to the
   transferer as DTMF (``CancelAtxfer successfully queued``); the target is hung up and
   the transferer goes back to the first bridge as in 4.
6. A PJSIP transferer (unrecorded: 07 C's is a Local ``;1``) does the same; its
   ``Hangup`` completes the transfer as the Local one's does.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .bridging import create_bridge, enter, leave_bridge
from .channels import Bridge, Channel
from .dialplan import extension_exists
from .replies import ack, error, transferer

if TYPE_CHECKING:
    from .server import Session
    from .wire import ActionFrame
    from .world import World

FEATURE = "*2"  # features.conf atxfer (README: test bench)
#: features.conf ``atxferabort``: Asterisk's default (unrecorded: the bench sets none)
ABORT = "*1"
#: features.conf ``atxfernoanswertimeout``: Asterisk's default, 15 s (main/features.c
#: DEFAULT_NOANSWER_TIMEOUT_ATTENDED_TRANSFER; unrecorded: 07 C's target answered)
CONSULT_TIMEOUT = 15.0


@dataclass(eq=False)
class Consult:
    transferer: Channel
    transferee: Channel
    first: Bridge
    after: Any  #: where the transferer goes when its call ends (its Bridge() app)
    target: Channel | None = None
    second: Bridge | None = None
    cancelled: bool = False


# unrecorded: an Atxfer declined or unanswered returns the transferer to the caller (Unhold).
async def action_atxfer(s: Session, a: ActionFrame) -> None:
    w = s.world
    target = transferer(s, a)
    if target is None:
        return
    ch, exten, context = target
    if a.get("Context"):
        w.set_var(ch, "TRANSFER_CONTEXT", context)
    ack(s, a, "Atxfer successfully queued")
    bridge = ch.bridge
    if bridge is None or len(bridge.channels) != 2 or ch.name in w.consults:
        return  # the feature code reaches a channel that is not bridged: nothing happens
    other = next(c for c in bridge.channels if c is not ch)
    consult = Consult(ch, other, bridge, ch.after_bridge)
    w.consults[ch.name] = consult
    for digit in FEATURE:
        w.chan_event(
            "DTMFEnd", ch, ("Digit", digit), ("DurationMs", "0"), ("Direction", "Received")
        )
    w.chan_event("Hold", ch)
    w.moh(other, True)
    for digit in exten:
        w.chan_event(
            "DTMFEnd", ch, ("Digit", digit), ("DurationMs", "0"), ("Direction", "Received")
        )
    w.spawn(_dial(w, consult, exten, context), f"atxfer {ch.name}")


async def _dial(w: World, c: Consult, exten: str, context: str) -> None:
    if c.cancelled:
        return
    if not extension_exists(context, exten):
        _abort(w, c)
        return
    one, two = w.new_local_pair(exten, context, linkedid=c.transferer.linkedid)
    one.role, one.agent_key = "agent", exten
    for name in ("TRANSFERERNAME", "ATTENDEDTRANSFER"):
        w.set_var(one, name, c.transferer.name)
    c.target = one
    c.second = create_bridge(w)
    w.emit(
        "LocalBridge",
        one.fields("LocalOne")
        + two.fields("LocalTwo")
        + [("Context", context), ("Exten", exten), ("LocalOptimization", "Yes")],
    )
    one.answered = asyncio.get_running_loop().create_future()
    w.start_dialplan(two, context, exten, 1)
    await asyncio.wait({one.answered}, timeout=CONSULT_TIMEOUT / w.time_scale)
    outcome = one.answered.result() if one.answered.done() else "noanswer"
    if outcome != "answer" or c.transferer.hanging or w.consults.get(c.transferer.name) is not c:
        if not one.hanging:
            # unrecorded: the target's cause when it rang out (19), was busy (17: its phone
            # half's Busy(), as in 03-C) or was cancelled (16)
            w.hangup(one, how="action", cause={"noanswer": 19, "busy": 17}.get(outcome, 16))
        _abort(w, c)
        return
    w.emit("DialEnd", one.fields("Dest") + [("DialStatus", "ANSWER")])
    one.mode = "app"
    enter(w, c.second, one, "hangup")
    leave_bridge(w, c.transferer, dissolve=False)
    enter(w, c.second, c.transferer, lambda: _back(w, c))


def _back(w: World, c: Consult) -> None:
    """The target left the consultation: the transferer returns to the transferee."""
    _abort(w, c)


def _abort(w: World, c: Consult) -> None:
    if w.consults.get(c.transferer.name) is c:
        del w.consults[c.transferer.name]
    ch, other = c.transferer, c.transferee
    if not other.gone:
        w.moh(other, False)
    if ch.hanging or ch.gone:
        return
    w.chan_event("Unhold", ch)
    if c.first.uniqueid in w.bridges and not other.hanging:
        if ch.bridge is not c.first:
            if ch.bridge is not None:
                leave_bridge(w, ch, dissolve=False)
            enter(w, c.first, ch, c.after)
    elif ch.bridge is None:
        w.hangup(ch, how="app", cause=16)


def complete(w: World, ch: Channel) -> None:
    """``ch`` hangs up during a consultation: hand the transferee to the target (07-C)."""
    c = w.consults.pop(ch.name, None)
    if c is None:
        return
    target, second, first, other = c.target, c.second, c.first, c.transferee
    if (
        target is None
        or second is None
        or target.hanging
        or other.hanging
        or first.uniqueid not in w.bridges
        or target.bridge is not second
    ):
        if not other.gone:
            w.moh(other, False)
        return
    w.moh(other, False)
    if ch.bridge is second:
        leave_bridge(w, ch, dissolve=False)
    w.emit("BridgeMerge", first.fields("To") + second.fields("From"))
    leave_bridge(w, target, dissolve=False, destroy=False)
    enter(w, first, target, "hangup")
    w.emit(
        "AttendedTransfer",
        [("Result", "Success"), *ch.fields("OrigTransferer"), *first.fields("Orig")]
        + [*ch.fields("SecondTransferer"), *second.fields("Second")]
        + [*other.fields("Transferee"), ("IsExternal", "No"), ("DestType", "Bridge")]
        + [("DestBridgeUniqueid", first.uniqueid)],
    )
    if w.bridges.pop(second.uniqueid, None) is not None:
        w.emit("BridgeDestroy", second.fields())


# unrecorded: no transcript cancels an attended transfer (see the module's rule 5).
async def action_cancel_atxfer(s: Session, a: ActionFrame) -> None:
    w = s.world
    name = a.get("Channel")
    if not name:
        error(s, a, "No channel specified")
        return
    ch = w.find(name)
    if ch is None:
        error(s, a, "Channel specified does not exist")
        return
    ack(s, a, "CancelAtxfer successfully queued")
    for digit in ABORT:
        w.chan_event(
            "DTMFEnd", ch, ("Digit", digit), ("DurationMs", "0"), ("Direction", "Received")
        )
    c = w.consults.get(ch.name)
    if c is None or c.cancelled:
        return  # no transfer under way: the digits reach the bridge and nothing happens
    c.cancelled = True
    target = c.target
    if target is None:
        _abort(w, c)  # not dialled yet: _dial does nothing
    elif target.answered is not None and not target.answered.done():
        target.answered.set_result("cancel")  # still ringing: _dial hangs it up
    elif not target.hanging:
        w.hangup(target, how="action", cause=16)  # _back returns the transferer
