"""AMI actions that act on calls: Originate, AGI, Hangup, Redirect, Bridge, transfers,
variables and MixMonitor. Error texts are Asterisk 22's (08-errors, 04-mixmonitor).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .audio import Recording, option_arg
from .bridging import create_bridge, enter, go_on, leave_bridge, pull
from .channels import Channel
from .dialplan import extension_exists
from .originate import local_context_missing, originate, parse
from .replies import (
    Handler,
    ack,
    aid,
    channel_arg,
    error,
    list_complete,
    list_start,
    required,
    transferer,
    variable_target,
)
from .transfer import action_atxfer, action_cancel_atxfer
from .variables import getvar
from .wire import ActionFrame

if TYPE_CHECKING:
    from .server import Session


async def action_originate(s: Session, a: ActionFrame) -> None:
    req = parse(a)
    if isinstance(req, str):
        error(s, a, req)
        return
    if not req.application and not extension_exists(req.context, req.exten, req.priority):
        error(s, a, "Extension does not exist.")  # 08: checked before dialing
        return
    w = s.world
    if req.is_async:
        ack(s, a, "Originate successfully queued")
        w.spawn(originate(w, req), f"originate {req.channel}")
    elif local_context_missing(req):
        error(s, a, "Originate failed")  # 08: the answer overtakes the events
        await originate(w, req)
    elif await originate(w, req):
        ack(s, a, "Originate successfully queued")
    else:
        error(s, a, "Originate failed")


async def action_agi(s: Session, a: ActionFrame) -> None:
    name, command = a.get("Channel"), a.get("Command")
    if not name or not command:
        error(s, a, "Both, Channel and Command are *required*")
        return
    ch = s.world.find(name)
    if ch is None:
        error(s, a, f"Channel {name} does not exist.")
        return
    if ch.agi is None and not ch.agi_store:
        error(s, a, f"Failed to add AGI command to channel {ch.name} queue")
        return
    ack(s, a, "Added AGI command to queue")
    ch.agi_queue.put_nowait((command, a.get("CommandID")))


async def action_hangup(s: Session, a: ActionFrame) -> None:
    w = s.world
    got = required(s, a, ("Channel", "No channel specified"))
    if got is None:
        return
    (name,) = got
    raw_cause = a.get("Cause").strip()
    cause = int(raw_cause) if raw_cause.isdigit() else None
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        try:
            pattern = re.compile(name[1:-1])
        except re.error:
            error(s, a, f"Regex compile failed on: {name}")
            return
        # 06: answered as a list, every ChannelHungup before any hangup event.
        matched = [ch for ch in w.channels.values() if pattern.search(ch.name)]
        list_start(s, a, "Channels hung up will follow")
        for ch in matched:
            s.send([("Event", "ChannelHungup"), ("Channel", ch.name), *aid(a)])
        list_complete(s, a, "ChannelsHungupListComplete", len(matched))
        for ch in matched:
            w.hangup(ch, how="action", cause=cause)
        return
    found = w.find(name)
    if found is None:
        error(s, a, "No such channel")
        return
    ack(s, a, "Channel Hungup")
    w.hangup(found, how="action", cause=cause)


async def action_redirect(s: Session, a: ActionFrame) -> None:
    w = s.world
    name, context, exten, prio = (a.get(k) for k in ("Channel", "Context", "Exten", "Priority"))
    for value, msg in (
        (name, "Channel"),
        (context, "Context"),
        (exten, "Exten"),
        (prio, "Priority"),
    ):
        if not value:
            error(s, a, f"{msg} not specified")
            return
    if not prio.strip().isdigit() or int(prio) < 1:
        error(s, a, "Priority is invalid")
        return
    ch = w.find(name)
    if ch is None:
        error(s, a, f"Channel does not exist: {name}")
        return
    if ch.hanging:
        error(s, a, "Redirect failed, channel not up.")
        return
    ack(s, a, "Redirect successful")
    redirect(s, ch, context, exten, int(prio))
    extra = a.get("ExtraChannel")
    other = w.find(extra) if extra else None
    if other is not None and not other.hanging:
        redirect(
            s,
            other,
            a.get("ExtraContext") or context,
            a.get("ExtraExten") or exten,
            int(a.get("ExtraPriority")) if a.get("ExtraPriority").isdigit() else int(prio),
        )


def redirect(s: Session, ch: Channel, context: str, exten: str, priority: int) -> None:
    """ast_async_goto: leave AGI (07, 12: AsyncAGIEnd) or the bridge, run the new place."""
    w = s.world
    if ch.agi is not None:
        ch.agi.end(w, status=None)
    if ch.bridge is not None:
        # unrecorded: a Redirect of a bridged channel (07 redirects only out of AsyncAGI):
        # it leaves the bridge, which dissolves; an ExtraChannel in it is redirected too
        # (an IVR visit mid-call: the caller and its agent leg)
        ch.after_bridge = None
        leave_bridge(w, ch)
    w.moh(ch, False)
    # unrecorded: the channel keeps its Linkedid, so an agent leg that took its caller's in
    # their bridge (21 lists such a leg) is listed with it while it waits where it was sent
    # (the ExtraChannel of an IVR visit in [hotline-agent-wait]); no transcript lists a
    # channel after a Redirect out of a bridge.
    w.start_dialplan(ch, context, exten, priority)


async def action_bridge(s: Session, a: ActionFrame) -> None:
    w = s.world
    n1, n2 = a.get("Channel1"), a.get("Channel2")
    if not n1 or not n2:
        error(s, a, "Missing channel parameter in request")
        return
    c1 = w.find(n1)
    if c1 is None:
        error(s, a, f"Channel1 does not exist: {n1}")
        return
    c2 = w.find(n2)
    if c2 is None:
        error(s, a, f"Channel2 does not exist: {n2}")
        return
    if c1 is c2:
        error(s, a, "Unable to bridge a channel to itself")
        return
    ack(s, a, "Channels have been bridged")
    bridge = create_bridge(w)
    # unrecorded: whether the Bridge action, like Bridge() (21), leaves Status at (null); here
    # the channels keep their application.
    for ch in (c1, c2):  # 03-A: the caller continues at its next priority afterwards
        enter(w, bridge, ch, pull(w, ch))


async def action_blind_transfer(s: Session, a: ActionFrame) -> None:
    w = s.world
    target = transferer(s, a)
    if target is None:
        return
    ch, exten, context = target
    bridge = ch.bridge
    if bridge is None or len(bridge.channels) != 2:
        error(s, a, "Transfer invalid")
        return
    other = next(c for c in bridge.channels if c is not ch)
    ack(s, a, "Transfer succeeded")
    w.emit("BlindTransfer", [("Result", "Success"), *ch.fields("Transferer"), *other.fields("Transferee"),
                             *bridge.fields(), ("IsExternal", "Yes"), ("Context", context),
                             ("Extension", exten)])  # fmt: skip
    other.context, other.exten, other.priority = context, exten, 1
    # unrecorded: 07 B's agent leg ran Bridge() with option Tt; with F() (Hotline's agent
    # legs) the transfer's target wins, as Asterisk's ast_bridge_join discards the
    # after-bridge goto of a channel moved by an async goto (bridge.c).
    other.after_bridge = (context, exten, 1)
    leave_bridge(w, ch)
    go_on(w, ch)


async def action_getvar(s: Session, a: ActionFrame) -> None:
    w = s.world
    target = variable_target(s, a)
    if target is None:
        return
    var, ch = target
    value = getvar(w, ch, var) if ch is not None else s.sim.globals.get(var)
    ack(s, a, None, ("Variable", var), ("Value", value or ""))


async def action_setvar(s: Session, a: ActionFrame) -> None:
    w = s.world
    target = variable_target(s, a)
    if target is None:
        return
    var, ch = target
    if ch is None:
        s.sim.globals[var] = a.get("Value")
    ack(s, a, "Variable Set")
    if ch is not None:
        w.set_var(ch, var, a.get("Value"))


async def action_mixmonitor(s: Session, a: ActionFrame) -> None:
    w = s.world
    ch = channel_arg(s, a)
    if ch is None:
        return
    if ch.swapping:
        # unrecorded: see World.bridge_swap_s (Asterisk's log, not an AMI transcript).
        # The bridge swaps the caller's channel (Surrogate/…) for a moment: the name finds
        # nothing, answered as 08 answers a missing channel (World.bridge_swap_s).
        error(s, a, "No such channel")
        return
    file = a.get("File") or f"{ch.uniqueid}.wav"
    path = Path(file) if file.startswith("/") else (w.spool_dir / "monitor" / file)
    path = path.absolute()
    options = a.get("Options")
    rec = Recording(w, ch, path, options, w.pointer())
    ch.recordings.append(rec)
    w.recordings.append(rec)
    var = option_arg(options, "i")
    # 04: MixMonitorID only when the i() option names a variable.
    ack(s, a, None, *([("MixMonitorID", rec.id)] if var else []))
    w.set_var(ch, "MIXMONITOR_FILENAME", str(path))
    if var:
        w.set_var(ch, var, rec.id)
    w.chan_event("MixMonitorStart", ch)


async def action_stop_mixmonitor(s: Session, a: ActionFrame) -> None:
    w = s.world
    ch = channel_arg(s, a)
    if ch is None:
        return
    wanted = a.get("MixMonitorID")
    recs = [r for r in ch.recordings if not wanted or r.id == wanted]
    if not recs:
        error(s, a, "Could not stop monitoring channel")
        return
    # 18: with a MixMonitorID that one; without, the most recently started one.
    recs[-1].finish(w)
    ack(s, a)
    w.chan_event("MixMonitorStop", ch)  # only for StopMixMonitor, never at hangup (04)


async def action_mixmonitor_mute(s: Session, a: ActionFrame) -> None:
    w = s.world
    got = required(
        s,
        a,
        ("Channel", "No channel specified"),
        ("Direction", "No direction specified"),
        ("State", "No state specified"),
    )
    if got is None:
        return
    name, direction, state = got
    ch = w.find(name)
    if ch is None:
        error(s, a, "No such channel")
        return
    direction = direction.lower()
    # unrecorded: no transcript refuses a MixMonitorMute; "Cannot set mute flag" (a bad
    # Direction, or a channel with no recording) is Asterisk 22's app_mixmonitor.c text
    if direction not in ("read", "write", "both") or not ch.recordings:
        error(s, a, "Cannot set mute flag")
        return
    on = state.strip().lower() in ("1", "true", "yes", "on")
    wanted = a.get("MixMonitorID")
    # 18: with a MixMonitorID only that recording, without it every one of the channel.
    # unrecorded: an unknown MixMonitorID (answered like a channel with no recording).
    recs = [r for r in ch.recordings if not wanted or r.id == wanted]
    if not recs:
        error(s, a, "Cannot set mute flag")
        return
    for rec in recs:
        if direction in ("read", "both"):
            rec.mute_read = on
        if direction in ("write", "both"):
            rec.mute_write = on
        rec.update(w)
    ack(s, a)
    w.chan_event("MixMonitorMute", ch, ("Direction", direction), ("State", "1" if on else "0"))


HANDLERS: dict[str, Handler] = {
    "originate": action_originate,
    "agi": action_agi,
    "hangup": action_hangup,
    "redirect": action_redirect,
    "bridge": action_bridge,
    "blindtransfer": action_blind_transfer,
    "getvar": action_getvar,
    "setvar": action_setvar,
    "mixmonitor": action_mixmonitor,
    "stopmixmonitor": action_stop_mixmonitor,
    "mixmonitormute": action_mixmonitor_mute,
    "atxfer": action_atxfer,
    "cancelatxfer": action_cancel_atxfer,
}
