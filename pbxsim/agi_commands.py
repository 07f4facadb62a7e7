"""The AGI commands pbxsim answers, with the replies res_agi gives (02, 11, 13).

``STREAM FILE`` interrupted by an escape digit: ``200 result=<ascii> endpos=<n>``
and ``PLAYBACKSTATUS=FAILED`` (02); played out: ``result=0 endpos=<samples>``
and ``PLAYBACKSTATUS=SUCCESS`` (03); missing file: ``result=-1 endpos=0`` with
ResultCode -1, which ends AsyncAGI (13). ``GET DATA``: ``result=<digits>``, or
``result=<digits> (timeout)``. ``EXEC Playback`` of a missing file: ``result=0``
and ``PLAYBACKSTATUS=FAILED``, AGI goes on (13). Unknown application: ``-2``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .agi_kit import (
    ALL_DIGITS,
    HUNGUP,
    SAMPLES,
    USAGE,
    DigitReader,
    Handler,
    Reply,
    Running,
    ok,
    play,
)
from .apps import APPS
from .apps import exec_app as run
from .audio import prompt_audio, write_silence
from .channels import Channel, State
from .variables import getvar, substitute
from .wire import parse_callerid

if TYPE_CHECKING:
    from .world import World

SAY_DIGIT = 0.55


async def answer(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if ch.state != State.UP:
        world.answer(ch)
    return ok("result=0")


async def noop(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    return ok("result=0")


async def verbose(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    return ok("result=1")


async def hangup(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) > 1:
        other = world.find(argv[1])
        if other is None:
            return ok("result=-1")
        world.hangup(other, how="action")
        return ok("result=1")
    # 02: the explicit soft hangup (AST_SOFTHANGUP_EXPLICIT = 0x20) shows as Cause 32.
    world.chan_event("SoftHangupRequest", ch, ("Cause", "32"))
    return ok("result=1")


def prompt_stops_music(world: World, ch: Channel) -> None:
    """Opening a sound file stops the channel's generator, so a prompt played while
    ``SET MUSIC ON`` is on ends the music (MusicOnHoldStop at the command's start),
    and the music does not come back by itself (22)."""
    world.moh(ch, False)


async def stream_file(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    control = argv[0].upper() == "CONTROL"
    if len(argv) < 4 and not control:
        return USAGE
    name = argv[3] if control else argv[2]
    escape = (argv[4] if len(argv) > 4 else "") if control else argv[3]
    # unrecorded: a missing file stops the music too (ast_openstream deactivates the
    # generator before it looks for the file).
    prompt_stops_music(world, ch)
    seconds = world.prompts.duration(name)
    if seconds is None:
        return ("200 result=-1 endpos=0", -1, "Failure")
    with prompt_audio(ch, name):  # a SIP caller hears it (pbxsim.sip)
        digit, endpos = await play(world, ch, r, seconds, escape)
    if control:
        # 17: CONTROL STREAM FILE counts endpos in milliseconds and sets CPLAYBACK*.
        ms = endpos * 1000 // SAMPLES
        if digit:
            world.set_var(ch, "CPLAYBACKSTATUS", "USERSTOPPED")
            world.set_var(ch, "CPLAYBACKSTOPKEY", digit)
        else:
            world.set_var(ch, "CPLAYBACKSTATUS", "SUCCESS")  # unrecorded: played to its end
        world.set_var(ch, "CPLAYBACKOFFSET", str(ms))
        return ok(f"result={ord(digit) if digit else 0} endpos={ms}")
    world.set_var(ch, "PLAYBACKSTATUS", "FAILED" if digit else "SUCCESS")
    return ok(f"result={ord(digit) if digit else 0} endpos={endpos}")


async def record_file(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    """``RECORD FILE <file> <format> <escape> <timeout ms> [offset] [BEEP] [s=<secs>]``:
    17 (``… wav "#" 2000 0 BEEP``): the beep, then ``result=0 (timeout) endpos=16000``
    and a 2.0 s WAV. The file holds silence here: the simulated caller says nothing."""
    if len(argv) < 6:
        return USAGE
    try:
        timeout_ms = int(argv[5])
    except ValueError:
        return USAGE
    escape = argv[4]
    silence_s = _silence(argv[6:9])
    if any(a.upper() == "BEEP" for a in argv[6:]):
        beep = world.prompts.duration("beep") or 0.0
        prompt_stops_music(world, ch)  # unrecorded: the beep is a prompt like any other
        await world.sleep(beep)
    reader = DigitReader(world, ch, escape)
    start = world.now()

    def samples() -> int:
        return round((world.now() - start) * SAMPLES)

    gone: list[int] = []

    def hung_up() -> tuple[str, int, str]:
        # unrecorded: no transcript hangs up during RECORD FILE. res_agi's handle_recordfile
        # answers -1 (hangup) with the samples so far and closes the stream: the file stays.
        n = samples()
        gone.append(n)
        write_silence(world, argv[2], argv[3], n)
        return (f"200 result=-1 (hangup) endpos={n}", 200, "Success")

    r.interrupted = hung_up
    try:
        limit = None if timeout_ms < 0 else timeout_ms / 1000
        if silence_s is not None and (limit is None or silence_s < limit):
            limit = silence_s  # the caller is silent: the silence ends it first
        digit = None
        while True:
            left = None if limit is None else limit - (world.now() - start)
            if left is not None and left <= 0:
                break
            digit = await reader.get(left)
            if digit is None or digit in escape:
                break
    finally:
        reader.close()
    if (
        digit is None
        and silence_s is not None
        and (timeout_ms < 0 or silence_s * 1000 < timeout_ms)
    ):
        # unrecorded: s=<secs> (no transcript used it). pbxsim's caller says nothing, so the
        # silence detector fires after silence_s; res_agi then rewinds the stream by
        # silence - 1000 ms and truncates it (ast_stream_rewind): one second is left.
        endpos = round(min(1.0, silence_s) * SAMPLES)
    elif digit is None:
        endpos = round(timeout_ms / 1000 * SAMPLES)
    else:
        endpos = samples()
    write_silence(world, argv[2], argv[3], endpos)
    if digit is None:
        return ok(f"result=0 (timeout) endpos={endpos}")
    return ok(f"result={ord(digit)} (dtmf) endpos={endpos}")  # unrecorded: cut by a digit


def _silence(extra: list[str]) -> float | None:
    """RECORD FILE's ``s=<seconds>`` among the arguments after the timeout (res_agi looks
    at the next three); None when absent or not positive."""
    for arg in extra:
        if arg.startswith("s="):
            try:
                secs = int(arg[2:])
            except ValueError:
                return None
            return float(secs) if secs > 0 else None
    return None


async def get_data(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 3:
        return USAGE
    r.interrupted = lambda: ("200 result=-1", 200, "Success")
    timeout_ms = int(argv[3]) if len(argv) > 3 and argv[3].lstrip("-").isdigit() else 0
    maxdigits = int(argv[4]) if len(argv) > 4 and argv[4].isdigit() else 1024
    first, between = (10.0, 5.0) if timeout_ms == 0 else (timeout_ms / 1000,) * 2
    if timeout_ms < 0:
        first = between = 1e9
    prompt_stops_music(world, ch)  # unrecorded for GET DATA; 22 shows it for STREAM FILE
    seconds = world.prompts.duration(argv[2])
    if seconds is None:
        return ok("result=-1")  # 17: at once, ResultCode 200, AsyncAGI goes on
    digits = ""
    reader = DigitReader(world, ch, ALL_DIGITS)  # one reader: nothing lost between prompt and input
    try:
        with prompt_audio(ch, argv[2]):
            digit, _ = await play(world, ch, r, seconds, ALL_DIGITS, stream=False, reader=reader)
        if digit == "#":
            return ok("result=")
        if digit:
            digits += digit
        while len(digits) < maxdigits:
            digit = await reader.get(first if not digits else between)
            if digit is None:
                return ok(f"result={digits} (timeout)")
            if digit == "#":
                break
            digits += digit
    finally:
        reader.close()
    return ok(f"result={digits}")


async def wait_for_digit(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 4:
        return USAGE
    try:
        timeout_ms = int(argv[3])
    except ValueError:
        return USAGE
    reader = DigitReader(world, ch, ALL_DIGITS, prompted=False)
    try:
        digit = await reader.get(None if timeout_ms < 0 else timeout_ms / 1000)
    finally:
        reader.close()
    return ok(f"result={ord(digit) if digit else 0}")


async def say(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 4:
        return USAGE
    what = argv[2]
    if argv[1].upper() == "NUMBER":
        if not what.lstrip("-").isdigit():
            return USAGE
        # A number below 10 is its digit's file (17: SAY NUMBER 3 plays digits/3); longer
        # ones are approximated by one more unit than they have digits.
        seconds = (
            _say_seconds(world, what.lstrip("-"))
            if len(what.lstrip("-")) == 1
            else (len(what) + 1) * SAY_DIGIT
        )
    else:
        seconds = _say_seconds(world, what)
    prompt_stops_music(world, ch)  # unrecorded: SAY with the music on (22 had it off)
    digit, _ = await play(world, ch, r, seconds, argv[3], stream=False)
    return ok(f"result={ord(digit) if digit else 0}")


def _say_seconds(world: World, digits: str) -> float:
    """SAY DIGITS plays ``digits/<d>`` per character (17: ``42`` took 1.545 s)."""
    return sum(world.prompts.duration(f"digits/{d}") or SAY_DIGIT for d in digits)


async def set_variable(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 4:
        return USAGE
    world.set_var(ch, argv[2], argv[3])
    return ok("result=1")


async def get_variable(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 3:
        return USAGE
    value = getvar(world, ch, argv[2])
    return ok("result=0") if value is None else ok(f"result=1 ({value})")


async def get_full_variable(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 4:
        return USAGE
    target = world.find(argv[4]) if len(argv) > 4 else ch
    if target is None:
        return ok("result=0")
    return ok(f"result=1 ({substitute(world, target, argv[3])})")


async def set_music(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 3:
        return USAGE
    on = argv[2].lower() == "on"
    world.moh(ch, on, argv[3] if len(argv) > 3 else "default")
    return ok("result=0")


async def set_callerid(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 3:
        return USAGE
    num, name = parse_callerid(argv[2])
    world.set_callerid(ch, num, name)
    return ok("result=1")


async def set_position(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 3:
        return USAGE
    field = argv[1].upper()
    if field == "CONTEXT":
        ch.context = argv[2]
    elif field == "EXTENSION":
        ch.exten = argv[2]
    elif argv[2].isdigit():
        ch.priority = int(argv[2])
    return ok("result=0")


async def channel_status(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    target = world.find(argv[2]) if len(argv) > 2 else ch
    return ok(f"result={int(target.state) if target else -1}")


#: Applications EXEC may run (pbx_findapp is case-insensitive).
EXEC_APPS = {"playback", "musiconhold", "wait", "noop", "set", "answer", "ringing", "senddtmf"}


async def exec_app(world: World, ch: Channel, r: Running, argv: list[str]) -> Reply:
    if len(argv) < 2:
        return USAGE
    name = {k.lower(): k for k in APPS}.get(argv[1].lower())
    if name is None or argv[1].lower() not in EXEC_APPS:
        return ok("result=-2")
    r.interrupted = lambda: HUNGUP
    data = argv[2] if len(argv) > 2 else ""
    result = await run(world, ch, name, data)
    return ok(f"result={result if isinstance(result, int) else 0}")


COMMANDS: dict[tuple[str, ...], Handler] = {
    ("ANSWER",): answer,
    ("NOOP",): noop,
    ("VERBOSE",): verbose,
    ("HANGUP",): hangup,
    ("STREAM", "FILE"): stream_file,
    ("RECORD", "FILE"): record_file,
    ("CONTROL", "STREAM", "FILE"): stream_file,
    ("GET", "DATA"): get_data,
    ("WAIT", "FOR", "DIGIT"): wait_for_digit,
    ("SAY", "DIGITS"): say,
    ("SAY", "NUMBER"): say,
    ("SET", "VARIABLE"): set_variable,
    ("GET", "VARIABLE"): get_variable,
    ("GET", "FULL", "VARIABLE"): get_full_variable,
    ("SET", "MUSIC"): set_music,
    ("SET", "CALLERID"): set_callerid,
    ("SET", "CONTEXT"): set_position,
    ("SET", "EXTENSION"): set_position,
    ("SET", "PRIORITY"): set_position,
    ("CHANNEL", "STATUS"): channel_status,
    ("EXEC",): exec_app,
}
