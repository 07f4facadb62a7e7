"""AMI actions: dispatch, login, and the informational and list actions.

Response shapes follow header-inventory.txt: ``Response``, then ``ActionID``
only if the action had one, then the rest. Lists answer ``EventList: start`` and
end with ``<X>Complete`` / ``EventList: Complete`` / ``ListItems`` (06).
Call-control actions live in :mod:`pbxsim.call_actions`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import call_actions
from .channels import Channel
from .listcommands import LIST_COMMANDS, allowed
from .replies import Handler, ack, aid, error, list_complete, list_start, required
from .sip.texts import ChannelRow, pjsip_show_channels
from .variables import getvar
from .wire import ActionFrame, Fields

if TYPE_CHECKING:
    from .server import Session

VERSION = "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-22 17:29:57 UTC"
#: Actions an unauthenticated session may send (manager.c); others: Permission denied (08).
BEFORE_LOGIN = {"login", "challenge", "logoff"}


def hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


# -- session ------------------------------------------------------------------
async def login(s: Session, a: ActionFrame) -> None:
    if s.user:
        ack(s, a, "Already authenticated")
        return
    user = a.get("Username")
    secret = s.sim.users.get(user)
    if a.get("AuthType").lower() == "md5":
        good = (
            secret is not None
            and bool(s.challenge)
            and a.get("Key").lower() == hashlib.md5((s.challenge + secret).encode()).hexdigest()
        )
    else:
        good = secret is not None and a.get("Secret") == secret
    if not good:
        # 08-errors: answered about 1 s later, then the socket is closed.
        await s.world.sleep(1.0)
        error(s, a, "Authentication failed")
        s.close()
        return
    s.user = user
    s.writeperm = s.sim.writeperm(user)
    events = a.get("Events")
    if events:
        s.events_on = events.lower() not in ("off", "no", "false", "0", "none")
    ack(s, a, "Authentication accepted")
    uptime = str(int(s.world.now()))  # simulated seconds, like Duration
    if s.sim.booted:  # 20: a login during the boot gets FullyBooted later, as an event
        s.send_event([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime),
                      ("LastReload", uptime), ("Status", "Fully Booted")])  # fmt: skip
    s.world.emit("SuccessfulAuth", [
        ("EventTV", s.event_tv()), ("Severity", "Informational"), ("Service", "AMI"),
        ("EventVersion", "1"), ("AccountID", user), ("SessionID", s.session_id),
        ("LocalAddress", s.local_address), ("RemoteAddress", s.remote_address),
        ("UsingPassword", "0"), ("SessionTV", s.session_tv),
    ])  # fmt: skip


async def challenge(s: Session, a: ActionFrame) -> None:
    if a.get("AuthType").lower() != "md5":
        error(s, a, "Must specify AuthType")
        return
    if not s.challenge:
        s.challenge = str(s.world.random_id(31))
    ack(s, a, None, ("Challenge", s.challenge))


async def logoff(s: Session, a: ActionFrame) -> None:
    s.send([("Response", "Goodbye"), *aid(a), ("Message", "Thanks for all the fish.")])
    s.close()


async def ping(s: Session, a: ActionFrame) -> None:
    ack(s, a, None, ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}"))


async def events(s: Session, a: ActionFrame) -> None:
    mask = a.get("EventMask").strip().lower()
    s.events_on = mask not in ("off", "no", "false", "0", "none", "")
    ack(s, a, None, ("Events", "On" if s.events_on else "Off"))


async def core_settings(s: Session, a: ActionFrame) -> None:
    ack(s, a, None, ("AMIversion", "11.0.0"), ("AsteriskVersion", "22.10.1"), ("SystemName", ""),
        ("CoreMaxCalls", "0"), ("CoreMaxLoadAvg", "0.000000"), ("CoreRunUser", ""),
        ("CoreRunGroup", ""), ("CoreMaxFilehandles", "8192"), ("CoreRealTimeEnabled", "No"),
        ("CoreCDRenabled", "Yes"), ("CoreHTTPenabled", "No"), ("SoundsSearchCustomDir", "No"))  # fmt: skip


async def core_status(s: Session, a: ActionFrame) -> None:
    w = s.world
    start = time.gmtime(w.started_at)
    date, clock = time.strftime("%Y-%m-%d", start), time.strftime("%H:%M:%S", start)
    calls = sum(1 for c in w.channels.values() if c.half != 2)
    ack(s, a, None, ("CoreStartupDate", date), ("CoreStartupTime", clock), ("CoreReloadDate", date),
        ("CoreReloadTime", clock), ("CoreCurrentCalls", str(calls)),
        ("CoreProcessedCalls", str(w.processed_calls)))  # fmt: skip


async def list_commands(s: Session, a: ActionFrame) -> None:
    # unrecorded: 06's user held every write class; a narrower user sees only its
    # actions (manager.c action_listcommands, see pbxsim.listcommands)
    ack(s, a, None, *((n, t) for n, t in LIST_COMMANDS if allowed(n, s.writeperm)))


async def user_event(s: Session, a: ActionFrame) -> None:
    name = a.get("UserEvent")
    if not name:
        error(s, a, "UserEvent header missing")
        return
    skip = {"action", "actionid", "userevent"}
    fields = [("UserEvent", name)]
    for line in a.lines:
        key, colon, value = line.partition(":")
        if colon and key.strip().lower() not in skip:
            fields.append((key.strip(), value.strip()))
    s.world.emit("UserEvent", fields)
    ack(s, a, "Event Sent")


# -- channel listings -----------------------------------------------------------
async def core_show_channels(s: Session, a: ActionFrame) -> None:
    list_start(s, a, "Channels will follow")
    chans = list(s.world.channels.values())
    now = s.world.now()
    for ch in chans:
        s.send([("Event", "CoreShowChannel"), *aid(a), *ch.fields(), ("Application", ch.shown_app),
                ("ApplicationData", ch.shown_appdata), ("Duration", hms(now - ch.since)),
                ("BridgeId", ch.bridge.uniqueid if ch.bridge else "")])  # fmt: skip
    list_complete(s, a, "CoreShowChannelsComplete", len(chans))


def _null(value: str | None) -> str:
    """How Status prints a channel's missing application (21: ``(null)``)."""
    return "(null)" if value is None else value


