"""AsyncAGI: a channel parked in ``AGI(agi:async)`` runs commands sent by AMI.

From 02/12/13:

1. Entering gives ``AsyncAGIStart`` with ``Env`` = url-encoded ``agi_*: v`` lines
   ending with a blank line (``%0A%0A``).
2. Each command: ``AGIExecStart`` (``CommandId`` a random number of ours),
   ``AGIExecEnd`` (``ResultCode`` 200/510/520/-1 and ``Result`` text), then
   ``AsyncAGIExec`` with the url-encoded AGI line and ``CommandId`` echoing the
   client's ``CommandID``.
3. A command answered with RESULT_FAILURE (``STREAM FILE`` of a missing file:
   ``200 result=-1 endpos=0``) ends AsyncAGI: ``AsyncAGIEnd``, ``AGISTATUS=FAILURE``
   and the dialplan goes on (13). ``HANGUP`` ends it with ``AGISTATUS=HANGUP``.

Hangup while a command runs (a caller abandoning during ``EXEC MusicOnHold``):
no transcript records it. We answer the command as res_agi would when the
stream or application returns -1 (``200 result=-1``, with ``endpos`` for
streams; ResultCode -1 ``Failure`` except GET DATA), then ``AsyncAGIEnd`` and
``AGISTATUS=HANGUP``, then the Hangup events: the same order as 06, where a
Hangup action hit idle AGI channels (AsyncAGIEnd, VarSet AGISTATUS, ...Hangup).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .agi_commands import COMMANDS
from .agi_kit import (
    HUNGUP,
    UNKNOWN_CMD,
    USAGE,
    DigitReader,
    Handler,
    Reply,
    Running,
    answer_if_needed,
    ok,
    play,
)
from .channels import Channel
from .variables import getvar, substitute
from .wire import uri_encode

if TYPE_CHECKING:
    from .world import World

class AgiSession:
    """One stay in AsyncAGI (from AsyncAGIStart to AsyncAGIEnd or a bridge)."""

    def __init__(self, ch: Channel) -> None:
        self.ch = ch
        self.running: Running | None = None
        self.ended = False

    def lose(self, world: World) -> None:
        """Pulled into a bridge by another channel's Bridge() (21): Asterisk moves the caller
        into a new channel and the old one (``Surrogate/…``) finishes the running command
        silently, so it never reports (no AGIExecEnd, no AsyncAGIExec); the command queue
        stays with the caller, for its next AsyncAGI."""
        self.running = None
        self.end(world, status=None, announce=False)

    def end(self, world: World, status: str | None, announce: bool = True) -> None:
        """Leave AsyncAGI: answer a running command, then AsyncAGIEnd and AGISTATUS."""
        if self.ended:
            return
        self.ended = True
        ch = self.ch
        if ch.agi is self:
            ch.agi = None
        ch.dtmf_sink = None
        if self.running is not None:
            running, self.running = self.running, None
            finish(world, ch, running, running.interrupted())
        if announce:
            ch.agi_store = False
            # unrecorded: commands queued and not started are dropped with the queue.
            while not ch.agi_queue.empty():
                ch.agi_queue.get_nowait()
            world.chan_event("AsyncAGIEnd", ch)
        if status:
            world.set_var(ch, "AGISTATUS", status)


def finish(world: World, ch: Channel, r: Running, reply: Reply) -> None:
    line, code, text = reply
    world.chan_event(
        "AGIExecEnd",
        ch,
        ("CommandId", str(r.exec_id)),
        ("Command", r.command),
        ("ResultCode", str(code)),
        ("Result", text),
    )
    extra = [("CommandId", r.command_id)] if r.command_id else []
    world.chan_event("AsyncAGIExec", ch, ("Result", uri_encode(line + "\n")), *extra)


def env_text(world: World, ch: Channel) -> str:
    def unk(v: str) -> str:
        return "unknown" if v in ("", "<unknown>") else v

    pairs = [
        ("agi_request", "async"),
        ("agi_channel", ch.name),
        ("agi_language", ch.language),
        ("agi_type", ch.tech),
        ("agi_uniqueid", ch.uniqueid),
        ("agi_version", "22.10.1"),
        ("agi_callerid", unk(ch.cid_num)),
        ("agi_calleridname", unk(ch.cid_name)),
        ("agi_callingpres", "0"),
        ("agi_callingani2", "0"),
        ("agi_callington", "0"),
        ("agi_callingtns", "0"),
        ("agi_dnid", unk(ch.dnid)),
        ("agi_rdnis", "unknown"),
        ("agi_context", ch.context),
        ("agi_extension", ch.exten),
        ("agi_priority", str(ch.priority)),
        ("agi_enhanced", "0.0"),
        ("agi_accountcode", ch.accountcode),
        ("agi_threadid", str(140350000000000 + world.random_id(30))),
    ]
    return "".join(f"{k}: {v}\n" for k, v in pairs) + "\n"


async def run_agi(world: World, ch: Channel) -> None:
    """``AGI(agi:async)``: announce the channel, then run queued commands."""
    session = AgiSession(ch)
    ch.agi = session
    ch.agi_store = True
    world.chan_event("AsyncAGIStart", ch, ("Env", uri_encode(env_text(world, ch))))
    while not session.ended:
        if not ch.agi_queue.empty():
            item = ch.agi_queue.get_nowait()  # 21: a queued command runs at once
        else:
            waiting_since = world.now()
            item = await ch.agi_queue.get()
            try:
                await world.sleep(poll_wait(ch, world.now() - waiting_since))
            except asyncio.CancelledError:
                _requeue(ch, item)  # pulled into a bridge: the command waits for the next AGI
                raise
            if session.ended:
                _requeue(ch, item)
                break
        command, command_id = item
        await execute(world, ch, session, command, command_id)


def poll_wait(ch: Channel, waited: float) -> float:
    """How long a command sent ``waited`` seconds into res_agi's wait still waits.

    The AsyncAGI loop takes a command when its ``ast_waitfor(chan, 100)`` returns: after
    100 ms, or at the next 20 ms frame while audio reaches the channel (its music, its
    caller's). Recorded pick-up delays: up to 0.1 s when silent, 0.02 s with music (15,
    17, 21, 22)."""
    audio = ch.moh or (ch.peer is not None and ch.peer.moh) or ch.tech != "Local"
    # unrecorded: a PJSIP channel is taken to get RTP frames every 20 ms.
    period = 0.02 if audio else 0.1
    return period - (waited % period)


def _requeue(ch: Channel, item: tuple[str, str]) -> None:
    rest = []
    while not ch.agi_queue.empty():
        rest.append(ch.agi_queue.get_nowait())
    for queued in (item, *rest):
        ch.agi_queue.put_nowait(queued)


async def execute(
    world: World, ch: Channel, session: AgiSession, command: str, command_id: str
) -> None:
    r = Running(command, command_id, world.random_id())
    session.running = r
    world.chan_event("AGIExecStart", ch, ("CommandId", str(r.exec_id)), ("Command", command))
    argv = parse_args(command)
    handler, _ = lookup(argv)
    reply = UNKNOWN_CMD if handler is None else await handler(world, ch, r, argv)
    if session.running is not r:
        return  # ended meanwhile (hangup, redirect, bridge): already answered
    session.running = None
    finish(world, ch, r, reply)
    if argv and argv[0].upper() == "HANGUP" and len(argv) == 1:
        world.hangup(ch, how="agi")
    elif reply[1] == -1:
        session.end(world, status="FAILURE")  # 13: RESULT_FAILURE ends AsyncAGI


def parse_args(command: str) -> list[str]:
    """res_agi ``parse_args``: blanks split, double quotes group (and may be empty)."""
    args: list[str] = []
    cur: list[str] = []
    started = quoted = escaped = False
    for c in command:
        if escaped:
            cur.append(c)
            escaped = started = False
        elif c == "\\":
            escaped = started = True
        elif c == '"':
            quoted = not quoted
            started = True
        elif c in " \t" and not quoted:
            if started or cur:
                args.append("".join(cur))
            cur, started = [], False
        else:
            cur.append(c)
            started = True
    if started or cur:
        args.append("".join(cur))
    return args


def lookup(argv: list[str]) -> tuple[Handler | None, int]:
    words = [a.upper() for a in argv]
    for n in (3, 2, 1):
        handler = COMMANDS.get(tuple(words[:n])) if len(words) >= n else None
        if handler is not None:
            return handler, n
    return None, 0


__all__ = [
    "AgiSession",
    "DigitReader",
    "HUNGUP",
    "Reply",
    "Running",
    "USAGE",
    "answer_if_needed",
    "getvar",
    "ok",
    "play",
    "run_agi",
    "substitute",
]
