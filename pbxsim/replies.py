"""What every AMI action handler of pbxsim uses: replies, list framing, argument checks.

Its own module so that :mod:`.actions` (the table of handlers), :mod:`.call_actions`
and :mod:`.transfer` all import it and none of them imports another back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .wire import ActionFrame, Fields

if TYPE_CHECKING:
    from .server import Session

Handler = Callable[["Session", ActionFrame], Awaitable[None]]


def aid(a: ActionFrame) -> Fields:
    return [("ActionID", a.action_id)] if a.action_id else []


def ack(s: Session, a: ActionFrame, message: str | None = None, *extra: tuple[str, str]) -> None:
    s.send([("Response", "Success"), *aid(a), *([("Message", message)] if message else []), *extra])


def error(s: Session, a: ActionFrame, message: str) -> None:
    s.send([("Response", "Error"), *aid(a), ("Message", message)])


def required(s: Session, a: ActionFrame, *checks: tuple[str, str]) -> list[str] | None:
    """The values of the headers ``checks`` name, in order; or, at the first one
    missing, its error answered and None (Asterisk checks them in that order)."""
    values = []
    for header, message in checks:
        value = a.get(header)
        if not value:
            error(s, a, message)
            return None
        values.append(value)
    return values


def channel_arg(s: Session, a: ActionFrame) -> Any:
    """The existing channel the ``Channel`` header names, or the error answered
    (``No channel specified`` / ``No such channel``, as 08 shows) and None."""
    got = required(s, a, ("Channel", "No channel specified"))
    if got is None:
        return None
    ch = s.world.find(got[0])
    if ch is None:
        error(s, a, "No such channel")
    return ch


def transferer(s: Session, a: ActionFrame) -> tuple[Any, str, str] | None:
    """BlindTransfer's and Atxfer's shared checks: the channel, its Exten and
    Context (default: the channel's own), or the error answered and None."""
    got = required(s, a, ("Channel", "No channel specified"), ("Exten", "No extension specified"))
    if got is None:
        return None
    name, exten = got
    ch = s.world.find(name)
    if ch is None:
        error(s, a, "Channel specified does not exist")
        return None
    return ch, exten, a.get("Context") or ch.context


def variable_target(s: Session, a: ActionFrame) -> tuple[str, Any] | None:
    """Getvar's and Setvar's shared checks: the variable and its channel (None
    for a global), or the error answered and None."""
    var, name = a.get("Variable"), a.get("Channel")
    if not var:
        error(s, a, "No variable specified")
        return None
    ch = s.world.find(name) if name else None
    if name and ch is None:
        error(s, a, "No such channel")
        return None
    return var, ch


def list_start(s: Session, a: ActionFrame, message: str) -> None:
    s.send([("Response", "Success"), *aid(a), ("EventList", "start"), ("Message", message)])


def list_complete(s: Session, a: ActionFrame, event: str, n: int, *extra: tuple[str, str]) -> None:
    s.send([("Event", event), *aid(a), ("EventList", "Complete"), ("ListItems", str(n)), *extra])
