"""The built-in dialplan (README "The test bench") and the applications it runs.

Each priority emits ``Newexten`` with the substituted AppData, then runs its
application. Data are Python functions of the channel instead of ``${...}``
expressions; what they return is what Asterisk prints after substitution
(02: ``ExecIf`` data ``1?SendDTMF(2,250)``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .apps import APPS, STOP, app_noop
from .channels import Channel

if TYPE_CHECKING:
    from .world import World

Data = Callable[[Channel], str] | str


@dataclass(frozen=True)
class Step:
    app: str
    data: Data = ""
    label: str = ""


def _v(name: str, default: str = "") -> Callable[[Channel], str]:
    return lambda ch: ch.variables.get(name, default)


def _flag(cond: Callable[[Channel], bool]) -> Callable[[Channel], str]:
    return lambda ch: "1" if cond(ch) else "0"


def _caller_sim_noop(ch: Channel) -> str:
    v = ch.variables
    return (
        f"caller-sim: DIGITS={v.get('DIGITS', '')} DELAY={v.get('DELAY', '')} "
        f"DIGITS2={v.get('DIGITS2', '')} DELAY2={v.get('DELAY2', '')} HOLD={v.get('HOLD', '')}"
    )


def _hold(ch: Channel) -> str:
    return ch.variables.get("HOLD") or "60"


def _safe_retry(ch: Channel) -> str:
    again = (
        ch.variables.get("AGISTATUS") != "HANGUP" and int(ch.variables.get("SAFE_TRIES", "0")) < 3
    )
    return ("1" if again else "0") + "?again"


def _entry(context: str) -> list[Step]:
    return [Step("Goto", f"{context},s,1")]


DIALPLAN: dict[str, dict[str, list[Step]]] = {
    "hotline": {
        "s": [
            Step("NoOp", lambda ch: f"hotline: call from {ch.callerid_all()}"),
            Step("Answer"),
            Step("AGI", "agi:async"),
            Step("Hangup"),
        ],
        "_X.": _entry("hotline"),
    },
    # 13: a controller error never drops the caller: AGI again after it ends.
    "hotline-safe": {
        "s": [
            Step("NoOp", lambda ch: f"hotline-safe: call from {ch.callerid_all()}"),
            Step("Answer"),
            Step("Set", "SAFE_TRIES=0"),
            Step("AGI", "agi:async", label="agi"),
            Step("NoOp", lambda ch: f"AGISTATUS={ch.variables.get('AGISTATUS', '')}"),
            Step("GotoIf", _safe_retry),
            Step("Hangup"),
            Step(
                "Set",
                lambda ch: f"SAFE_TRIES={int(ch.variables.get('SAFE_TRIES', '0')) + 1}",
                "again",
            ),
            Step("Goto", "agi"),
        ],
        "_X.": _entry("hotline-safe"),
    },
    "after-call": {
        "s": [
            Step("NoOp", lambda ch: f"after-call: {ch.name}"),
            Step("AGI", "agi:async"),
            Step("Hangup"),
        ],
    },
    # unrecorded: no transcript redirects a bridged agent leg; deploy/asterisk's context
    # where an agent waits while its caller visits the IVR (ExtraChannel of a Redirect).
    "hotline-agent-wait": {
        "s": [
            Step("NoOp", lambda ch: f"agent waits: {ch.name}"),
            Step("MusicOnHold", "default"),
            Step("Hangup"),
        ],
    },
    "agent-phones": {
        "_X.": [
            Step("NoOp", lambda ch: f"agent phone {ch.exten} rings"),
            Step("Answer"),
            Step("Wait", "3600"),
            Step("Hangup"),
        ],
    },
    # unrecorded: deploy/asterisk's context where Hotline's Atxfer rings a consulted PJSIP
    # agent (attended transfer). There it is Dial(PJSIP/${EXTEN},30) from the Local pair
    # Asterisk makes for the transfer; here the pair's ;2 is that agent's phone itself
    # (keyed by the endpoint: its scenario plan rings, answers or not), as in 07 C's
    # agent-phones, and no Local optimisation follows.
    "hotline-consult": {
        "_X.": [
            Step("NoOp", lambda ch: f"consulted agent {ch.exten} rings"),
            Step("Answer"),
            Step("Wait", "3600"),
            Step("Hangup"),
        ],
    },
    "agent-noanswer": {"_X.": [Step("Ringing"), Step("Wait", "120")]},
    "agent-busy": {"_X.": [Step("Busy", "5")]},
    "caller-sim": {
        "s": [
            Step("NoOp", _caller_sim_noop),
            Step("Answer"),
            Step("Wait", lambda ch: ch.variables.get("DELAY") or "2"),
            Step(
                "ExecIf",
                lambda ch: (
                    f"{_flag(lambda c: bool(c.variables.get('DIGITS')))(ch)}?SendDTMF({_v('DIGITS')(ch)},250)"
                ),
            ),
            Step(
                "ExecIf",
                lambda ch: (
                    f"{_flag(lambda c: bool(c.variables.get('DELAY2')))(ch)}?Wait({_v('DELAY2')(ch)})"
                ),
            ),
            Step(
                "ExecIf",
                lambda ch: (
                    f"{_flag(lambda c: bool(c.variables.get('DIGITS2')))(ch)}?SendDTMF({_v('DIGITS2')(ch)},250)"
                ),
            ),
            Step(
                "ExecIf",
                lambda ch: (
                    f"{_flag(lambda c: c.variables.get('MOH') == '1')(ch)}?MusicOnHold(default,{_hold(ch)}):Wait({_hold(ch)})"
                ),
            ),
            Step("Hangup"),
        ],
    },
    # 19: the supervisor's own phone, the ;2 half of Local/9000@supervisor-phone.
    "supervisor-phone": {
        "9000": [
            Step("NoOp", lambda ch: f"supervisor phone {ch.exten}"),
            Step("Answer"),
            Step("Wait", "3600"),
            Step("Hangup"),
        ],
    },
    # unrecorded: Hotline's ring-all context (its deploy/asterisk/extensions.conf); no
    # transcript ran it. Its pieces are recorded elsewhere: Originate into a context (02,
    # 06: Local callers; a PJSIP leg originated into a context is not), Wait (03 A's agent
    # leg, as an Originate application), Redirect (07, 12, 15: out of AsyncAGI; out of
    # Wait it is not), Bridge() with F (03 B, 21: as an Originate application; from the
    # dialplan it is not). An answered leg waits in `s` until the controller redirects the
    # first one to `bridge`; the rest are hung up.
    "agent-ring-all": {
        "s": [
            Step("NoOp", lambda ch: f"ring-all leg for {ch.variables.get('HOTLINE_CALLER', '')}"),
            Step("Wait", "20"),
            Step("Hangup"),
        ],
        "bridge": [
            Step("Bridge", lambda ch: (f"{ch.variables.get('HOTLINE_CALLER', '')},F("
                                       f"{ch.variables.get('HOTLINE_AFTER', 'after-call')}^s^1)")),
            Step("Hangup"),
        ],
    },
    # unrecorded: Hotline's queued-callback contexts (deploy/asterisk/extensions.conf); no
    # transcript ran them. Their pieces are recorded: a Local channel originated into an
    # AsyncAGI context (02, 12), the [hotline-safe]-style loop-back (13), a leg originated
    # with Application=Bridge onto a channel parked in AsyncAGI (03 B, 16). The agent leg
    # runs `hotline-callback`; the customer is `Local/<number>@hotline-callback-out`, a
    # phone of the scenario's agents table (key: the number), which rings, answers or
    # not by its plan as an agent phone does (deploy: Dial() through the trunk).
    "hotline-callback": {
        "s": [
            Step("NoOp", lambda ch: f"callback agent leg: {ch.name}"),
            Step("Set", "SAFE_TRIES=0"),
            Step("AGI", "agi:async", label="agi"),
            Step("GotoIf", _safe_retry),
            Step("Hangup"),
            Step(
                "Set",
                lambda ch: f"SAFE_TRIES={int(ch.variables.get('SAFE_TRIES', '0')) + 1}",
                "again",
            ),
            Step("Goto", "agi"),
        ],
    },
    "hotline-callback-out": {
        "_X.": [
            Step("NoOp", lambda ch: f"callback customer {ch.exten} rings"),
            Step("Answer"),
            Step("Wait", "3600"),
            Step("Hangup"),
        ],
    },
    # 16-22: calls placed by the PJSIP agent phones themselves (unused on the bench).
    "agents-out": {"_X.": [Step("Hangup", "21")]},
    "transfer-target": {
        "_X.": [
            Step("NoOp", lambda ch: f"transfer-target {ch.exten}"),
            Step("Answer"),
            Step("Playback", "demo-thanks"),
            Step("Wait", "30"),
        ],
    },
}


def find_extension(context: str, exten: str) -> tuple[str, list[Step]] | None:
    """The extension ``exten`` matches in ``context``: exact first, then ``_X.``."""
    ctx = DIALPLAN.get(context)
    if ctx is None:
        return None
    if exten in ctx:
        return exten, ctx[exten]
    for pattern, steps in ctx.items():
        if pattern.startswith("_") and _pattern(pattern).fullmatch(exten):
            return pattern, steps
    return None


def _pattern(pattern: str) -> re.Pattern[str]:
    out = []
    for c in pattern[1:]:
        out.append(
            {"X": "[0-9]", "Z": "[1-9]", "N": "[2-9]", ".": ".+", "!": ".*"}.get(c, re.escape(c))
        )
    return re.compile("".join(out))


def extension_exists(context: str, exten: str, priority: int = 1) -> bool:
    found = find_extension(context, exten)
    return found is not None and 1 <= priority <= len(found[1])


async def run_dialplan(world: World, ch: Channel, context: str, exten: str, priority: int) -> None:
    """The channel's PBX thread: run priorities until hangup or the dialplan ends."""
    ch.mode = "dialplan"
    try:
        while not ch.hanging:
            ch.context, ch.exten, ch.priority = context, exten, priority
            found = find_extension(context, exten)
            if found is None or not 1 <= priority <= len(found[1]):
                world.hangup(ch, how="app", cause=16)  # ran off the end of the dialplan
                return
            step = found[1][priority - 1]
            data = step.data(ch) if callable(step.data) else step.data
            world.newexten(ch, step.app, data)
            result = await APPS.get(step.app, app_noop)(world, ch, data)
            if ch.hanging or result == STOP:
                return
            if isinstance(result, str):
                context, exten, priority = _resolve(result, context, exten)
            else:
                priority += 1
    except asyncio.CancelledError:
        pass


def _resolve(target: str, context: str, exten: str) -> tuple[str, str, int]:
    """``ctx,exten,prio`` / ``exten,prio`` / ``prio`` / ``label`` -> a position."""
    parts = target.split(",")
    if len(parts) == 3:
        context, exten, prio = parts
    elif len(parts) == 2:
        exten, prio = parts
    else:
        prio = parts[0]
    if prio.isdigit():
        return context, exten, int(prio)
    found = find_extension(context, exten)
    steps = found[1] if found else []
    for i, step in enumerate(steps):
        if step.label == prio:
            return context, exten, i + 1
    return context, exten, len(steps) + 1
