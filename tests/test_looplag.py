"""The loop-lag monitor sees a loop blocked on purpose."""

from __future__ import annotations

import asyncio
import time

from callcenter.looplag import LoopLagMonitor


async def test_a_blocking_call_shows_up_as_lag():
    mon = LoopLagMonitor(interval=0.01)
    mon.start()
    await asyncio.sleep(0.05)
    time.sleep(0.15)  # block the loop on purpose
    await asyncio.sleep(0.05)
    await mon.stop()
    assert mon.max >= 0.1
    assert mon.percentile(0.5) < mon.max
    assert len(mon.samples) >= 3


def test_empty_monitor_reports_zero():
    mon = LoopLagMonitor()
    assert mon.percentile(0.99) == 0.0 and mon.max == 0.0
