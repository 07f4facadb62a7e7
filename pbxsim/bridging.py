"""Two-party basic bridges: create, pull a channel in, leave, dissolve.

From 03/04/07:

1. ``BridgeCreate`` (0 channels), then ``BridgeEnter`` per channel with the count
   after entering; ``BridgeLeave`` with the count after leaving; ``BridgeDestroy``.
2. A channel pulled out of AsyncAGI into a bridge gets **no** AsyncAGIEnd, keeps
   its name and Uniqueid, and its Priority moves to the next one (BridgeEnter
   shows ``Priority: 4`` for a caller parked at 3).
3. A leg entering a bridge takes the Linkedid of the oldest channel in it
   (03: the agent's ``;1`` takes the caller's Linkedid at BridgeEnter).
4. When one party leaves, the bridge dissolves: the other leaves too and goes
   on: back to its dialplan (the Bridge action: next priority; Bridge() with
   ``F(ctx^exten^prio)``: there), or ends its Bridge() application.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any

from .channels import Bridge, Channel

if TYPE_CHECKING:
    from .world import World


def create_bridge(world: World) -> Bridge:
    bridge = Bridge(str(uuid.UUID(int=world.rng.getrandbits(128), version=4)))
    world.bridges[bridge.uniqueid] = bridge
    world.emit("BridgeCreate", bridge.fields())
    return bridge


def pull(world: World, ch: Channel) -> Any:
    """Take ``ch`` out of whatever it runs; return where it goes when the bridge ends."""
    if ch.bridge is not None:
        leave_bridge(world, ch, dissolve=False)
    if ch.agi is not None:
        # 03: no AsyncAGIEnd; 21: the running command never reports.
        # unrecorded: 21 shows the loss for Bridge(); the Bridge action is taken to do the same.
        ch.agi.lose(world)
    world.moh(ch, False)  # 21: Bridge() stops the caller's hold music (MusicOnHoldStop)
    mode = ch.mode
    world.stop_runner(ch)
    ch.dtmf_sink = None
    if mode == "dialplan":
        ch.priority += 1
        return (ch.context, ch.exten, ch.priority)
    return "hangup"


def enter(world: World, bridge: Bridge, ch: Channel, after: Any) -> None:
    """Put ``ch`` in ``bridge``; ``after`` is where it goes when the bridge ends."""
    ch.after_bridge = after
    ch.bridge = bridge
    if bridge.channels:
        oldest = min(bridge.channels + [ch], key=lambda c: (c.created, _seq(c.linkedid)))
        ch.linkedid = oldest.linkedid
    bridge.channels.append(ch)
    ch.publish()
    world.emit("BridgeEnter", bridge.fields() + ch.fields())
    if len(bridge.channels) == 2:
        a, b = bridge.channels
        world.set_var(a, "BRIDGEPEER", b.name)
        world.set_var(b, "BRIDGEPEER", a.name)
        world.set_connected(b, a.cid_num, a.cid_name)
        world.set_connected(a, b.cid_num, b.cid_name)
        for c in bridge.channels:
            for rec in c.recordings:
                rec.update(world)
    for hook in list(world.bridge_hooks):
        hook(bridge, ch, True)


def leave_bridge(world: World, ch: Channel, *, dissolve: bool = True, destroy: bool = True) -> None:
    """Take ``ch`` out of its bridge; a bridge left with one party dissolves."""
    bridge = ch.bridge
    if bridge is None:
        return
    ch.bridge = None
    if ch in bridge.channels:
        bridge.channels.remove(ch)
    if len(bridge.channels) == 1 and "BRIDGEPEER" in ch.variables:
        world.set_var(ch, "BRIDGEPEER", "")
    ch.publish()
    world.emit("BridgeLeave", bridge.fields() + ch.fields())
    for rec in ch.recordings:
        rec.update(world)
    for hook in list(world.bridge_hooks):
        hook(bridge, ch, False)
    if bridge.talk_timer is not None:
        bridge.talk_timer.cancel()
        bridge.talk_timer = None
    if dissolve and len(bridge.channels) == 1:
        other = bridge.channels[0]
        if other.hangupcause == 0 and ch.hanging:
            other.hangupcause = 16
        leave_bridge(world, other, dissolve=False)
        go_on(world, other)
    if destroy and not bridge.channels and world.bridges.pop(bridge.uniqueid, None) is not None:
        world.emit("BridgeDestroy", bridge.fields())


def go_on(world: World, ch: Channel) -> None:
    """``ch`` left a dissolved bridge: resume where :func:`enter` was told to."""
    after, ch.after_bridge = ch.after_bridge, None
    if ch.hanging or ch.gone:
        return
    if isinstance(after, asyncio.Future):
        if not after.done():
            after.set_result(None)  # the Bridge() application returns
    elif isinstance(after, tuple):
        world.start_dialplan(ch, *after)
    elif callable(after):
        after()
    else:
        world.hangup(ch, how="app", cause=16)


def _seq(uid: str) -> int:
    try:
        return int(uid.rpartition(".")[2])
    except ValueError:
        return 0


def parse_goto(spec: str, ch: Channel, sep: str = "^") -> tuple[str, str, int]:
    """``ctx^exten^prio`` / ``exten^prio`` / ``prio`` relative to ``ch``'s position."""
    parts = [p for p in spec.split(sep)]
    context, exten = ch.context, ch.exten
    if len(parts) >= 3:
        context, exten, prio = parts[0], parts[1], parts[2]
    elif len(parts) == 2:
        exten, prio = parts
    else:
        prio = parts[0]
    try:
        return context, exten, int(prio)
    except ValueError:
        return context, exten, 1