def _status_fields(s: Session, ch: Channel) -> Fields:
    native = "(slin)" if ch.tech == "Local" else "(ulaw)"
    fmt = native.strip("()")
    read_trans = write_trans = ""
    if (
        ch.tech != "Local"
        and ch.bridge is not None
        and any(o.tech == "Local" for o in ch.bridge.channels if o is not ch)
    ):
        # 21: a PJSIP leg bridged with a Local channel translates ulaw <-> slin.
        fmt = "slin"
        read_trans, write_trans = "(ulaw@8000)->(slin@8000)", "(slin@8000)->(ulaw@8000)"
    return [
        ("Event", "Status"), ("Privilege", "Call"), *ch.fields(), ("Type", ch.tech), ("DNID", ch.dnid),
        ("EffectiveConnectedLineNum", ch.conn_num), ("EffectiveConnectedLineName", ch.conn_name),
        ("TimeToHangup", "0"), ("BridgeID", ch.bridge.uniqueid if ch.bridge else ""),
        ("Application", _null(ch.app)), ("Data", _null(ch.appdata)), ("Nativeformats", native),
        ("Readformat", fmt), ("Readtrans", read_trans), ("Writeformat", fmt),
        ("Writetrans", write_trans),
        ("Callgroup", "0"), ("Pickupgroup", "0"), ("Seconds", str(int(s.world.now() - ch.since))),
    ]  # fmt: skip


async def status(s: Session, a: ActionFrame) -> None:
    w = s.world
    name = a.get("Channel")
    if name:
        ch = w.find(name)
        if ch is None:
            error(s, a, "No such channel")
            return
        chans = [ch]
    else:
        chans = list(w.channels.values())
    wanted = [v.strip() for v in a.get("Variables").split(",") if v.strip()]
    all_vars = a.get("AllVariables").lower() in ("true", "yes", "1", "on")
    list_start(s, a, "Channel status will follow")
    for ch in chans:
        fields = _status_fields(s, ch)
        for v in wanted:
            value = getvar(w, ch, v)  # 21: a variable that is not set shows as (null)
            fields.append(("Variable", f"{v}={'(null)' if value is None else value}"))
        if all_vars:  # 06: the channel's own variables, most recently set first
            fields += [("Variable", f"{k}={v}") for k, v in reversed(ch.variables.items())]
        s.send(fields + aid(a))  # Status puts ActionID last (06)
    list_complete(s, a, "StatusComplete", len(chans), ("Items", str(len(chans))))


async def bridge_list(s: Session, a: ActionFrame) -> None:
    list_start(s, a, "Bridge listing will follow")
    bridges = list(s.world.bridges.values())
    for b in bridges:
        s.send([("Event", "BridgeListItem"), *aid(a), *b.fields()])
    list_complete(s, a, "BridgeListComplete", len(bridges))


