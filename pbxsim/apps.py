"""Dialplan applications: what each priority (or an Originate ``Application``) runs.

An application returns ``None`` or a number (go on to the next priority), a
``ctx,exten,prio`` / label string (Goto), or :data:`STOP` (the channel is gone).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .audio import prompt_audio
from .bridging import create_bridge, enter, parse_goto, pull
from .channels import Channel, State
from .population import agent_rings

if TYPE_CHECKING:
    from .world import World

STOP = "stop"
App = Callable[["World", Channel, str], Awaitable[Any]]


async def app_noop(world: World, ch: Channel, data: str) -> None:
    return None


async def app_answer(world: World, ch: Channel, data: str) -> None:
    if ch.role == "phone" and ch.peer is not None and ch.peer.role == "agent":
        if not await agent_rings(world, ch):
            return None
    ringing = ch.state in (State.RING, State.RINGING)
    world.answer(ch)
    if ringing and ch.half == 2:
        # __ast_answer waits for media up to 500 ms: the caller-sim half's Answer() ends when
        # the PBX side first sends audio (15: SET MUSIC ON, 0.12 s; 17: SAY NUMBER, 0.3 s)
        # or after 0.5 s (16, 20, 22).
        await world.wait_media(ch, 0.5)


async def app_agi(world: World, ch: Channel, data: str) -> None:
    await world.agi(ch)


async def app_hangup(world: World, ch: Channel, data: str) -> str:
    cause = int(data) if data.isdigit() else 16
    world.hangup(ch, how="app", cause=cause)
    return STOP


async def app_set(world: World, ch: Channel, data: str) -> None:
    name, _, value = data.partition("=")
    world.set_var(ch, name.strip(), value)


async def app_goto(world: World, ch: Channel, data: str) -> str:
    return data


async def app_gotoif(world: World, ch: Channel, data: str) -> str | None:
    cond, _, targets = data.partition("?")
    yes, _, no = targets.partition(":")
    target = yes if cond.strip() not in ("", "0") else no
    return target or None


async def app_wait(world: World, ch: Channel, data: str) -> None:
    try:
        await world.sleep(float(data or 0))
    except ValueError:
        pass


async def app_ringing(world: World, ch: Channel, data: str) -> None:
    world.ringing(ch)


async def app_busy(world: World, ch: Channel, data: str) -> str:
    world.busy(ch)
    await world.sleep(float(data or 0) or 3600)
    return STOP


async def app_playback(world: World, ch: Channel, data: str) -> int:
    world.moh(ch, False)  # unrecorded: Playback under SET MUSIC ON (22 shows STREAM FILE)
    world.sends_audio(ch)
    ok = True
    for name in data.split(",")[0].split("&"):
        seconds = world.prompts.duration(name)
        if seconds is None:
            ok = False
            continue
        with prompt_audio(ch, name):  # a SIP caller hears it (pbxsim.sip)
            await world.sleep(seconds)
    world.set_var(ch, "PLAYBACKSTATUS", "SUCCESS" if ok else "FAILED")
    return 0


async def app_musiconhold(world: World, ch: Channel, data: str) -> int:
    klass, _, duration = data.partition(",")
    world.moh(ch, True, klass or "default")
    with prompt_audio(ch, klass or "default", moh=True):  # a SIP caller hears music
        try:
            await world.sleep(float(duration) if duration.strip() else 1e9)
        except ValueError:
            await world.sleep(1e9)
    world.moh(ch, False)
    return 0


async def app_senddtmf(world: World, ch: Channel, data: str) -> None:
    digits, _, between = data.partition(",")
    gap = (int(between) if between.strip().isdigit() else 250) / 1000.0
    target = ch.peer if ch.half == 2 and ch.peer is not None else ch
    for digit in digits:
        world.dtmf(target, digit)
        await world.sleep(gap)


async def app_execif(world: World, ch: Channel, data: str) -> None:
    cond, _, apps = data.partition("?")
    yes, no = _split_apps(apps)
    chosen = yes if cond.strip() not in ("", "0") else no
    m = re.fullmatch(r"\s*(\w+)\((.*)\)\s*", chosen or "")
    if m:
        await exec_app(world, ch, m.group(1), m.group(2))


async def exec_app(world: World, ch: Channel, app: str, data: str) -> Any:
    """pbx_exec: run ``app`` as the channel's application, then give the old one back.

    The start publishes a snapshot and the return does not, so CoreShowChannels goes on
    listing ``app`` after it returned while Status shows the application again (15:
    ``EXEC MusicOnHold`` from AsyncAGI; 21: the caller-sim half in ``ExecIf``)."""
    saved = ch.app, ch.appdata
    ch.app, ch.appdata = app, data
    ch.publish()
    try:
        return await APPS.get(app, app_noop)(world, ch, data)
    finally:
        if ch.app == app and ch.appdata == data:
            ch.app, ch.appdata = saved


def _split_apps(text: str) -> tuple[str, str]:
    depth = 0
    for i, c in enumerate(text):
        depth += c == "("
        depth -= c == ")"
        if c == ":" and depth == 0:
            return text[:i], text[i + 1 :]
    return text, ""


async def app_bridge(world: World, ch: Channel, data: str) -> None:
    target_name, _, options = data.partition(",")
    target = world.find(target_name.strip())
    if target is None or target is ch or target.hanging:
        world.set_var(ch, "BRIDGERESULT", "NONEXISTENT")
        return None
    if world.bridge_swap_s > 0:
        # unrecorded: the window is in 21's Asterisk log (Surrogate/…), not on AMI; MixMonitor
        # in it answers as 08 answers a missing channel.
        # The swap of a real Asterisk (a ``Surrogate/…`` for ~1 ms, 21's log): MixMonitor
        # on the caller finds no channel from the agent's answer to the caller's BridgeEnter.
        target.swapping = True
        try:
            await world.sleep(world.bridge_swap_s)
        finally:
            target.swapping = False
        if target.hanging or ch.hanging:
            # unrecorded: a party hung up during the swap window.
            world.set_var(ch, "BRIDGERESULT", "NONEXISTENT")
            return None
    after_target = pull(world, target)
    # 21: the caller now lives in a new channel structure: Status says Application and
    # Data (null), CoreShowChannels lists them empty, Duration and Seconds restart.
    target.app = target.appdata = None
    target.swapped_at = world.now()
    # unrecorded: Bridge() without F: the pulled-in party continues at its next priority.
    m = re.search(r"F(\(([^)]*)\))?", options)
    if m and m.group(2):
        after_target = parse_goto(m.group(2), target)
    elif m:
        after_target = (target.context, target.exten, target.priority)
    bridge = create_bridge(world)
    enter(world, bridge, target, after_target)
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    enter(world, bridge, ch, done)
    await done
    world.set_var(ch, "BRIDGERESULT", "SUCCESS")


async def app_chanspy(world: World, ch: Channel, data: str) -> str | None:
    """``ChanSpy(<prefix>,<options>)`` as 19 recorded it: ChanSpyStart 0.1 s after the
    answer, with Spyer* and Spyee* blocks; the spy never enters the bridge. It ends with
    ChanSpyStop when its own channel goes (the supervisor's phone or the ChanSpy half hung
    up), or with option ``E`` when the spied-on channel leaves its bridge or hangs up; the
    spy's halves then hang up with Cause 0. Listen/whisper/barge (q, w, B) change only
    the audio, which pbxsim does not mix."""
    prefix, _, options = data.partition(",")
    prefix = prefix.strip()
    # 19 spied by the endpoint (``PJSIP/2004``: its channels ``PJSIP/2004-…``).
    # unrecorded: a whole channel name (``PJSIP/2004-00000003``, what Hotline sends) spies
    # on that channel alone; Asterisk takes the argument as a name prefix, so it matches.
    await world.sleep(0.1)
    spyee = None
    while spyee is None:
        spyee = next(
            (c for c in world.channels.values()
             if c is not ch and not c.hanging
             and (c.name.startswith(prefix + "-") or c.name == prefix)),
            None,
        )  # fmt: skip
        if spyee is None:
            await world.sleep(1.0)  # unrecorded: nobody to spy on yet; ChanSpy scans again
    ch.spying = spyee
    world.emit("ChanSpyStart", ch.fields("Spyer") + spyee.fields("Spyee"))
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def spyee_left(bridge: Any, who: Channel, entered: bool) -> None:
        if who is spyee and not entered and not done.done():
            done.set_result(None)

    def spyee_gone(who: Channel) -> None:
        if who is spyee and not done.done():
            done.set_result(None)

    if "E" in options:
        world.bridge_hooks.append(spyee_left)
        world.hangup_hooks.append(spyee_gone)
    # unrecorded: without E, ChanSpy goes on after the spied-on channel went (it rescans).
    try:
        await done
    finally:
        for hooks, hook in ((world.bridge_hooks, spyee_left), (world.hangup_hooks, spyee_gone)):
            if hook in hooks:
                hooks.remove(hook)  # type: ignore[arg-type]
    await world.sleep(0.019)  # 19: ChanSpyStop 19 ms after the spied-on agent's BridgeLeave
    world.hangup(ch, how="app", cause=0)  # ChanSpyStop, then the spy's halves, Cause 0
    return STOP


APPS: dict[str, App] = {
    "NoOp": app_noop,
    "Answer": app_answer,
    "AGI": app_agi,
    "Hangup": app_hangup,
    "Set": app_set,
    "Goto": app_goto,
    "GotoIf": app_gotoif,
    "Wait": app_wait,
    "Ringing": app_ringing,
    "Busy": app_busy,
    "Playback": app_playback,
    "MusicOnHold": app_musiconhold,
    "SendDTMF": app_senddtmf,
    "ExecIf": app_execif,
    "Bridge": app_bridge,
    "ChanSpy": app_chanspy,
}


async def run_app(world: World, ch: Channel, app: str, data: str) -> None:
    """An Originate ``Application``: run it on the answered channel, then hang up."""
    ch.mode = "app"
    ch.app, ch.appdata = app, data
    ch.publish()  # 21: the agent leg lists Application Bridge, Data <caller>,F(...)
    try:
        await APPS.get(app, app_noop)(world, ch, data)
        if not ch.hanging:
            world.hangup(ch, how="app", cause=16)
    except asyncio.CancelledError:
        pass
