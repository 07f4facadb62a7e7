"""pbxsim's clock held at an instant (``World.hold_at``): what the transcript replay
relies on to take each action at the transcript's instant on a loaded machine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pbxsim.world import World


async def test_a_held_clock_stands_still_and_holds_back_later_sleeps(tmp_path: Path) -> None:
    world = World(time_scale=100.0, spool_dir=tmp_path)
    world.start_clock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await world.sleep(seconds)
        woke.append(name)

    world.hold_at(1.0)
    tasks = [asyncio.create_task(sleeper("due", 0.5)), asyncio.create_task(sleeper("late", 3.0))]
    async with asyncio.timeout(30):
        while not world.stopped():
            await asyncio.sleep(0.005)
    assert world.now() == 1.0
    assert woke == ["due"], "what ends by the hold has run once the clock stands still"
    await asyncio.sleep(0.1)  # 10 simulated seconds of the wall clock: nothing moves
    assert world.now() == 1.0 and woke == ["due"]

    world.hold_at(None)  # runs on from 1.0, not from where the wall clock is
    assert world.now() < 1.5
    async with asyncio.timeout(30):
        await asyncio.gather(*tasks)
    assert woke == ["due", "late"]
    assert world.now() >= 3.0


async def test_a_hold_that_moves_lets_the_clock_run_to_the_next_one(tmp_path: Path) -> None:
    world = World(time_scale=100.0, spool_dir=tmp_path)
    world.start_clock()
    world.hold_at(0.5)
    async with asyncio.timeout(30):
        while not world.stopped():
            await asyncio.sleep(0.005)
    world.hold_at(2.0)
    assert not world.stopped()
    async with asyncio.timeout(30):
        await world.sleep(1.0)  # ends at 1.5, before the next hold
        while not world.stopped():
            await asyncio.sleep(0.005)
    assert world.now() == 2.0
    world.hold_at(None)