async def bridge_info(s: Session, a: ActionFrame) -> None:
    """21: the bridge's channels, then BridgeInfoComplete repeating the bridge's fields."""
    # unrecorded: the two error texts (bridges.c's manager_bridge_info).
    got = required(s, a, ("BridgeUniqueid", "BridgeUniqueid must be provided"))
    if got is None:
        return
    bridge = s.world.bridges.get(got[0])
    if bridge is None:
        error(s, a, f"Bridge {got[0]} not found")
        return
    list_start(s, a, "Bridge channel listing will follow")
    for ch in bridge.channels:
        s.send([("Event", "BridgeInfoChannel"), *aid(a), *ch.fields()])
    list_complete(s, a, "BridgeInfoComplete", len(bridge.channels), *bridge.fields())


async def queue_status(s: Session, a: ActionFrame) -> None:
    # pbxsim has no app_queue: every queue is unknown, answered as in 08 (empty list).
    list_start(s, a, "Queue status will follow")
    list_complete(s, a, "QueueStatusComplete", 0)


async def queue_summary(s: Session, a: ActionFrame) -> None:
    list_start(s, a, "Queue summary will follow")
    list_complete(s, a, "QueueSummaryComplete", 0)


async def queue_add(s: Session, a: ActionFrame) -> None:
    error(s, a, "Unable to add interface to queue: No such queue")


async def queue_remove(s: Session, a: ActionFrame) -> None:
    error(s, a, "Unable to remove interface from queue: No such queue")


async def queue_pause(s: Session, a: ActionFrame) -> None:
    error(s, a, "Interface not found")


# -- CLI ------------------------------------------------------------------------
def _concise(s: Session) -> list[str]:
    now = s.world.now()
    return [
        "!".join([ch.name, ch.context, ch.exten, str(ch.priority), ch.state_desc, ch.shown_app, ch.shown_appdata,
                  "" if ch.cid_num == "<unknown>" else ch.cid_num, ch.accountcode, "", "3",
                  str(int(now - ch.created)), ch.bridge.uniqueid if ch.bridge else "", ch.uniqueid])
        for ch in s.world.channels.values()
    ]  # fmt: skip


def _verbose(s: Session) -> list[str]:
    w = s.world
    out = [f"{'Channel':<64} {'Location':<32} {'State':<7} {'Application(Data)':<50}"]
    for ch in w.channels.values():
        loc = f"{ch.exten}@{ch.context}:{ch.priority}"
        out.append(
            f"{ch.name:<64} {loc:<32} {ch.state_desc:<7} {f'{ch.shown_app}({ch.shown_appdata})':<50}"
        )
    calls = sum(1 for c in w.channels.values() if c.half != 2)
    out += [f"{len(w.channels)} active channel{'s' if len(w.channels) != 1 else ''}",
            f"{calls} active call{'s' if calls != 1 else ''}",
            f"{w.processed_calls} call{'s' if w.processed_calls != 1 else ''} processed"]  # fmt: skip
    return out


def _pjsip_channels(s: Session) -> list[str]:
    now = s.world.now()
    return pjsip_show_channels([
        ChannelRow(ch.name, ch.shown_app, ch.state_desc, now - ch.created, ch.exten, ch.conn_name,
                   ch.conn_num)
        for ch in sorted(s.world.channels.values(), key=lambda c: c.name) if ch.tech == "PJSIP"
    ])  # fmt: skip


CLI: dict[str, Callable[[Session], list[str]]] = {
    "core show version": lambda s: [VERSION],
    "core show channels concise": _concise,
    "core show channels": _verbose,
    "core show uptime": lambda s: [f"System uptime: {int(s.world.now())} seconds"],
    "pjsip show channels": _pjsip_channels,  # 11
}


async def command(s: Session, a: ActionFrame) -> None:
    text = " ".join(a.get("Command").split())
    run = CLI.get(text.lower())
    if run is None:
        words = text.split()
        hint = " ".join(words[:2])
        s.send([("Response", "Error"), *aid(a), ("Message", "Command output follows"),
                ("Output", f"No such command '{text}' (type 'core show help {hint}' for other possible commands)")])  # fmt: skip
        return
    lines = run(s) or [""]  # manager.c strsep()s the output: at least one Output line
    s.send([("Response", "Success"), *aid(a), ("Message", "Command output follows"),
            *[("Output", line) for line in lines]])  # fmt: skip


def handlers() -> dict[str, Handler]:
    """Action name (lower case) -> handler."""
    table: dict[str, Handler] = {
        "login": login, "challenge": challenge, "logoff": logoff, "ping": ping, "events": events,
        "coresettings": core_settings, "corestatus": core_status, "listcommands": list_commands,
        "userevent": user_event, "coreshowchannels": core_show_channels, "status": status,
        "bridgelist": bridge_list, "bridgeinfo": bridge_info,
        "queuestatus": queue_status, "queuesummary": queue_summary,
        "queueadd": queue_add, "queueremove": queue_remove, "queuepause": queue_pause,
        "command": command,
    }  # fmt: skip
    table.update(call_actions.HANDLERS)
    return table
