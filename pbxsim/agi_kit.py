"""What the AGI commands and the AsyncAGI session share: replies, the running command,
digit reading and prompt playing.

Its own module so that :mod:`.agi` (the session) imports :mod:`.agi_commands` (the
command table) and neither imports the other back.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .channels import Channel, State

if TYPE_CHECKING:
    from .world import World

#: (AGI reply line, AGIExecEnd ResultCode, AGIExecEnd Result)
Reply = tuple[str, int, str]
# 22: WAIT FOR DIGIT cut by a hang-up.
# unrecorded: the same answer for any other command a hang-up cuts (EXEC MusicOnHold…).
HUNGUP: Reply = ("200 result=-1", -1, "Failure")
ALL_DIGITS = "0123456789*#"
SAMPLES = 8000


def ok(text: str) -> Reply:
    return (f"200 {text}", 200, "Success")


USAGE: Reply = ("520 Invalid command syntax.  Proper usage not available.", 520, "Usage")
UNKNOWN_CMD: Reply = ("510 Invalid or unknown command", 510, "Invalid or unknown command")


@dataclass
class Running:
    command: str
    command_id: str
    exec_id: int
    #: what the command answers if the channel hangs up or leaves AGI now
    interrupted: Callable[[], Reply] = field(default=lambda: HUNGUP)


Handler = Callable[["World", Channel, Running, list[str]], Awaitable[Reply]]


class DigitReader:
    """Digits the caller presses while a command listens (``dtmf_sink``).

    Digits wait in a deque and a waiter future is woken: unlike
    ``wait_for(queue.get())`` on Python 3.11, no digit is lost when it lands as
    the timeout fires.
    """

    def __init__(self, world: World, ch: Channel, accept: str, *, prompted: bool = True) -> None:
        self.world = world
        self.ch = ch
        self.accept = accept
        #: a prompt asks for the digits (False: ``WAIT FOR DIGIT``'s silence or hold music)
        self.prompted = prompted
        self.digits: deque[str] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.open = True
        ch.dtmf_sink = self
        if ch.sim_caller is not None and accept:
            ch.sim_caller.prompt_started(world, ch, self)

    def __call__(self, digit: str) -> None:
        self.digits.append(digit)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self, timeout: float | None) -> str | None:
        """The next digit within ``timeout`` simulated seconds (None: forever)."""
        if not self.digits and (timeout is None or timeout > 0):
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait(
                    {self._waiter},
                    timeout=None if timeout is None else timeout / self.world.time_scale,
                )
            finally:
                self._waiter.cancel()
                self._waiter = None
        return self.digits.popleft() if self.digits else None

    def close(self) -> None:
        self.open = False
        if self.ch.dtmf_sink is self:
            self.ch.dtmf_sink = None


async def play(
    world: World,
    ch: Channel,
    r: Running,
    seconds: float,
    escape: str,
    stream: bool = True,
    reader: DigitReader | None = None,
) -> tuple[str | None, int]:
    """Play ``seconds`` of audio, stopped by a digit in ``escape``: (digit, endpos).

    With ``reader`` given (GET DATA), digits keep arriving in it after the prompt.
    """
    own = reader is None
    world.sends_audio(ch)
    listening = DigitReader(world, ch, escape) if reader is None else reader
    start = world.now()

    def endpos() -> int:
        return int(min(seconds, world.now() - start) * SAMPLES)

    if stream:
        r.interrupted = lambda: (f"200 result=-1 endpos={endpos()}", -1, "Failure")
    try:
        while True:
            remaining = seconds - (world.now() - start)
            if remaining <= 0:
                return None, round(seconds * SAMPLES)
            digit = await listening.get(remaining)
            if digit is None:
                return None, round(seconds * SAMPLES)
            if digit in escape:
                return digit, endpos()
    finally:
        if own:
            listening.close()


def answer_if_needed(world: World, ch: Channel) -> None:
    if ch.state != State.UP:
        world.answer(ch)
